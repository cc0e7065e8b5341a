"""The instruct contracts: documented, versioned, and the columns training reads."""

from __future__ import annotations

import pyarrow as pa

from schemas.instruct import INSTRUCT_SCHEMA_VERSION, KTO, SFT, TABLES


def test_every_instruct_table_and_field_is_documented_and_versioned():
    for name, schema in TABLES.items():
        assert schema.metadata[b"schema_version"].decode() == INSTRUCT_SCHEMA_VERSION
        assert schema.metadata[b"doc"], name
        for f in schema:
            assert f.metadata and len(f.metadata[b"doc"]) > 10, f"{name}.{f.name} has no doc"


def test_the_training_contract_columns():
    # training.sft / training.kto read these names and types (the contract in schemas/instruct.py)
    for name in ("id", "prompt", "completion", "language", "source"):
        assert SFT.field(name).type == pa.string() and KTO.field(name).type == pa.string()
    assert KTO.field("label").type == pa.bool_()
