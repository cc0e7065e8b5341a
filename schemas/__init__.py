"""The data contracts every part of the platform shares, as versioned Arrow schemas."""

from schemas.corpus import (
    CORPUS_SCHEMA_VERSION,
    DEDUP_INDEX,
    DOCUMENTS,
    DROPPED,
    FAILED,
    INPUT_UNCHANGED,
    INPUTS,
    KEPT,
    OUTCOMES,
    REJECTS,
    STAGE_STATS,
    STAT_COUNTERS,
    TABLES,
)

__all__ = [
    "CORPUS_SCHEMA_VERSION",
    "DEDUP_INDEX",
    "DOCUMENTS",
    "DROPPED",
    "FAILED",
    "INPUT_UNCHANGED",
    "INPUTS",
    "KEPT",
    "OUTCOMES",
    "REJECTS",
    "STAGE_STATS",
    "STAT_COUNTERS",
    "TABLES",
]
