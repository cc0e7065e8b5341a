"""Arrow schemas of the instruction-data tables: examples, verdicts, sft, kto, reviews.

``dataflow instruct run`` reads open instruction datasets (Alpaca, ShareGPT, OpenAI messages,
prompt/response JSONL and Parquet), applies rules, dedup and an LLM judge, and commits these
tables in the Iceberg namespace ``instruct`` of the same catalog as the corpus:

* ``instruct.examples``: every example read, normalized to turns (what was judged);
* ``instruct.verdicts``: one row per example and run: kept, dropped (rule, dedup, score band) or
  failed (judge unreachable or unparseable), with the judge's scores: the audit table;
* ``instruct.sft``: the examples the judge scored at or above the SFT threshold;
* ``instruct.kto``: unpaired desirable / undesirable examples from the score thresholds;
* ``instruct.reviews``: human decisions on a review sample, for judge-human agreement.

THE CONTRACT WITH TRAINING: ``training.sft`` reads ``instruct.sft`` (``id``, ``prompt``,
``completion``, ``language``, ``source``) and ``training.kto`` reads ``instruct.kto`` (the same
plus ``label``: True = desirable), by snapshot tag or id; every snapshot summary carries
``dataflow.run_id``. Those column names and meanings do not change without a version bump.

Changing a field is a versioned migration: bump ``INSTRUCT_SCHEMA_VERSION`` and write it down in
``schemas/CHANGELOG.md``. The version is stored in every Parquet file's schema metadata and in
every Iceberg table's properties.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.corpus import doc_field

INSTRUCT_SCHEMA_VERSION = "1"
INSTRUCT_NAMESPACE = "instruct"

# Roles of a turn, as OpenAI's chat format names them (ShareGPT's human/gpt are mapped to these).
SYSTEM, USER, ASSISTANT = "system", "user", "assistant"
ROLES = (SYSTEM, USER, ASSISTANT)

TURN = pa.struct(
    [
        pa.field("role", pa.string(), nullable=False, metadata={"doc": "system, user or assistant."}),
        pa.field("content", pa.string(), nullable=False, metadata={"doc": "The turn's text, as read."}),
    ]
)


def _schema(fields: list[pa.Field], doc: str) -> pa.Schema:
    return pa.schema(fields, metadata={"doc": doc, "schema_version": INSTRUCT_SCHEMA_VERSION})


_ID = "Stable example id: 16 hex chars of sha1(source + '#' + record locator in the input file)."
_PROMPT = (
    "Everything before the final assistant turn as one string: for a single user turn its text "
    "(Alpaca: instruction, a blank line, input); for longer conversations each earlier turn as "
    "'<role>: <content>' separated by blank lines."
)
_COMPLETION = "The final assistant turn: the response that is judged and trained on."
_LANGUAGE = "ISO 639-1 code of the response from the project's language ID (ko, en, ...); '' when unknown."
_SOURCE = "Dataset name the example came from (config instruct.inputs[].source, default the file stem)."
_RUN = "Id of the instruct run that committed the row."

EXAMPLES = _schema(
    [
        doc_field("id", pa.string(), _ID),
        doc_field("source", pa.string(), _SOURCE),
        doc_field("source_uri", pa.string(), "URI of the input file the example was read from."),
        doc_field("format", pa.string(), "Input format detected: alpaca, sharegpt, messages, prompt_response."),
        doc_field("turns", pa.list_(TURN), "The conversation as read, in order (system, user, assistant turns)."),
        doc_field("prompt", pa.string(), _PROMPT),
        doc_field("completion", pa.string(), _COMPLETION),
        doc_field("language", pa.string(), _LANGUAGE),
        doc_field("prompt_language", pa.string(), "Language ID of the prompt ('' when unknown)."),
        doc_field(
            "content_hash", pa.string(), "sha256 hex of the canonical JSON of the turns: the verdict cache key part."
        ),
        doc_field("run_id", pa.string(), _RUN),
    ],
    "Every instruction example a run read, normalized to turns.",
)

VERDICTS = _schema(
    [
        doc_field("id", pa.string(), _ID),
        doc_field("run_id", pa.string(), _RUN),
        doc_field("source", pa.string(), _SOURCE),
        doc_field("language", pa.string(), _LANGUAGE),
        doc_field("stage", pa.string(), "Step that decided: read, rules, dedup, judge or select (score band)."),
        doc_field("outcome", pa.string(), "'kept', 'dropped' (a rule, dedup or score band said no) or 'failed'."),
        doc_field(
            "reason", pa.string(), "Stable snake_case reason (empty_response, judge_unparseable, ...); '' if kept."
        ),
        doc_field(
            "scores",
            pa.map_(pa.string(), pa.float32()),
            "The judge's score per rubric criterion (1-5), empty when not judged.",
        ),
        doc_field("overall", pa.float32(), "The judge's overall score (1-5), null when not judged.", True),
        doc_field("rationale", pa.string(), "The judge's short rationale, null when not judged.", True),
        doc_field("judge_model", pa.string(), "Judge model name ('' when not judged)."),
        doc_field("rubric_version", pa.string(), "Version of the rubric the judge used ('' when not judged)."),
        doc_field("content_hash", pa.string(), "sha256 hex of the canonical turns (see examples.content_hash)."),
        doc_field("cached", pa.bool_(), "True when the verdict came from the cache (no judge call this run)."),
        doc_field(
            "attempts", pa.int32(), "Judge requests made for this example this run (0 when cached or not judged)."
        ),
        doc_field("error", pa.string(), "Last error for failed examples (type and message).", True),
        doc_field("duplicate_of", pa.string(), "For dedup reasons: id of the kept example it duplicates.", True),
        doc_field("sft", pa.bool_(), "True when the example went into instruct.sft."),
        doc_field("kto_label", pa.bool_(), "KTO label when the example went into instruct.kto (True desirable).", True),
        doc_field("excerpt", pa.string(), "First characters of prompt and completion, for auditing."),
    ],
    "One row per example and run: what decided it and why, with the judge's scores: the audit table.",
)

SFT = _schema(
    [
        doc_field("id", pa.string(), _ID),
        doc_field("prompt", pa.string(), _PROMPT),
        doc_field("completion", pa.string(), _COMPLETION),
        doc_field("language", pa.string(), _LANGUAGE),
        doc_field("source", pa.string(), _SOURCE),
        doc_field("turns", pa.list_(TURN), "The whole conversation, for chat templates that want the turns."),
        doc_field("overall", pa.float32(), "The judge's overall score (1-5) that admitted the example."),
        doc_field("run_id", pa.string(), _RUN),
    ],
    "Supervised fine-tuning examples: judged at or above instruct.select.sft_min_overall.",
)

KTO = _schema(
    [
        doc_field("id", pa.string(), _ID),
        doc_field("prompt", pa.string(), _PROMPT),
        doc_field("completion", pa.string(), _COMPLETION),
        doc_field("label", pa.bool_(), "True = desirable (overall >= desirable threshold), False = undesirable."),
        doc_field("language", pa.string(), _LANGUAGE),
        doc_field("source", pa.string(), _SOURCE),
        doc_field("overall", pa.float32(), "The judge's overall score (1-5) that set the label."),
        doc_field("run_id", pa.string(), _RUN),
    ],
    "Unpaired KTO examples: desirable and undesirable by the judge's score thresholds.",
)

REVIEWS = _schema(
    [
        doc_field("id", pa.string(), _ID),
        doc_field("run_id", pa.string(), "Id of the instruct run whose verdicts were reviewed."),
        doc_field("reviewer", pa.string(), "Who decided ('' when the review file names no one)."),
        doc_field("judge_label", pa.string(), "The judge's decision on the example: keep or drop."),
        doc_field("human_label", pa.string(), "The reviewer's decision: keep or drop."),
        doc_field("note", pa.string(), "The reviewer's note, if any.", True),
    ],
    "Human decisions on a review sample of a run's verdicts; agreement is Cohen's kappa over these.",
)

TABLES: dict[str, pa.Schema] = {
    "examples": EXAMPLES,
    "verdicts": VERDICTS,
    "sft": SFT,
    "kto": KTO,
    "reviews": REVIEWS,
}
