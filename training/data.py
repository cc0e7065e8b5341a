"""Training data from a pinned snapshot: read, tokenize, pack, stream resumably, and record lineage.

Training reads an exact, immutable dataset version through the snapshot module's public function
``dataflow.snapshots.read_snapshot`` (by tag, snapshot id or ``run:<id>``) and the Arrow schemas in
``schemas/``; it never touches dataflow's internals.

Packing (``pack``): documents are tokenized (BOS from the tokenizer, EOS appended) and concatenated into rows of
exactly ``seq_len`` tokens; a document that does not fit is continued in the next row. Every row carries
``position_ids`` that restart at 0 where a document (or a document's continuation) starts. That is how
transformers 5 keeps documents apart without padding:
- ``flash_attention_2`` (CUDA, and ROCm builds): position ids -> cu_seqlens -> varlen kernels;
- ``sdpa``, ``eager``, ``flex_attention`` (CPU included): ``masking_utils.find_packed_sequence_indices`` turns
  the position-id resets into a block-diagonal causal mask, provided no 2D ``attention_mask`` is passed (so the
  rows carry none: they have no padding) and no KV cache is used (``use_cache=False``: with a cache, even an
  empty one, that detection is skipped; ``training.modeling.load_model`` sets it).
  ``tests/training/test_data.py`` checks that a packed row gives the same logits as its documents one by one.
The first label of every segment is -100, so no token is trained to predict across a document boundary.

Resumable streaming: the stream is a pure function of (snapshot, tokenizer, seq_len, rank, world size); its
position after any row is a ``DataState`` (snapshot id, documents fully consumed, tokens already used of the next
one, rows yielded). A stream started from a state yields exactly the rows that would have followed.

Sharded per rank: rank r of W takes documents r, r + W, r + 2W, ... of the snapshot's stable order and packs
them itself, so each of 256 processes tokenizes 1/256 of the corpus (every rank still reads the text column to
count documents: I/O, not tokenization). Each rank's ``DataState`` is saved next to the checkpoint
(``data_state/rank-<r>.json``); a resumed run must have the same world size.

Tables: CPT reads ``corpus.documents``; SFT reads ``instruct.sft`` (id, prompt, completion, language, source) and
KTO ``instruct.kto`` (the same plus ``label``), the contract ``schemas/instruct.py`` states; each stage may
instead read local JSONL/Parquet files (``data.files``).
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from training.config import DataSpec, ModelSpec
from training.tokenizer import tokenizer_fingerprint

LINEAGE_FILE = "lineage.json"


@dataclass(frozen=True)
class DataState:
    """Where a packed stream is: enough to resume it exactly."""

    snapshot_id: str  # the immutable dataset version (as a string: Iceberg ids exceed JSON-safe ints)
    doc_offset: int = 0  # documents fully consumed
    token_offset: int = 0  # tokens of document `doc_offset` already placed in earlier rows
    rows: int = 0  # rows yielded so far
    rank: int = 0  # the shard: documents rank, rank + world_size, ... of the snapshot
    world_size: int = 1

    def to_json(self) -> dict:
        return asdict(self)


def tokenize_document(tokenizer, text: str) -> list[int]:
    """Token ids of one document: the tokenizer's own special tokens (BOS) plus EOS at the end."""
    ids = tokenizer(text, add_special_tokens=True)["input_ids"]
    return [*ids, tokenizer.eos_token_id]


def pack(
    docs: Iterable[list[int]], seq_len: int, start: DataState | None = None, snapshot_id: str = ""
) -> Iterator[tuple[dict[str, torch.Tensor], DataState]]:
    """Pack token lists into rows of `seq_len`: yields (row, state after the row); a trailing partial row is dropped.

    `docs` must start at document `start.doc_offset`; its first `start.token_offset` tokens are skipped.
    """
    state = start or DataState(snapshot_id)
    ids: list[int] = []
    pos: list[int] = []
    labels: list[int] = []
    doc_index, skip = state.doc_offset, state.token_offset
    rows = state.rows
    for tokens in docs:
        taken = skip
        skip = 0
        while taken < len(tokens):
            n = min(seq_len - len(ids), len(tokens) - taken)
            piece = tokens[taken : taken + n]
            ids += piece
            pos += range(n)
            labels += [-100, *piece[1:]]  # the segment's first token is never a target across the boundary
            taken += n
            if len(ids) == seq_len:
                rows += 1
                done = taken == len(tokens)
                after = DataState(
                    state.snapshot_id, doc_index + done, 0 if done else taken, rows, state.rank, state.world_size
                )
                yield (
                    {
                        "input_ids": torch.tensor(ids),
                        "position_ids": torch.tensor(pos),
                        "labels": torch.tensor(labels),
                    },
                    after,
                )
                ids, pos, labels = [], [], []
        doc_index += 1


def snapshot_texts(
    snapshot, text_column: str = "text", doc_offset: int = 0, rank: int = 0, world_size: int = 1
) -> Iterator[str]:
    """Texts of one rank's shard of a snapshot (documents rank, rank + world_size, ...) in the snapshot's stable
    order, skipping the shard's first `doc_offset` (without tokenizing them)."""
    seen = 0  # documents of the whole snapshot before this batch
    for batch in snapshot.batches(columns=[text_column]):
        n = batch.num_rows
        first = seen + (rank - seen) % world_size  # first index >= seen in this rank's shard
        local = (first - rank) // world_size  # its position within the shard
        seen += n
        if local + len(range(first, seen, world_size)) <= doc_offset:
            continue
        texts = batch.column(text_column).to_pylist()
        for k, index in enumerate(range(first, seen, world_size)):
            if local + k >= doc_offset:
                yield texts[index - (seen - n)]


class PackedStream(torch.utils.data.IterableDataset):
    """Packed rows of one rank's shard of a snapshot as an IterableDataset, resumable from a `DataState`.

    `state_at(rows)` gives the state after a given number of rows, from a bounded record of recent rows (the
    trainer asks for it when it saves a checkpoint; the data loader may have run ahead by a few batches).
    """

    def __init__(
        self,
        snapshot,
        tokenizer,
        seq_len: int,
        text_column: str = "text",
        start: DataState | None = None,
        history: int = 4096,
        rank: int = 0,
        world_size: int = 1,
    ):
        self.snapshot = snapshot
        self.tokenizer = tokenizer
        self.seq_len = seq_len
        self.text_column = text_column
        self.start = start or DataState(str(snapshot.snapshot_id), rank=rank, world_size=world_size)
        if self.start.snapshot_id != str(snapshot.snapshot_id):
            raise ValueError(f"state is for snapshot {self.start.snapshot_id}, not {snapshot.snapshot_id}")
        if (self.start.rank, self.start.world_size) != (rank, world_size):
            raise ValueError(
                f"state is for rank {self.start.rank} of {self.start.world_size}, not rank {rank} of {world_size}: "
                "resume with the world size the checkpoint was saved with"
            )
        self.recent: deque[DataState] = deque(maxlen=history)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        s = self.start
        texts = snapshot_texts(self.snapshot, self.text_column, s.doc_offset, s.rank, s.world_size)
        docs = (tokenize_document(self.tokenizer, t) for t in texts)
        for row, state in pack(docs, self.seq_len, self.start):
            self.recent.append(state)
            yield row

    def state_at(self, rows: int) -> DataState | None:
        return next((s for s in self.recent if s.rows == rows), None)


# Where each stage's snapshot lives by default: (namespace, table)
STAGE_TABLES = {"cpt": ("corpus", "documents"), "sft": ("instruct", "sft"), "kto": ("instruct", "kto")}
# The columns SFT and KTO train on (schemas/instruct.py; local files may carry more)
STAGE_COLUMNS = {"sft": ["prompt", "completion"], "kto": ["prompt", "completion", "label"]}


def open_snapshot(ref: str | int | None, data_root: str | Path, table: str = "documents", namespace: str = "corpus"):
    """The snapshot module's public reader (imported here so that training has one place that calls it)."""
    from dataflow.config import SnapshotConfig
    from dataflow.snapshots import read_snapshot

    return read_snapshot(ref, table=table, data_root=data_root, config=SnapshotConfig(namespace=namespace))


def open_stage_snapshot(data: DataSpec, stage: str):
    """The snapshot a stage's `data` section names (its table and namespace, or the stage's defaults)."""
    namespace, table = STAGE_TABLES[stage]
    return open_snapshot(data.snapshot, data.data_root, data.table or table, data.namespace or namespace)


def snapshot_lineage(snap, data: DataSpec, stage: str) -> dict:
    """What lineage.json records about a snapshot a stage read."""
    namespace, table = STAGE_TABLES[stage]
    return {
        "snapshot_id": str(snap.snapshot_id),
        "snapshot_ref": data.snapshot,
        "snapshot_tags": snap.tags,
        "snapshot_run_id": snap.summary.get("dataflow.run_id"),
        "table": f"{data.namespace or namespace}.{data.table or table}",
    }


def load_table(data: DataSpec, stage: str = "sft"):
    """(datasets.Dataset, dataset id, lineage fields) from local files or the stage's snapshot table (SFT, KTO)."""
    from datasets import Dataset, load_dataset

    if data.files:
        kind = "json" if data.files[0].endswith((".json", ".jsonl")) else "parquet"
        ds = load_dataset(kind, data_files=data.files, split="train")
        dataset_id = ",".join(file_fingerprint(f) for f in data.files)
        return ds, dataset_id, {"dataset_id": dataset_id, "files": list(data.files)}
    snap = open_stage_snapshot(data, stage)
    ds = Dataset(snap.to_arrow(columns=STAGE_COLUMNS[stage]))
    return ds, str(snap.snapshot_id), {"dataset_id": str(snap.snapshot_id), **snapshot_lineage(snap, data, stage)}


def file_fingerprint(path: str | Path) -> str:
    """Dataset id for a local file source (not a snapshot): 'file-sha256:<hex>'."""
    return "file-sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_lineage(directory: str | Path, lineage: dict) -> Path:
    """Write lineage.json next to a checkpoint (dataset snapshot, base model, recipe, data state)."""
    path = Path(directory) / LINEAGE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(lineage, indent=2, sort_keys=True, default=str) + "\n")
    return path


def base_lineage(recipe_name: str, stage: str, spec: ModelSpec, tokenizer) -> dict:
    """The lineage fields every stage records: recipe, stage, base model, tokenizer fingerprint, code commit."""
    from training.checkpoint import code_commit

    return {
        "recipe": recipe_name,
        "stage": stage,
        "base_model": spec.path or "random-init",
        "tokenizer_fingerprint": tokenizer_fingerprint(tokenizer),
        "code_commit": code_commit(),
    }


def read_lineage(directory: str | Path) -> dict:
    return json.loads((Path(directory) / LINEAGE_FILE).read_text())
