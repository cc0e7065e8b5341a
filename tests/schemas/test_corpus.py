"""The corpus contracts: documented, versioned, and what the pipeline's rows actually fit."""

from __future__ import annotations

import pyarrow as pa
from datatrove.data import Document

from dataflow.document import Meta, reject
from dataflow.ledger import Ledger
from dataflow.records import document_row, reject_row
from schemas import CORPUS_SCHEMA_VERSION, TABLES


def test_every_table_and_field_is_documented_and_versioned():
    assert set(TABLES) == {"documents", "rejects", "stage_stats", "inputs", "dedup_index"}
    for name, schema in TABLES.items():
        assert schema.metadata[b"schema_version"].decode() == CORPUS_SCHEMA_VERSION
        assert schema.metadata[b"doc"], name
        for f in schema:
            assert f.metadata and len(f.metadata[b"doc"]) > 10, f"{name}.{f.name} has no doc"


def _doc() -> Document:
    doc = Document(text="서울 시내 도서관은 밤 열 시까지 문을 연다.", id="00ff00ff00ff00ff")
    doc.metadata.update(
        {
            Meta.SOURCE_KIND: "web",
            Meta.SOURCE_URI: "file:///x.html",
            Meta.LANGUAGE: "ko",
            Meta.LANGUAGE_SCORE: 0.98,
            Meta.QUALITY_SIGNALS: {"ko_hangul_ratio": 0.9},
            Meta.PII_COUNTS: {"email": 2},
        }
    )
    return doc


def test_pipeline_rows_fit_the_schemas():
    doc = _doc()
    docs = pa.Table.from_pylist([document_row(doc, "r1")], schema=TABLES["documents"])
    assert docs.column("n_chars").to_pylist() == [len(doc.text)]
    assert docs.column("n_bytes").to_pylist() == [len(doc.text.encode())]

    reject(doc, "quality_ko", "gopher_short_doc")
    rejects = pa.Table.from_pylist([reject_row(doc, "r1")], schema=TABLES["rejects"])
    assert rejects.column("reason").to_pylist() == ["gopher_short_doc"]
    assert rejects.column("outcome").to_pylist() == ["dropped"]

    ledger = Ledger()
    ledger.record(3, "quality_ko", doc, (60, 20), (60, 20))
    stats = pa.Table.from_pylist(ledger.to_rows("r1"), schema=TABLES["stage_stats"])
    row = stats.to_pylist()[0]
    assert (row["docs_in"], row["docs_out"], row["bytes_in"], row["bytes_out"]) == (1, 0, 60, 0)


def test_ledger_merges_and_round_trips():
    a, b = Ledger(), Ledger()
    doc = _doc()
    a.record(1, "extract", doc, (100, 0), (30, 10))
    b.record(1, "extract", doc, (50, 0), (20, 5))
    merged = Ledger.loads(a.merge(b).dumps())
    (row,) = merged.to_rows("r")
    assert (row["docs_in"], row["docs_out"], row["bytes_in"], row["bytes_out"], row["chars_out"]) == (2, 2, 150, 50, 15)
