"""Arrow schema of a training mix: the documents schema plus the lineage of every row.

A mix (``dataflow mix``, docs/mixes.md) is written as its own Iceberg table ``mixes.documents``, so
training reads it exactly like a corpus snapshot; the extra columns say where each row came from.
Versioned with the corpus tables (``CORPUS_SCHEMA_VERSION``, schemas/CHANGELOG.md): the lineage
columns follow the documents columns, and a column added to documents lands before them on a new
table and is added at the end (by name) on an existing one, never breaking a reader.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.corpus import CORPUS_SCHEMA_VERSION, DOCUMENTS

MIX_NAMESPACE = "mixes"  # the catalog namespace mixes live in, beside the corpus tables
MIX_TABLE = "documents"  # so `read_snapshot(tag, table="documents")` in that namespace reads a mix
# the source_kind of a recipe cell holding a language's source kinds its recipe does not name (mix summaries)
REST = "*"

LINEAGE_FIELDS = [
    pa.field("mix_id", pa.string(), False, {"doc": "Id of the mix (`dataflow.mix_id` in the snapshot summary)."}),
    pa.field(
        "source_snapshot_id",
        pa.int64(),
        False,
        {"doc": "Id of the corpus documents snapshot the row was drawn from (the summary lists them)."},
    ),
    pa.field("repeat_index", pa.int32(), False, {"doc": "Which copy of the document this row is: 0 .. repeats - 1."}),
    pa.field(
        "repeats", pa.int32(), False, {"doc": "How many rows of the mix hold this document (up-sampling, rehydration)."}
    ),
    pa.field(
        "cluster_size",
        pa.int64(),
        True,
        {
            "doc": "Documents of the near-duplicate cluster the document stands for (1 + rejects naming it as "
            "duplicate_of); null when the recipe does not rehydrate."
        },
    ),
]

MIX_DOCUMENTS = pa.schema(
    list(DOCUMENTS) + LINEAGE_FIELDS,
    metadata={
        "doc": "Rows of a training mix: source documents (repeated where the recipe up-samples) with their lineage.",
        "schema_version": CORPUS_SCHEMA_VERSION,
    },
)
