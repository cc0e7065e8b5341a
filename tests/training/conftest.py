"""Fixtures for training tests: offline hub, a committed corpus snapshot, the tiny recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RECIPE = Path(__file__).resolve().parents[2] / "training" / "recipes" / "tiny-cpu.yaml"

KO_EN = [
    "한국어 문서는 형태소 분석이 필요하다. 말뭉치 품질이 모델 성능을 좌우한다.",
    "The quick brown fox jumps over the lazy dog while the corpus pipeline runs.",
    "서울은 대한민국의 수도이며 인구가 가장 많은 도시이다.",
    "Continual pretraining adapts a base model to a new language mix.",
    "김치는 배추와 고춧가루로 만드는 한국의 전통 음식이다.",
    "Packing puts several short documents into one fixed-length row.",
]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setenv("WANDB_DISABLED", "true")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread; on a shared 2-core box two OpenMP threads can be 20x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def doc_row(i: int, text: str, run_id: str) -> dict:
    return {
        "id": f"{i:016x}",
        "text": text,
        "source_kind": "text",
        "source_uri": f"file:///fixture/{i}.txt",
        "url": None,
        "language": "ko" if any("가" <= c <= "힣" for c in text) else "en",
        "language_score": 0.99,
        "quality_signals": {},
        "quality_score": None,
        "pii_counts": {},
        "dedup_cluster": None,
        "n_bytes": len(text.encode()),
        "n_chars": len(text),
        "metadata": "{}",
        "run_id": run_id,
    }


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> tuple[Path, str]:
    """A data_root with one committed documents snapshot tagged 'fixture-v1': (data_root, snapshot id)."""
    from dataflow.snapshots import commit_tables, read_snapshot, tag

    root = tmp_path_factory.mktemp("corpus")
    texts = [f"{KO_EN[i % len(KO_EN)]} ({i})" for i in range(40)]
    commit_tables(
        {"documents": [doc_row(i, t, "run-fixture") for i, t in enumerate(texts)]}, "run-fixture", data_root=root
    )
    snap_id = tag("run:run-fixture", "fixture-v1", data_root=root)
    assert read_snapshot("fixture-v1", data_root=root).snapshot_id == snap_id
    return root, str(snap_id)


@pytest.fixture(scope="session")
def sft_rows() -> list[dict]:
    return [
        {"prompt": f"질문 {i}: {KO_EN[i % 6][:20]}", "completion": f" 답변 {KO_EN[(i + 1) % 6][:30]}"}
        for i in range(12)
    ]


@pytest.fixture(scope="session")
def kto_rows() -> list[dict]:
    return [
        {"prompt": f"질문 {i}: {KO_EN[i % 6][:20]}", "completion": f" {KO_EN[(i + 2) % 6][:30]}", "label": i % 3 != 0}
        for i in range(16)
    ]


def trainable_snapshot(model) -> dict:
    """Copies of the trainable weights, to check afterwards that training moved them."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def instruct_tables(tmp_path_factory, sft_rows, kto_rows) -> tuple[Path, dict[str, str]]:
    """instruct.sft and instruct.kto committed through dataflow.snapshots' catalog, tagged 'release-v1':
    (data_root, {table: snapshot id})."""
    import pyarrow as pa

    from dataflow.config import SnapshotConfig
    from dataflow.snapshots import tag_snapshot
    from dataflow.snapshots.catalog import open_catalog
    from schemas.instruct import INSTRUCT_NAMESPACE, KTO, SFT

    root = tmp_path_factory.mktemp("instruct")
    catalog = open_catalog(SnapshotConfig(namespace=INSTRUCT_NAMESPACE), root)
    catalog.create_namespace_if_not_exists(INSTRUCT_NAMESPACE)
    ids = {}
    for name, schema, rows in (("sft", SFT, sft_rows), ("kto", KTO, kto_rows)):
        table = catalog.create_table(f"{INSTRUCT_NAMESPACE}.{name}", schema=schema)
        full = [
            {
                "id": f"{i:016x}",
                "language": "ko",
                "source": "fixture",
                "overall": 4.0,
                "run_id": "run-1",
                "turns": [{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": r["completion"]}],
                **r,
            }
            for i, r in enumerate(rows)
        ]
        table.append(pa.Table.from_pylist(full, schema=schema))
        table = catalog.load_table(f"{INSTRUCT_NAMESPACE}.{name}")
        ids[name] = str(table.current_snapshot().snapshot_id)
        tag_snapshot(table, int(ids[name]), "release-v1")
    return root, ids
