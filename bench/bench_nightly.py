"""Nightly operation (issue 13): dedup of a batch against a published index, and a soak of nightly runs.

Run (under the shared lock, like every benchmark):

    flock /tmp/bench.lock .venv/bin/python bench/bench_nightly.py index            # ~2 min
    flock /tmp/bench.lock .venv/bin/python bench/bench_nightly.py soak --docs 10000 # 10 nights

``index``: 100k published documents, a nightly batch of 10k (8k new, 1k exact and 1k near copies of
published documents, 200 near copies inside the batch). Times, medians of 3, on keys already
computed (both sides get the same keys; computing them is the per-document pass):

* batch alone: ``plan_dedup`` over the 10k (``dedup.scope = run``);
* against the index: ``PublishedIndex`` built from the Arrow rows + ``plan_dedup(..., published=)``;
* anchor: datasketch ``MinHashLSH`` (the same 14 x 8 bands) holding the 100k published signatures,
  queried with the 10k: build + query (it answers "which published documents share a band",
  less than the plan does, so the ratio flatters the anchor);
* loading the index from the catalog (pyiceberg scan of ``dedup_index`` + ``from_arrow``).

Peak memory is tracemalloc's (numpy's buffers included) during each step.

``soak``: 10 consecutive nights through ``run_pipeline`` (local engine, 1 worker, quality filters off:
the documents are synthetic random Korean words). Night k drops a new file with ``--docs``
documents: 80 % new, 20 % carried over from earlier nights (half exact copies, half with two words
edited); every earlier night's file stays in the drop (skipped as unchanged). Each night runs in its
own process: wall time and peak RSS per night. Checks: every file of the drop has an inputs row in
every run, every run's accounting balances (the driver refuses to commit otherwise), no exact key
twice among the published documents, and every carried-over copy was dropped naming a published id.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import median_of  # noqa: E402  (bench/ is on sys.path when run as a script)

from dataflow.config import DedupConfig  # noqa: E402
from dataflow.dedup.exact import canonical, exact_hash  # noqa: E402
from dataflow.dedup.minhash import band_keys, dedup_keys, shingle_hashes, signature  # noqa: E402

SYLLABLES = (
    "가나다라마바사아자차카타파하고노도로모보소오조초코토포호구누두루무부수우주기니디리미비시이지치강남동산수문학교회"
)


def korean(rng: random.Random, words: int = 80) -> str:
    out = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(words)]
    return " ".join(w + ("다." if i % 8 == 7 else "") for i, w in enumerate(out))


def edit(rng: random.Random, text: str, n: int = 2) -> str:
    words = text.split()
    for _ in range(n):
        words[rng.randrange(len(words))] = "바뀐말"
    return " ".join(words)


def keys(text: str, cfg: DedupConfig) -> tuple[bytes, list[int], np.ndarray]:
    """Exact key, band keys and the signature (for datasketch), in one pass."""
    canon = canonical(text)
    sig = signature(shingle_hashes(canon, cfg.unit, cfg.ngram), cfg.num_perm, cfg.seed)
    return exact_hash(text, canon), band_keys(sig, cfg.bands, cfg.rows), sig


def peak(fn) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top


def bench_index(n_index: int, n_batch: int) -> None:
    import pyarrow as pa
    from datasketch import LeanMinHash, MinHashLSH

    from dataflow.dedup import plan_dedup
    from dataflow.dedup.index import PublishedIndex

    # the layout BENCHMARKS.md's "Nightly dedup" table was measured with (14 x 8, no signatures to verify);
    # the shipped default is 50 x 3 verified (its keys need signatures: BENCHMARKS "Verified near-dedup")
    cfg = DedupConfig(bands=14, rows=8, verify=0)
    rng = random.Random(13)
    t0 = time.perf_counter()
    pub_texts = [korean(rng) for _ in range(n_index)]
    n_copy = n_batch // 10
    batch_texts = [korean(rng) for _ in range(n_batch - 2 * n_copy - 200)]
    batch_texts += [edit(rng, batch_texts[i]) for i in range(200)]  # near copies inside the batch
    sources = rng.sample(range(n_index), 2 * n_copy)
    batch_texts += [pub_texts[i] for i in sources[:n_copy]]  # exact copies of published documents
    batch_texts += [edit(rng, pub_texts[i], 3) for i in sources[n_copy:]]  # near copies of published ones
    pub = [keys(t, cfg) for t in pub_texts]
    batch = [keys(t, cfg) for t in batch_texts]
    check = dedup_keys(batch_texts[0], cfg)
    assert (check.exact, list(check.bands)) == (batch[0][0], batch[0][1]), "keys differ from dedup_keys"
    print(f"(keys for {n_index + n_batch:,} documents: {time.perf_counter() - t0:.1f} s)")

    pub_ids = [f"p{i:07d}" for i in range(n_index)]
    batch_ids = [f"b{i:07d}" for i in range(n_batch)]
    rows = [(batch_ids[i], e, b, len(batch_texts[i])) for i, (e, b, _) in enumerate(batch)]
    table = pa.table(
        {
            "id": pub_ids,
            "exact": [e for e, _, _ in pub],
            "bands": pa.array([b for _, b, _ in pub], pa.list_(pa.int64())),
            "n_chars": [len(t) for t in pub_texts],
            "run_id": ["r"] * n_index,
        }
    )
    snaps = [1] * n_index

    def alone():
        return plan_dedup(rows, cfg)

    def against():
        return plan_dedup(rows, cfg, published=PublishedIndex.from_arrow(table, snaps, cfg.bands))

    def anchor():
        lsh = MinHashLSH(num_perm=cfg.num_perm, params=(cfg.bands, cfg.rows))
        with lsh.insertion_session() as session:
            for pid, (_, _, sig) in zip(pub_ids, pub, strict=True):
                session.insert(pid, LeanMinHash(seed=cfg.seed, hashvalues=sig, scheme="affine32"))
        return [lsh.query(LeanMinHash(seed=cfg.seed, hashvalues=sig, scheme="affine32")) for _, _, sig in batch]

    t_alone, plan_a = median_of(alone)
    t_build, _ = median_of(lambda: PublishedIndex.from_arrow(table, snaps, cfg.bands))
    t_with, plan_b = median_of(against)
    t_anchor, hits = median_of(anchor, repeats=1)
    m_alone, m_with, m_anchor = peak(alone), peak(against), peak(anchor)
    band_bytes = n_index * cfg.bands * 8

    exact_src = {batch_ids[n_batch - 2 * n_copy + k]: pub_ids[sources[k]] for k in range(n_copy)}
    near_src = {batch_ids[n_batch - n_copy + k]: pub_ids[sources[n_copy + k]] for k in range(n_copy)}
    exact_ok = sum(plan_b.drops.get(b) == ("exact_duplicate", p) for b, p in exact_src.items())
    near_ok = sum(plan_b.drops.get(b, ("", ""))[1] == p for b, p in near_src.items())
    n_new = n_batch - 2 * n_copy - 200  # the first 200 of them have a near copy right after them
    new_dropped = sum(1 for b in batch_ids[200:n_new] if b in plan_b.drops)
    pairs = zip(batch_ids[:200], batch_ids[n_new : n_new + 200], strict=True)
    inner = sum(plan_a.drops.get(a, ("", ""))[1] == b or plan_a.drops.get(b, ("", ""))[1] == a for a, b in pairs)
    anchor_near = sum(near_src[batch_ids[n_batch - n_copy + k]] in hits[n_batch - n_copy + k] for k in range(n_copy))

    print(f"\n| {n_batch:,}-document batch, {n_index:,}-document index | time (s) | x batch alone | peak memory (MB) |")
    print("|---|---|---|---|")
    print(f"| batch alone (`plan_dedup`, scope run) | {t_alone:.2f} | 1.00 | {m_alone / 1e6:.1f} |")
    print(
        f"| against the index (`PublishedIndex.from_arrow` + `plan_dedup(published=)`) | {t_with:.2f} | "
        f"{t_with / t_alone:.2f} | {m_with / 1e6:.1f} |"
    )
    print(f"| of which building the index from Arrow rows | {t_build:.2f} | {t_build / t_alone:.2f} | |")
    print(
        f"| anchor: datasketch MinHashLSH, insert {n_index:,} + query {n_batch:,} | {t_anchor:.2f} | "
        f"{t_anchor / t_alone:.2f} | {m_anchor / 1e6:.1f} |"
    )
    print(
        f"\nindex band keys alone: {band_bytes / 1e6:.1f} MB; extra peak memory with the index: "
        f"{(m_with - m_alone) / 1e6:.1f} MB ({(m_with - m_alone) / band_bytes:.2f}x the band keys); "
        f"ours vs datasketch: {t_with / t_anchor:.2f}x the time, {m_with / m_anchor:.2f}x the memory"
    )
    print(
        f"exact copies of published documents dropped naming their source: {exact_ok}/{n_copy}; near copies: "
        f"{near_ok}/{n_copy} (datasketch finds the source for {anchor_near}); new documents dropped: {new_dropped}; "
        f"in-batch near pairs with one copy dropped naming the other: {inner}/200"
    )
    bench_catalog_load(table, cfg.layout)


def bench_catalog_load(table, layout: str) -> None:
    """The index as a run loads it: scan of the dedup_index table + ``from_arrow``. The table gets the two
    columns the schema has had since issue 15 (no signatures at 14 x 8 unverified; ``layout`` per row)."""
    import pyarrow as pa

    from dataflow.config import SnapshotConfig
    from dataflow.dedup.index import PublishedIndex
    from dataflow.snapshots import commit_tables
    from dataflow.snapshots.catalog import open_catalog, open_table
    from dataflow.snapshots.incremental import published_index

    with tempfile.TemporaryDirectory() as tmp:
        docs = [
            dict(
                id=i,
                text="x",
                source_kind="web",
                source_uri="",
                url=None,
                language="ko",
                language_score=1.0,
                quality_signals={},
                quality_score=None,
                pii_counts={},
                dedup_cluster=None,
                n_bytes=1,
                n_chars=1,
                metadata="{}",
                run_id="r",
            )
            for i in table.column("id").to_pylist()[:10]
        ]
        table = table.append_column("signature", pa.nulls(len(table), pa.binary()))
        table = table.append_column("layout", pa.array([layout] * len(table), pa.string()))
        commit_tables({"dedup_index": table, "documents": docs}, "r", data_root=tmp)
        catalog = open_catalog(SnapshotConfig(), tmp)
        idx, documents = open_table(catalog, "corpus", "dedup_index"), open_table(catalog, "corpus", "documents")

        def load():
            rows, snaps = published_index(idx, documents, {"r"})
            return PublishedIndex.from_arrow(rows, snaps, 14)

        t_load, index = median_of(load)
        print(f"loading the {len(index):,}-document index from the catalog (scan + from_arrow): {t_load:.2f} s")


def _night_script(drop: Path, data: Path) -> str:
    settings = {"engine.workers": 1, "quality.english": False, "quality.korean": False}
    return (
        "import json, time\n"
        "from dataflow.config import load_config\nfrom dataflow.run import run_pipeline\n"
        f"cfg = load_config(None, {{'read.inputs': [{str(drop)!r}], 'data_root': {str(data)!r}, "
        f"'langid.model_path': {str(ROOT / 'models' / 'lid.176.ftz')!r}, **{settings!r}}})\n"
        "t0 = time.perf_counter(); r = run_pipeline(cfg)\n"
        "a = r.report.accounting\n"
        "print('RESULT', json.dumps(dict(run=r.run_id, seconds=time.perf_counter() - t0, inputs=a.inputs, "
        "kept=a.kept, dropped=a.dropped, failed=a.failed, balanced=a.balanced, "
        "unchanged=r.report.run.get('inputs_unchanged'))))\n"
    )


def bench_soak(nights: int, docs: int) -> None:
    from dataflow.snapshots import read_snapshot

    rng = random.Random(7)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    drop, data = work / "drop", work / "data"
    drop.mkdir()
    published: list[str] = []  # texts of earlier nights (the candidates to carry over)
    carried: list[tuple[str, str]] = []  # (text of the copy, text it copies)
    print("| night | files in drop | docs read | kept | dropped | unchanged files | time (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for night in range(nights):
        n_old = docs // 5 if published else 0
        texts = [korean(rng) for _ in range(docs - n_old)]
        for k, src in enumerate(rng.sample(published, n_old)):
            copy = src if k % 2 == 0 else edit(rng, src)
            carried.append((copy, src))
            texts.append(copy)
        rng.shuffle(texts)
        with open(drop / f"night-{night:02d}.jsonl", "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        proc = subprocess.Popen(
            [sys.executable, "-c", _night_script(drop, data)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        out = proc.stdout.read().decode()
        _, status, usage = os.wait4(proc.pid, 0)
        assert status == 0, out[-2000:]
        r = json.loads(out.split("RESULT ", 1)[1])
        r["rss_mb"] = usage.ru_maxrss / 1024
        results.append(r)
        copies_now = {c for c, _ in carried}
        published += [t for t in texts if t not in copies_now]
        print(
            f"| {night + 1} | {night + 1} | {r['inputs']:,} | {r['kept']:,} | {r['dropped']:,} | {r['unchanged']} | "
            f"{r['seconds']:.1f} | {r['rss_mb']:.0f} |"
        )

    documents = read_snapshot(data_root=data).to_arrow(columns=["id", "text"])
    texts = documents.column("text").to_pylist()
    exact = [exact_hash(t) for t in texts]
    inputs = read_snapshot(table="inputs", data_root=data).to_arrow(columns=["run_id", "uri", "status"]).to_pylist()
    rejects = read_snapshot(table="rejects", data_root=data).to_arrow(columns=["reason", "excerpt", "duplicate_of"])
    per_run = {}
    for row in inputs:
        per_run.setdefault(row["run_id"], []).append(row)
    rows_ok = all(len(per_run[r["run"]]) == night + 1 for night, r in enumerate(results))
    edited = {c for c, src in carried if c != src}  # exact copies share their source's text
    kept_copies = sum(t in edited for t in texts)  # near copies LSH missed: published twice, in two versions
    dup_published = sum(1 for d in rejects.column("duplicate_of").to_pylist() if d)
    print(
        f"\n{len(texts):,} published documents, {len(set(documents.column('id').to_pylist())):,} distinct ids, "
        f"{len(set(exact)):,} distinct exact keys (exact copies published twice: {len(texts) - len(set(exact))}); "
        f"edited copies ({len(edited):,} of {len(carried):,} carried over) published as new: {kept_copies}; "
        f"dedup rejects naming a kept document: {dup_published:,}; "
        f"every run has an inputs row per file in the drop: {rows_ok}; all runs balanced: "
        f"{all(r['balanced'] for r in results)}"
    )
    secs = [r["seconds"] for r in results]
    rss = [r["rss_mb"] for r in results]
    print(
        f"time per night: first {secs[0]:.1f} s, last {secs[-1]:.1f} s, median {statistics.median(secs):.1f} s; "
        f"peak RSS: first {rss[0]:.0f} MB, last {rss[-1]:.0f} MB"
    )
    print(f"(work directory {work}; self RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["index", "soak"])
    parser.add_argument("--index-docs", type=int, default=100_000)
    parser.add_argument("--batch-docs", type=int, default=10_000)
    parser.add_argument("--nights", type=int, default=10)
    parser.add_argument("--docs", type=int, default=10_000, help="documents per night (soak)")
    args = parser.parse_args()
    if args.part == "index":
        bench_index(args.index_docs, args.batch_docs)
    else:
        bench_soak(args.nights, args.docs)


if __name__ == "__main__":
    main()
