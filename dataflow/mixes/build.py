"""Build a training mix from corpus snapshots and commit it as a snapshot of its own.

Three streaming passes, never holding the corpus's text:

1. **count**: every source document's language, source kind, id hash and token count
   (``TokenCounter``, batched), into per-document arrays (``plan``: 34 bytes a document);
   with rehydration, cluster sizes come from the rejects that name a document as ``duplicate_of``
   (in the rejects snapshot of the source's own run, so a later run cannot change the mix);
2. **draw and spill**: ``plan.cell_repeats`` gives each document its rows; the drawn rows, with
   their lineage and a per-row shuffle key, are spilled to scratch buckets by key;
3. **shuffle and write**: each bucket (``shuffle_bucket_bytes`` of text) is sorted by key in memory
   and written as the mix's Parquet parts, which are committed once, as one Iceberg snapshot of
   ``mixes.documents`` tagged with the recipe's name. Rows come out in a seeded random order, so
   training (which reads a snapshot in order) sees the languages and sources interleaved.

The mix id hashes the recipe (seed included), the resolved source snapshot ids and the tokenizer's
fingerprint: rebuilding the same mix commits nothing new. The snapshot summary records the recipe,
seed, sources, tokenizer and every cell's target and achieved tokens (``dataflow report --mix``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.table import Table

from dataflow.config import ConfigError, SnapshotConfig
from dataflow.mixes import plan as P
from dataflow.mixes.recipe import MixRecipe
from dataflow.mixes.tokens import TokenCounter
from dataflow.snapshots.catalog import evolve, open_catalog
from dataflow.snapshots.commit import RUN_ID, run_snapshot, tag_snapshot
from dataflow.snapshots.files import PartWriter, run_data_dir
from dataflow.snapshots.read import Snapshot, read_snapshot
from schemas import CORPUS_SCHEMA_VERSION
from schemas.mixes import MIX_DOCUMENTS, MIX_TABLE, REST

log = logging.getLogger(__name__)

MIX_ID = "dataflow.mix_id"
KEY = "_shuffle_key"  # scratch-only column: the row's place in the mix's order
SCRATCH_SCHEMA = MIX_DOCUMENTS.append(pa.field(KEY, pa.uint64(), False))
PASS1_COLUMNS = ["id", "text", "language", "source_kind", "n_bytes", "n_chars"]
ROWS_PER_PART = 100_000  # rows per committed Parquet part (the corpus writer's default)
RETRIES = 5


@dataclass(frozen=True)
class Source:
    ref: str
    snapshot_id: int
    run_id: str | None
    docs: int
    rejects_snapshot_id: int | None = None  # the rejects snapshot cluster sizes were counted in (rehydration)


@dataclass
class MixResult:
    mix_id: str
    snapshot_id: int
    tag: str
    already_committed: bool
    summary: dict[str, str]


def stream(snap: Snapshot, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """A snapshot's rows as record batches, one data file at a time, in the scan's stable order.

    Not ``Snapshot.batches``: pyiceberg 0.12's batch reader maps every file of a scan onto its thread pool
    at once and keeps each file's batches until they are consumed (``ArrowScan.to_record_batches``), so a
    fast reader and a slow consumer hold the whole table: 1M documents took 640 bytes of RSS each. Given one
    task at a time it holds one file (``bench/bench_mix.py``: flat).
    """
    scan = snap.table.scan(snapshot_id=snap.snapshot_id, **({"selected_fields": tuple(columns)} if columns else {}))
    reader = ArrowScan(scan.table_metadata, scan.io, scan.projection(), scan.row_filter, scan.case_sensitive)
    for task in scan.plan_files():
        yield from reader.to_record_batches([task])


def mix_config(recipe: MixRecipe) -> SnapshotConfig:
    """The catalog settings of the recipe's sources, pointed at the mix namespace."""
    return dataclasses.replace(recipe.catalog, namespace=recipe.namespace, tag="")


def open_mix_table(catalog: SqlCatalog, namespace: str) -> Table:
    catalog.create_namespace_if_not_exists(namespace)
    table = catalog.create_table_if_not_exists(
        f"{namespace}.{MIX_TABLE}",
        schema=MIX_DOCUMENTS,
        properties={"dataflow.schema_version": CORPUS_SCHEMA_VERSION, "format-version": "2"},
    )
    return evolve(table, MIX_DOCUMENTS)


def _sources(recipe: MixRecipe) -> list[tuple[Source, Snapshot]]:
    out = []
    for ref in recipe.sources:
        snap = read_snapshot(None if ref in ("", "current") else ref, data_root=recipe.data_root, config=recipe.catalog)
        docs = int(snap.summary.get("total-records", 0))
        out.append((Source(ref, snap.snapshot_id, snap.run_id, docs), snap))
    return out


def mix_id_of(recipe: MixRecipe, sources: list[Source], tokenizer_fingerprint: str) -> str:
    """Same recipe (seed included), same source snapshots, same tokenizer -> same id."""
    h = hashlib.sha256(recipe.fingerprint().encode())
    h.update(json.dumps([s.snapshot_id for s in sources]).encode())
    h.update(tokenizer_fingerprint.encode())
    return "mix-" + h.hexdigest()[:16]


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="doc", unit_scale=True, disable=not enabled, leave=False)


@dataclass
class _Counts:
    """Pass 1's per-document arrays, in scan order across the sources."""

    hashes: np.ndarray
    cells: np.ndarray
    tokens: np.ndarray
    n_bytes: np.ndarray
    n_chars: np.ndarray
    clusters: np.ndarray | None
    kinds: list[set[str]]  # source kinds seen per cell


def _cell_index(recipe: MixRecipe, cells: list[tuple[str, str, float]]):
    index = {(lang, kind): i for i, (lang, kind, _) in enumerate(cells)}

    def of(lang: str, kind: str) -> int:
        if lang not in recipe.languages:
            return P.OUTSIDE[P.LANGUAGE_NOT_IN_RECIPE]
        i = index.get((lang, kind))
        if i is None and kind not in recipe.languages[lang].sources:
            i = index.get((lang, REST))
        return P.OUTSIDE[P.SOURCE_NOT_IN_RECIPE] if i is None else i

    return of


def _cluster_counts(recipe: MixRecipe, source: Source) -> tuple[Counter, int]:
    """Rejects naming each kept document as their ``duplicate_of``, in the source run's rejects snapshot."""
    if not source.run_id:
        raise ConfigError(f"source {source.ref!r} has no run id, so no rejects snapshot to rehydrate from")
    rejects = read_snapshot(f"run:{source.run_id}", table="rejects", data_root=recipe.data_root, config=recipe.catalog)
    counts: Counter = Counter()
    for batch in rejects.batches(columns=["duplicate_of"], row_filter="duplicate_of IS NOT NULL"):
        counts.update(batch.column("duplicate_of").to_pylist())
    return counts, rejects.snapshot_id


def count_pass(recipe, sources, counter: TokenCounter, cells, progress: bool) -> tuple[_Counts, list[Source]]:
    cell_of = _cell_index(recipe, cells)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("hashes", "cells", "tokens", "bytes", "chars", "clusters")}
    kinds: list[set[str]] = [set() for _ in cells]
    done = []
    bar = _progress(sum(s.docs for s, _ in sources), "count tokens", progress)
    for source, snap in sources:
        clusters, rejects_id = (None, None)
        if recipe.rehydration.enabled:
            clusters, rejects_id = _cluster_counts(recipe, source)
        done.append(dataclasses.replace(source, rejects_snapshot_id=rejects_id))
        for batch in stream(snap, PASS1_COLUMNS):
            for start in range(0, batch.num_rows, recipe.batch_docs):
                b = batch.slice(start, recipe.batch_docs)
                ids = b.column("id").to_pylist()
                texts = b.column("text").to_pylist()
                cell = np.array(
                    [cell_of(lang, kind) for lang, kind in zip(b.column("language").to_pylist(),
                                                               b.column("source_kind").to_pylist(), strict=True)],
                    dtype=np.int16,
                )  # fmt: skip
                for c, kind in zip(cell, b.column("source_kind").to_pylist(), strict=True):
                    if c >= 0:
                        kinds[c].add(kind)
                parts["hashes"].append(P.id_hash(ids))
                parts["cells"].append(cell)
                parts["tokens"].append(counter.count(texts))
                parts["bytes"].append(b.column("n_bytes").to_numpy(zero_copy_only=False).astype(np.int64))
                parts["chars"].append(b.column("n_chars").to_numpy(zero_copy_only=False).astype(np.int64))
                if clusters is not None:
                    parts["clusters"].append(np.fromiter((1 + clusters.get(i, 0) for i in ids), np.int64, len(ids)))
                bar.update(b.num_rows)
    bar.close()

    def cat(key: str, dtype) -> np.ndarray:
        return np.concatenate(parts[key]) if parts[key] else np.zeros(0, dtype=dtype)

    counts = _Counts(
        hashes=cat("hashes", np.uint64),
        cells=cat("cells", np.int16),
        tokens=cat("tokens", np.int64),
        n_bytes=cat("bytes", np.int64),
        n_chars=cat("chars", np.int64),
        clusters=cat("clusters", np.int64) if recipe.rehydration.enabled else None,
        kinds=kinds,
    )
    # The same document in two sources (an append-mode table read at two versions) is drawn from the first only
    _, first = np.unique(counts.hashes, return_index=True)
    duplicate = np.ones(len(counts.hashes), dtype=bool)
    duplicate[first] = False
    counts.cells[duplicate] = P.OUTSIDE[P.DUPLICATE_ACROSS_SOURCES]
    counts.cells[(counts.tokens == 0) & (counts.cells >= 0)] = P.OUTSIDE[P.NO_TOKENS]
    return counts, done


def draw(recipe: MixRecipe, cells, counts: _Counts) -> tuple[np.ndarray, np.ndarray, list[P.CellPlan], int]:
    """Rows per document (``plan``), the documents' draw keys, the cells' numbers and the mix's total tokens."""
    keys = P.draw_keys(counts.hashes, recipe.seed)
    u = P.uniform(keys)
    if counts.clusters is not None:
        w = P.rehydration_weights(counts.clusters, recipe.rehydration.table())
    else:
        w = np.ones(len(keys))
    members = [np.flatnonzero(counts.cells == i) for i in range(len(cells))]
    available = [int(counts.tokens[m].sum()) for m in members]
    names = [
        P.label(lang, kind, counts.kinds[i], sum(1 for c in cells if c[0] == lang) == 1)
        for i, (lang, kind, _) in enumerate(cells)
    ]
    total = P.mix_total(cells, available, recipe.cap, recipe.token_budget, names)
    repeats = np.zeros(len(keys), dtype=np.int32)
    plans = []
    for i, ((lang, kind, share), m) in enumerate(zip(cells, members, strict=True)):
        target = round(share * total)
        r = P.cell_repeats(counts.tokens[m], u[m], w[m], target, recipe.cap)
        repeats[m] = r
        plans.append(
            P.CellPlan(
                language=lang,
                source_kind=kind,
                kinds=tuple(sorted(counts.kinds[i])),
                target_share=share,
                docs=len(m),
                tokens=available[i],
                bytes=int(counts.n_bytes[m].sum()),
                chars=int(counts.n_chars[m].sum()),
                target_tokens=target,
                mix_tokens=int(np.dot(counts.tokens[m], r)),
                mix_bytes=int(np.dot(counts.n_bytes[m], r)),
                mix_chars=int(np.dot(counts.n_chars[m], r)),
                mix_rows=int(r.sum()),
                docs_used=int((r > 0).sum()),
                docs_repeated=int((r > 1).sum()),
                docs_left_out=int((r == 0).sum()),
                max_repeats=int(r.max()) if len(r) else 0,
            )
        )
    return repeats, keys, plans, total


def _mix_rows(batch: pa.RecordBatch, take: np.ndarray, extra: dict[str, np.ndarray]) -> pa.Table:
    """Source rows ``take`` (repeated as drawn) in the mix's scratch schema: documents columns, then lineage."""
    picked = pa.Table.from_batches([batch]).take(pa.array(take, type=pa.int64()))
    columns = []
    for f in SCRATCH_SCHEMA:
        if f.name in extra:
            columns.append(pa.array(extra[f.name], type=f.type))
        elif f.name in picked.column_names:
            columns.append(picked.column(f.name).cast(f.type))
        else:  # a column the source snapshot predates: null, as schemas/CHANGELOG.md promises
            columns.append(pa.nulls(len(take), type=f.type))
    return pa.Table.from_arrays(columns, schema=SCRATCH_SCHEMA)


def spill_pass(recipe, sources, counts, repeats, keys, mix_id, scratch: Path, buckets: int, progress: bool):
    """Drawn rows with lineage into ``buckets`` scratch files by shuffle key; returns the files."""
    writers = [
        PartWriter(SCRATCH_SCHEMA, f"{scratch.as_uri()}/b{b:05d}", rows_per_file=1 << 62) for b in range(buckets)
    ]
    pos = 0
    bar = _progress(len(repeats), "draw", progress)
    for source, snap in sources:
        for batch in stream(snap):
            n = batch.num_rows
            if not np.array_equal(P.id_hash(batch.column("id").to_pylist()), counts.hashes[pos : pos + n]):
                raise RuntimeError(f"snapshot {source.snapshot_id} returned its rows in another order on a second scan")
            r = repeats[pos : pos + n]
            local = np.flatnonzero(r)
            if len(local):
                take = np.repeat(local, r[local])
                starts = np.repeat(np.cumsum(r[local]) - r[local], r[local])
                copy = (np.arange(len(take)) - starts).astype(np.int32)
                glob = pos + take
                key = P.mix64(keys[glob] ^ P.mix64(copy.astype(np.uint64) + np.uint64(1)))
                extra = {
                    "n_tokens": counts.tokens[glob],
                    "mix_id": np.full(len(take), mix_id, dtype=object),
                    "source_snapshot_id": np.full(len(take), source.snapshot_id, dtype=np.int64),
                    "repeat_index": copy,
                    "repeats": repeats[glob],
                    "cluster_size": counts.clusters[glob] if counts.clusters is not None else [None] * len(take),
                    KEY: key,
                }
                table = _mix_rows(batch, take, extra)
                bucket = ((key >> np.uint64(32)) * np.uint64(buckets)) >> np.uint64(32)
                for b in np.unique(bucket):
                    writers[int(b)].write(table.filter(pa.array(bucket == b)))
            pos += n
            bar.update(n)
    bar.close()
    if pos != len(repeats):
        raise RuntimeError(f"sources returned {pos} rows on the second scan but {len(repeats)} on the first")
    return [w.close() for w in writers]


def write_pass(bucket_files: list[list[str]], directory: str) -> list[str]:
    """Each bucket sorted by shuffle key, in bucket order, as the mix's parts (one bucket in memory at a time)."""
    writer = PartWriter(MIX_DOCUMENTS, directory, rows_per_file=ROWS_PER_PART)
    for files in bucket_files:
        table = pa.concat_tables([pq.read_table(f.removeprefix("file://")) for f in files])
        order = pc.sort_indices(table, sort_keys=[(KEY, "ascending")])
        writer.write(table.take(order).drop_columns([KEY]))
        del table
    return writer.close()


def _commit(table: Table, files: list[str], properties: dict[str, str]) -> int:
    mix_id = properties[RUN_ID]
    for attempt in range(RETRIES):
        if run_snapshot(table, mix_id) is not None:
            break
        try:
            with table.transaction() as tx:
                if table.current_snapshot() is not None:  # a mix snapshot holds that mix alone; older ones stay
                    tx.delete(AlwaysTrue(), snapshot_properties=properties)  # readable by tag and id
                tx.add_files(files, snapshot_properties=properties)
            break
        except CommitFailedException:
            if attempt == RETRIES - 1:
                raise
            log.warning("mix commit conflicted with another writer; retrying")
            time.sleep(0.2 * (attempt + 1))
            table = table.refresh()
    snap_id = run_snapshot(table.refresh(), mix_id)
    assert snap_id is not None, "mix commit succeeded but no snapshot carries its id"
    return snap_id


def _shares(plans: list[P.CellPlan]) -> dict[str, dict[str, float]]:
    """Target and achieved token share per language."""
    total = sum(p.mix_tokens for p in plans) or 1
    out: dict[str, dict[str, float]] = {}
    for p in plans:
        s = out.setdefault(p.language, {"target": 0.0, "achieved": 0.0})
        s["target"] += p.target_share
        s["achieved"] += p.mix_tokens / total
    return {k: {m: round(v, 6) for m, v in s.items()} for k, s in out.items()}


def build_mix(recipe: MixRecipe, *, progress: bool = True, force_tag: bool = False) -> MixResult:
    """Build the mix ``recipe`` describes (``recipe.validate`` has run) and commit it once; returns its ids."""
    counter = TokenCounter(recipe.tokenizer)
    fingerprint = counter.fingerprint()
    sources = _sources(recipe)
    mix_id = mix_id_of(recipe, [s for s, _ in sources], fingerprint)
    catalog = open_catalog(recipe.catalog, recipe.data_root)
    table = open_mix_table(catalog, recipe.namespace)
    existing = run_snapshot(table, mix_id)
    ref = table.metadata.refs.get(recipe.name)
    if ref is not None and ref.snapshot_id != existing and not force_tag:
        raise ConfigError(
            f"name: tag {recipe.name!r} already names mix snapshot {ref.snapshot_id} (another recipe, seed or "
            "source); tags are release names: choose another name (or force)"
        )
    if existing is not None:
        tag_snapshot(table, existing, recipe.name, force=force_tag)
        snap = read_snapshot(existing, data_root=recipe.data_root, config=mix_config(recipe))
        return MixResult(mix_id, existing, recipe.name, True, snap.summary)

    cells = recipe.cells()
    counts, done = count_pass(recipe, sources, counter, cells, progress)
    repeats, keys, plans, total = draw(recipe, cells, counts)
    left_out = Counter({P.NOT_DRAWN: sum(p.docs_left_out for p in plans)})
    for reason, code in P.OUTSIDE.items():
        left_out[reason] = int((counts.cells == code).sum())
    mix_bytes = sum(p.mix_bytes for p in plans)
    buckets = max(1, -(-mix_bytes // recipe.shuffle_bucket_bytes))
    scratch = Path(recipe.data_root).resolve() / "mixes" / mix_id
    shutil.rmtree(scratch, ignore_errors=True)  # a killed build's leftovers: never committed, so safe to drop
    try:
        bucket_files = spill_pass(
            recipe, [(s, snap) for s, (_, snap) in zip(done, sources, strict=True)], counts, repeats, keys,
            mix_id, scratch, buckets, progress,
        )  # fmt: skip
        files = write_pass(bucket_files, run_data_dir(table.location(), mix_id))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    properties = {
        RUN_ID: mix_id,  # so "run:<mix id>" resolves and training's lineage names the mix as the run
        MIX_ID: mix_id,
        "dataflow.mix_name": recipe.name,
        "dataflow.mix_seed": str(recipe.seed),
        "dataflow.mix_recipe": recipe.to_json(),
        "dataflow.mix_sources": json.dumps([dataclasses.asdict(s) for s in done]),
        "dataflow.mix_tokenizer": str(Path(recipe.tokenizer).resolve()),
        "dataflow.mix_tokenizer_fingerprint": fingerprint,
        "dataflow.mix_target_tokens": str(total),
        "dataflow.mix_tokens": str(sum(p.mix_tokens for p in plans)),
        "dataflow.mix_shares": json.dumps(_shares(plans)),
        "dataflow.mix_cells": json.dumps([dataclasses.asdict(p) for p in plans]),
        "dataflow.mix_left_out": json.dumps(dict(sorted(left_out.items()))),
        "dataflow.docs_in": str(len(repeats)),
        "dataflow.docs_out": str(int(repeats.sum())),
        "dataflow.schema_version": CORPUS_SCHEMA_VERSION,
    }
    snap_id = _commit(table, files, properties)
    tag_snapshot(table.refresh(), snap_id, recipe.name, force=force_tag)
    snap = read_snapshot(snap_id, data_root=recipe.data_root, config=mix_config(recipe))
    return MixResult(mix_id, snap_id, recipe.name, False, snap.summary)


def read_mix(ref: str | int | None, *, data_root: str | Path = "data", config: SnapshotConfig | None = None):
    """Open a mix snapshot by tag, id or ``run:<mix id>`` (None = the latest mix), like any snapshot."""
    from schemas.mixes import MIX_NAMESPACE

    cfg = dataclasses.replace(config or SnapshotConfig(), namespace=MIX_NAMESPACE)
    snap = read_snapshot(ref, table=MIX_TABLE, data_root=data_root, config=cfg)
    if MIX_ID not in snap.summary:
        raise ValueError(f"snapshot {snap.snapshot_id} is not a mix (no {MIX_ID} in its summary)")
    return snap


__all__ = ["MixResult", "build_mix", "mix_config", "open_mix_table", "read_mix"]
