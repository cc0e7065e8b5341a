"""The data contracts every part of the platform shares, as versioned Arrow schemas."""

from schemas.corpus import CORPUS_SCHEMA_VERSION, DOCUMENTS, INPUTS, REJECTS, STAGE_STATS, TABLES

__all__ = ["CORPUS_SCHEMA_VERSION", "DOCUMENTS", "INPUTS", "REJECTS", "STAGE_STATS", "TABLES"]
