"""Training mixes: token counting speed (per core, across cores) and building a mix from 1M documents.

Run (under the shared lock): ``flock /tmp/bench.lock .venv/bin/python bench/bench_mix.py``
(``--docs 200000`` for a quicker build; ``--skip-build`` / ``--skip-tokens`` for one half).

Token counting, on Korean text (KorQuAD v1 dev contexts from ../shared/testdata, 961 Wikipedia
paragraphs, repeated to ~4 MiB; and the English side of the parallel news corpus), with two
tokenizers the project trains itself with training's byte-level BPE: the 1,024-token demo tokenizer
(samples/demo) and a 32,000-token one fitted on the Korean text (closer to a real model's vocabulary).
Each method runs in a fresh process with ``RAYON_NUM_THREADS`` = 1 (per core) and 2:

* anchor: transformers' fast tokenizer called per document from Python, ``tok(text)`` (what
  training.data does; the issue's ~2.6 MiB/s per core on CJK);
* anchor batch: ``tok(list_of_1000)`` through transformers (offsets and Python objects per token);
* ours: ``TokenCounter.count`` = the Rust ``encode_batch_fast`` on 1,000 documents, lengths only.

Mix build: a synthetic corpus of N documents (KorQuAD sentences, 9 in 10 Korean, 1 in 10 English,
5 source kinds, 1-2 sentences: ~300 bytes each) committed as a corpus snapshot, then ``build_mix`` with a 9:1 recipe
and paper/patent/report shares, down-sampling, in a child process: wall time, documents per second,
and the child's peak RSS, at N/4 and N (flat memory: the text is streamed; what grows is ~40 bytes
of per-document arrays).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
sys.path.insert(0, str(ROOT))


def korean_paragraphs() -> list[str]:
    data = json.loads(gzip.decompress((TESTDATA / "korean_text/korquad_v1/KorQuAD_v1.0_dev.json.gz").read_bytes()))
    return sorted({p["context"] for d in data["data"] for p in d["paragraphs"]})


def english_lines() -> list[str]:
    import tarfile

    lines = []
    with tarfile.open(
        TESTDATA / "korean_text/parallel_ko_en/korean-english-news-v1/korean-english-park.dev.tar.gz"
    ) as t:
        for m in t.getmembers():
            if m.name.endswith(".en"):
                lines += t.extractfile(m).read().decode("utf-8").splitlines()
    return [" ".join(lines[i : i + 6]) for i in range(0, len(lines), 6)]  # 6 lines a document, as bench_dedup


def texts_of(lang: str, mib: float) -> list[str]:
    base = korean_paragraphs() if lang == "ko" else english_lines()
    out, size = [], 0
    while size < mib * 2**20:
        for t in base:
            out.append(t)
            size += len(t.encode())
    return out


def build_tokenizers(work: Path) -> dict[str, Path]:
    from dataflow.mixes.tokens import sample_texts, train_tokenizer

    return {
        "demo-1k": train_tokenizer(sample_texts(ROOT / "samples" / "demo"), work / "demo-1k", 1024),
        "ko-32k": train_tokenizer(korean_paragraphs() + english_lines(), work / "ko-32k", 32000),
    }


CHILD_TOKENS = """
import json, sys, time
from dataflow.mixes.tokens import TokenCounter
tok_dir, texts_file, method = sys.argv[1:4]
texts = json.load(open(texts_file))
c = TokenCounter(tok_dir)
tok = c.tokenizer
best = cpu = None
for _ in range(3):
    t0, c0 = time.perf_counter(), time.process_time(); n = 0
    if method == "anchor":
        for t in texts: n += len(tok(t)["input_ids"])
    elif method == "anchor_batch":
        for i in range(0, len(texts), 1000): n += sum(len(x) for x in tok(texts[i:i + 1000])["input_ids"])
    else:
        for i in range(0, len(texts), 1000): n += int(c.count(texts[i:i + 1000]).sum())
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    best, cpu = (dt, dc) if best is None or dt < best else (best, cpu)
print(json.dumps({"seconds": best, "cpu_seconds": cpu, "tokens": n}))
"""


def bench_tokens(work: Path) -> list[dict]:
    toks = build_tokenizers(work)
    rows = []
    for lang, mib in (("ko", 4), ("en", 2)):
        texts = texts_of(lang, mib)
        size = sum(len(t.encode()) for t in texts) / 2**20
        path = work / f"texts-{lang}.json"
        path.write_text(json.dumps(texts, ensure_ascii=False))
        for name, tok_dir in toks.items():
            for method in ("anchor", "anchor_batch", "ours"):
                for threads in (1, 2):
                    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="true")
                    out = subprocess.run([sys.executable, "-c", CHILD_TOKENS, str(tok_dir), str(path), method],
                                         env=env, capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    rows.append(dict(lang=lang, tokenizer=name, method=method, threads=threads, mib=size,
                                     seconds=r["seconds"], tokens=r["tokens"], mib_s=size / r["seconds"],
                                     mib_cpu_s=size / r["cpu_seconds"]))  # fmt: skip
                    print(json.dumps(rows[-1]), flush=True)
    return rows


def write_corpus(root: Path, n: int, seed: int = 0) -> None:
    """N synthetic documents as one committed corpus snapshot, written in chunks (flat memory)."""
    import pyarrow as pa

    from dataflow.config import SnapshotConfig
    from dataflow.snapshots import commit_run, open_catalog, open_table
    from dataflow.snapshots.files import PartWriter, run_data_dir
    from schemas import TABLES

    rng = random.Random(seed)
    ko = [s.strip() + "." for p in korean_paragraphs() for s in p.split(".") if len(s.strip()) > 20]
    en = [s.strip() + "." for p in english_lines() for s in p.split(".") if len(s.strip()) > 20]
    cfg = SnapshotConfig()
    catalog = open_catalog(cfg, root)
    files = {}
    for name in TABLES:
        writer = PartWriter(TABLES[name], run_data_dir(open_table(catalog, cfg.namespace, name).location(), "bench"))
        if name == "documents":
            for start in range(0, n, 50_000):
                rows = []
                for i in range(start, min(n, start + 50_000)):
                    lang = "en" if rng.random() < 0.1 else "ko"
                    pool = en if lang == "en" else ko
                    text = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 2)))
                    kind = rng.choice(["web"] * 7 + ["text", "paper", "patent", "report"])
                    rows.append(dict(id=f"{i:016x}", text=text, source_kind=kind, source_uri="file:///bench",
                                     url=None, language=lang, language_score=0.99, quality_signals={},
                                     quality_score=None, pii_counts={}, dedup_cluster=None,
                                     n_bytes=len(text.encode()), n_chars=len(text), metadata="{}",
                                     run_id="bench"))  # fmt: skip
                writer.write(pa.Table.from_pylist(rows, schema=TABLES[name]))
        files[name] = writer.close()
    commit_run(catalog, cfg.namespace, "bench", files, {}, tag="bench-corpus")


CHILD_BUILD = """
import json, resource, sys, time
from dataflow.mixes import build_mix, load_recipe
root, tok = sys.argv[1:3]
recipe = load_recipe(None, dict(name="bench-mix", tokenizer=tok, sources=["bench-corpus"], data_root=root,
    languages={"ko": {"share": 0.9, "sources": {"paper": 0.05, "patent": 0.05, "report": 0.05}}, "en": {"share": 0.1}}))
t0 = time.perf_counter()
result = build_mix(recipe, progress=False)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "rows": int(result.summary["dataflow.docs_out"]),
                  "docs": int(result.summary["dataflow.docs_in"]), "tokens": int(result.summary["dataflow.mix_tokens"]),
                  "shares": json.loads(result.summary["dataflow.mix_shares"]),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_build(work: Path, n: int) -> list[dict]:
    from dataflow.mixes.tokens import sample_texts, train_tokenizer

    tok = train_tokenizer(sample_texts(ROOT / "samples" / "demo"), work / "demo-tok", 1024)
    rows = []
    for docs in (n // 4, n):
        root = work / f"corpus-{docs}"
        t0 = time.perf_counter()
        write_corpus(root, docs)
        written = time.perf_counter() - t0
        env = dict(os.environ, RAYON_NUM_THREADS="2")
        out = subprocess.run([sys.executable, "-c", CHILD_BUILD, str(root), str(tok)], env=env, capture_output=True,
                             text=True, check=True, cwd=ROOT)  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r.update(corpus_docs=docs, corpus_write_s=written, docs_per_s=docs / r["seconds"])
        rows.append(r)
        print(json.dumps(r), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--skip-tokens", action="store_true")
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_mix_") as tmp:
        work = Path(tmp)
        if not args.skip_tokens:
            rows = bench_tokens(work)
            print("\n| text | tokenizer | method | threads | MiB/s wall | MiB per CPU-s | vs anchor (wall) |")
            print("|---|---|---|---|---|---|---|")
            for r in rows:
                anchor = next(a for a in rows if a["method"] == "anchor" and a["threads"] == r["threads"]
                              and a["lang"] == r["lang"] and a["tokenizer"] == r["tokenizer"])  # fmt: skip
                print(f"| {r['lang']} | {r['tokenizer']} | {r['method']} | {r['threads']} | {r['mib_s']:.2f} | "
                      f"{r['mib_cpu_s']:.2f} | "
                      f"{r['mib_s'] / anchor['mib_s']:.2f}x |")  # fmt: skip
        if not args.skip_build:
            rows = bench_build(work, args.docs)
            print("\n| documents | build s | docs/s | rows out | peak RSS MiB | ko share | en share |")
            print("|---|---|---|---|---|---|---|")
            for r in rows:
                print(f"| {r['corpus_docs']:,} | {r['seconds']:.1f} | {r['docs_per_s']:,.0f} | {r['rows']:,} | "
                      f"{r['peak_rss_mib']:.0f} | {r['shares']['ko']['achieved']:.4f} | "
                      f"{r['shares']['en']['achieved']:.4f} |")  # fmt: skip
    print(f"\n(bench parent peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
