"""Arrow schemas of the corpus tables: documents, rejects, stage_stats and inputs.

These are the on-disk contracts every part of the platform shares: the engines write Parquet
with exactly these schemas, the snapshot module commits them as Iceberg tables, reports read
``stage_stats`` and training reads ``documents``. Spark's schemas are derived from these
(``dataflow.engines.spark.spark_schema``) and Beam writes them as they are: never written twice.

Changing a field is a versioned migration: bump ``CORPUS_SCHEMA_VERSION`` and write down what
changed in ``schemas/CHANGELOG.md`` (in this repository). The version is stored in every Parquet file's schema
metadata and in every Iceberg table's properties.
"""

from __future__ import annotations

import pyarrow as pa

CORPUS_SCHEMA_VERSION = "2"

# The outcome vocabulary written to disk (rejects.outcome, stage_stats.outcome), defined once.
KEPT, DROPPED, FAILED = "kept", "dropped", "failed"
OUTCOMES = (KEPT, DROPPED, FAILED)
# The counter columns of stage_stats, in order: documents, UTF-8 bytes and characters, in and out.
STAT_COUNTERS = ("docs_in", "docs_out", "bytes_in", "bytes_out", "chars_in", "chars_out")
# The inputs-manifest statuses (inputs.status), defined once. A file that was opened and read:
INPUT_READ, INPUT_PARTIAL, INPUT_FAILED = "read", "partial", "failed"
# A file not read because an earlier run already read the same content (sha256); `--full` reads it again:
INPUT_UNCHANGED = "unchanged"
# A path discovered but refused before anything was read from it (dataflow/readers/discover.py):
OUTSIDE_INPUTS = "outside_inputs"  # a link whose target lies outside the input roots
SYMLINK_LOOP = "symlink_loop"  # links in a loop, or a directory link back to its own ancestor
BROKEN_LINK = "broken_link"  # a link whose target does not exist
SYMLINK_NOT_FOLLOWED = "symlink_not_followed"  # any link, when read.follow_symlinks is 'never'
DUPLICATE_PATH = "duplicate_path"  # another path to a file or directory already discovered
HIDDEN = "hidden"  # a dot-name inside a walked directory (.DS_Store, .git, markers)
NOT_A_FILE = "not_a_file"  # a FIFO, socket or device: reading one could block forever
UNREADABLE = "unreadable"  # a path that cannot be listed or stat'ed (permissions, name too long)
REFUSED_STATUSES = (
    OUTSIDE_INPUTS,
    SYMLINK_LOOP,
    BROKEN_LINK,
    SYMLINK_NOT_FOLLOWED,
    DUPLICATE_PATH,
    HIDDEN,
    NOT_A_FILE,
    UNREADABLE,
)


def doc_field(name: str, type_: pa.DataType, doc: str, nullable: bool = False) -> pa.Field:
    """An Arrow field carrying its documentation (``doc`` in the field metadata; Spark comments come from it)."""
    return pa.field(name, type_, nullable=nullable, metadata={"doc": doc})


def _schema(fields: list[pa.Field], doc: str) -> pa.Schema:
    return pa.schema(fields, metadata={"doc": doc, "schema_version": CORPUS_SCHEMA_VERSION})


DOCUMENTS = _schema(
    [
        doc_field("id", pa.string(), "Stable document id: 16 hex chars of sha1(source_uri + '#' + record locator)."),
        doc_field("text", pa.string(), "Cleaned text: extracted, normalized, boilerplate removed, PII redacted."),
        doc_field(
            "source_kind", pa.string(), "What kind of source the text came from: web, paper, patent, report, text."
        ),
        doc_field("source_uri", pa.string(), "URI of the input file the record was read from."),
        doc_field("url", pa.string(), "Original address of the page or document, when the input names one.", True),
        doc_field("language", pa.string(), "ISO 639-1 code from language ID (ko, en, ...)."),
        doc_field("language_score", pa.float32(), "Language-ID probability of `language`, 0..1."),
        doc_field(
            "quality_signals",
            pa.map_(pa.string(), pa.float64()),
            "Numeric signals the quality filters computed (e.g. mean word length, stop-word count, "
            "duplicate-line fraction), keyed by signal name.",
        ),
        doc_field("quality_score", pa.float32(), "Model-based quality score 0..1 where a classifier ran.", True),
        doc_field(
            "pii_counts", pa.map_(pa.string(), pa.int32()), "Number of redactions per PII type (email, phone, ...)."
        ),
        doc_field(
            "dedup_cluster",
            pa.string(),
            "Id of the near-duplicate cluster the document represents (the kept member's id), "
            "null when it had no duplicate.",
            True,
        ),
        doc_field("n_bytes", pa.int64(), "UTF-8 length of `text` in bytes."),
        doc_field("n_chars", pa.int64(), "Length of `text` in Unicode code points."),
        doc_field("metadata", pa.string(), "Extractor metadata as a JSON object (title, date, page count, ...)."),
        doc_field("run_id", pa.string(), "Id of the pipeline run that committed the document."),
        doc_field(
            "n_tokens",
            pa.int64(),
            "Tokens of `text` in the tokenizer of a training mix (no special tokens); filled by `dataflow mix` "
            "(the mix summary names the tokenizer), null in corpus snapshots.",
            True,
        ),
        doc_field(
            "page_type",
            pa.string(),
            "Detected type of a web page: article, documentation, forum, product, collection, listing or "
            "service (dataflow/extractors/page_type.py); null for other sources and when detection is off.",
            True,
        ),
        doc_field(
            "quality_model",
            pa.string(),
            "Version of the quality model that set `quality_score` (its file name, quality-<sha256[:12]>); "
            "null where no model ran.",
            True,
        ),
    ],
    "Documents kept by a pipeline run: the table training reads.",
)

REJECTS = _schema(
    [
        doc_field("id", pa.string(), "Document id (same rule as documents.id)."),
        doc_field("run_id", pa.string(), "Id of the pipeline run."),
        doc_field("source_kind", pa.string(), "Source kind of the record (web, paper, ...)."),
        doc_field("source_uri", pa.string(), "URI of the input file."),
        doc_field("url", pa.string(), "Original address of the page, when known.", True),
        doc_field("stage", pa.string(), "Name of the stage that dropped the document or where it failed."),
        doc_field("outcome", pa.string(), "'dropped' (a rule said no) or 'failed' (an error was raised)."),
        doc_field("reason", pa.string(), "Stable snake_case reason, e.g. gopher_short_doc, too_large, failed."),
        doc_field("error", pa.string(), "Error type and message for failed documents.", True),
        doc_field("language", pa.string(), "Language at the time of rejection ('' before language ID)."),
        doc_field("excerpt", pa.string(), "First characters of the text (or of the raw input) for auditing."),
        doc_field("n_bytes", pa.int64(), "UTF-8 bytes of the text when it was rejected (raw bytes before extraction)."),
        doc_field("n_chars", pa.int64(), "Characters of the text when it was rejected (0 before extraction)."),
        doc_field("duplicate_of", pa.string(), "For dedup reasons: id of the kept document it duplicates.", True),
        doc_field(
            "duplicate_snapshot",
            pa.int64(),
            "For a duplicate of an already published document: id of the documents snapshot holding it.",
            True,
        ),
        doc_field(
            "quality_score",
            pa.float32(),
            "Model-based quality score 0..1 of a document scored before it was dropped (the quality model's "
            "own drops included), null otherwise.",
            True,
        ),
    ],
    "Every document a run dropped or failed on, with the stage and the reason.",
)

STAGE_STATS = _schema(
    [
        doc_field("run_id", pa.string(), "Id of the pipeline run."),
        doc_field("stage_index", pa.int32(), "Position of the stage in the pipeline, 0 = reading the inputs."),
        doc_field("stage", pa.string(), "Stage name (stable, snake_case)."),
        doc_field("source_kind", pa.string(), "Source kind of the documents in this row."),
        doc_field("language", pa.string(), "Language after the stage ran ('' before language ID)."),
        doc_field("outcome", pa.string(), "'kept', 'dropped' or 'failed'."),
        doc_field("reason", pa.string(), "Reject reason; '' for kept documents."),
        doc_field("docs_in", pa.int64(), "Documents entering the stage with this key."),
        doc_field("docs_out", pa.int64(), "Documents leaving the stage (equal to docs_in for kept rows, else 0)."),
        doc_field("bytes_in", pa.int64(), "UTF-8 bytes of their text before the stage (raw bytes for the reader)."),
        doc_field("bytes_out", pa.int64(), "UTF-8 bytes of their text after the stage (0 when dropped)."),
        doc_field("chars_in", pa.int64(), "Characters before the stage (0 for raw, not yet extracted input)."),
        doc_field("chars_out", pa.int64(), "Characters after the stage (0 when dropped)."),
    ],
    "Per-stage filtering statistics. One row per (stage, source kind, language, outcome, reason); "
    "summing docs_out of a stage gives docs_in of the next.",
)

INPUTS = _schema(
    [
        doc_field("run_id", pa.string(), "Id of the pipeline run."),
        doc_field("uri", pa.string(), "URI of the input file."),
        doc_field("size_bytes", pa.int64(), "File size in bytes."),
        doc_field("content_hash", pa.string(), "sha256 of the file's bytes, hex."),
        doc_field(
            "format", pa.string(), "Format detected from the content: html, warc, jsonl, parquet, text, pdf, ..."
        ),
        doc_field(
            "status",
            pa.string(),
            "'read' (all records), 'partial' (read until an error) or 'failed'; or, for a path refused "
            "before reading (records 0): 'outside_inputs', 'symlink_loop', 'broken_link', "
            "'symlink_not_followed', 'duplicate_path', 'hidden', 'not_a_file', 'unreadable'; "
            "'unchanged' for content an earlier run already read (records 0).",
        ),
        doc_field("error", pa.string(), "What went wrong for partial or failed inputs.", True),
        doc_field("records", pa.int64(), "Records (documents) read from the file."),
    ],
    "The inputs manifest: every file a run read, with its hash, so a snapshot names its exact inputs.",
)

DEDUP_INDEX = _schema(
    [
        doc_field("id", pa.string(), "Id of a kept (published) document (documents.id)."),
        doc_field("exact", pa.binary(), "Its 16-byte exact-dedup key (dataflow.dedup.exact.exact_hash)."),
        doc_field("bands", pa.list_(pa.int64()), "Its MinHash LSH band keys (empty for texts too short to shingle)."),
        doc_field("n_chars", pa.int64(), "Characters of its text (the keep rule prefers the most complete copy)."),
        doc_field("run_id", pa.string(), "Id of the run that published it; its documents snapshot holds the row."),
        doc_field(
            "signature",
            pa.binary(),
            "Its MinHash signature, uint32 little-endian x bands*rows (dataflow.dedup.verify.signature_bytes), "
            "to verify band links (dedup.verify); null for texts too short to shingle and in older snapshots.",
            True,
        ),
        doc_field(
            "layout",
            pa.string(),
            "What its band keys and signature depend on, unit/ngram/BANDSxROWS/seedN (DedupConfig.layout); a run "
            "with another layout refuses the index. Null without band keys and in older snapshots.",
            True,
        ),
    ],
    "The persistent dedup index: the keys of every published document, so a nightly run dedups against all of them.",
)

TABLES: dict[str, pa.Schema] = {
    "documents": DOCUMENTS,
    "rejects": REJECTS,
    "stage_stats": STAGE_STATS,
    "inputs": INPUTS,
    "dedup_index": DEDUP_INDEX,
}
