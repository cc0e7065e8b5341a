"""LLM-judge client throughput, verdict-cache hit rate on a rerun, and memory from 10k to 100k examples.

Run: ``flock /tmp/bench.lock .venv/bin/python bench/bench_judge.py`` (a few minutes on 2 cores).
Prints Markdown tables (BENCHMARKS.md, "Instruct judge").

The judge server is a separate process on 127.0.0.1: a minimal asyncio HTTP/1.1 keep-alive server
speaking the chat-completions protocol that answers every request after ``--latency-ms`` (50 ms by
default, a stand-in for a judge model's time per verdict), so the client alone decides the rate.

1. Throughput: verdicts/s at concurrency 1, 8, 32, 64 through ``Judge`` + ``judge_all`` (prompt
   building, escaping, the openai client, strict parsing), and the anchor: the bare ``openai``
   AsyncOpenAI client with a semaphore, same messages, same server, same run. The ideal at
   concurrency c is c / latency (20/s per stream at 50 ms); the target is >= 25x single-stream at 32.
2. Cache: ``run_instruct`` over the smallest size of synthetic examples, then again under a new run
   id: the hit rate and the judge requests of the rerun.
3. Memory: peak RSS of a whole ``run_instruct`` (read, rules, dedup, judge, write, commit) in a fresh
   process over 10k and 100k synthetic examples against a 0 ms server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VERDICT = {"scores": {"accuracy": 5, "grammar": 4, "informativeness": 4, "coherence": 5}, "rationale": "bench"}


def _reply(overall: float) -> bytes:
    content = json.dumps(VERDICT | {"overall": overall})
    body = json.dumps(
        {
            "id": "b",
            "object": "chat.completion",
            "created": 0,
            "model": "judge",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    return head + body


def serve(latency_s: float, port_q) -> None:
    replies = [_reply(x) for x in (5.0, 4.0, 2.0, 4.5)]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                if latency_s:
                    await asyncio.sleep(latency_s)
                writer.write(replies[(len(body) + n) % len(replies)])
                n += 1
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port_q.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def start_server(latency_ms: float) -> tuple[mp.Process, str]:
    q = mp.Queue()
    proc = mp.Process(target=serve, args=(latency_ms / 1000, q), daemon=True)
    proc.start()
    return proc, f"http://127.0.0.1:{q.get(timeout=30)}/v1"


_KO = "서울 부산 도서관 지하철 학교 학생 선생님 음식 김치 날씨 여행 역사 경제 과학 컴퓨터 프로그램"
_EN = "explain describe summarize library subway weather history science program student teacher"
_WORDS = _KO.split() + _EN.split()


def synthetic(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        q = " ".join(rng.choices(_WORDS, k=12))
        a = " ".join(rng.choices(_WORDS, k=40)) + "."
        out.append({"instruction": f"{i} {q}", "input": "", "output": a})
    return out


def _examples(n: int):
    from dataflow.instruct.example import Example

    return [
        Example(
            str(i),
            "b",
            "file:///b",
            "alpaca",
            [{"role": "user", "content": r["instruction"]}, {"role": "assistant", "content": r["output"]}],
            language="ko",
        )
        for i, r in enumerate(synthetic(n))
    ]


def ours(base_url: str, examples, concurrency: int) -> float:
    from dataflow.instruct.config import JudgeConfig
    from dataflow.instruct.judge import Judge, OpenAIBackend, judge_all
    from dataflow.instruct.rubric import get_rubric

    cfg = JudgeConfig(base_url=base_url, model="judge", concurrency=concurrency)
    backend = OpenAIBackend(cfg)
    judge = Judge(backend, get_rubric("quality-v1"), cfg)
    got = []

    async def go() -> float:
        t = time.perf_counter()
        await judge_all(examples, judge.judge, lambda ex, o: got.append(o.verdict is not None), concurrency)
        dt = time.perf_counter() - t
        await backend.aclose()
        return dt

    dt = asyncio.run(go())
    assert all(got) and len(got) == len(examples), "every verdict must parse"
    return len(examples) / dt


def anchor(base_url: str, examples, concurrency: int) -> float:
    """The bare openai client: one create() per example under a semaphore, nothing else."""
    import openai

    from dataflow.instruct.rubric import get_rubric, judge_messages

    rubric = get_rubric("quality-v1")
    messages = [judge_messages(ex, rubric) for ex in examples]

    async def go() -> float:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
        sem = asyncio.Semaphore(concurrency)

        async def one(m):
            async with sem:
                return await client.chat.completions.create(model="judge", messages=m, temperature=0.0, max_tokens=384)

        t = time.perf_counter()
        await asyncio.gather(*(one(m) for m in messages))
        dt = time.perf_counter() - t
        await client.close()
        return dt

    return len(examples) / asyncio.run(go())


def throughput(latency_ms: float) -> None:
    proc, url = start_server(latency_ms)
    try:
        per_stream = 1000 / latency_ms
        print(f"\n### Verdicts/s against a loopback server with {latency_ms:g} ms latency\n")
        print(
            "| concurrency | examples | ours (verdicts/s) | x single-stream | ideal c/latency "
            "| bare openai client | ours / bare |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        base = None
        for c, n in ((1, 60), (8, 400), (32, 1600), (64, 3200)):
            exs = _examples(n)
            ours(url, exs[: min(50, n)], c)  # warm up connections
            r_ours = max(ours(url, exs, c) for _ in range(2))
            r_anchor = max(anchor(url, exs, c) for _ in range(2))
            base = base or r_ours
            print(
                f"| {c} | {n} | {r_ours:.1f} | {r_ours / base:.1f}x | {c * per_stream:.0f} | {r_anchor:.1f} "
                f"| {r_ours / r_anchor:.2f} |"
            )
    finally:
        proc.terminate()


_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from dataflow.instruct import load_instruct_config, run_instruct
t = time.perf_counter()
r = run_instruct(load_instruct_config(sys.argv[1]))
print(json.dumps(dict(seconds=time.perf_counter() - t, examples=r.examples_in, hits=r.cache_hits,
                      calls=r.judge_calls, requests=r.judge_requests,
                      rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""


def _run_child(cfg_path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(root=str(ROOT)), str(cfg_path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _config(tmp: Path, url: str, n: int, run_id: str, concurrency: int = 64, dedup: bool = True) -> Path:
    import yaml

    data = tmp / f"in-{n}.jsonl"
    if not data.exists():
        data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in synthetic(n, seed=n)), "utf-8")
    cfg = {
        "inputs": [{"path": str(data), "source": "bench"}],
        "data_root": str(tmp / f"data-{n}-{dedup}"),
        "run_id": run_id,
        "rules": {"language_mismatch": False, "dedup_prompts": dedup},
        "judge": {"base_url": url, "model": "judge", "concurrency": concurrency},
    }
    path = tmp / f"{run_id}-{n}.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), "utf-8")
    return path


def cache_and_memory(sizes: list[int], dedup: bool = True) -> None:
    proc, url = start_server(0)
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            what = "rules + dedup on" if dedup else "rules on, prompt dedup off"
            print(f"\n### run_instruct end to end (0 ms server, concurrency 64, {what}, language ID off)\n")
            print("| examples | run | seconds | examples/s | judge requests | cache hits | hit rate | peak RSS MB |")
            print("|---:|---|---:|---:|---:|---:|---:|---:|")
            for n in sizes:
                for run in ("first", "rerun") if n == sizes[0] else ("first",):  # the rerun measures the cache
                    r = _run_child(_config(tmp, url, n, run, dedup=dedup))
                    judged = r["hits"] + r["calls"]
                    rate = f"{100 * r['hits'] / judged:.1f} %" if judged else "n/a"
                    print(
                        f"| {n} | {run} | {r['seconds']:.1f} | {n / r['seconds']:.0f} | {r['requests']} | {r['hits']} "
                        f"| {rate} | {r['rss_mb']:.0f} |"
                    )
    finally:
        proc.terminate()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--no-dedup", action="store_true", help="rules.dedup_prompts=false: what memory is left")
    args = ap.parse_args()
    if not args.skip_throughput:
        throughput(args.latency_ms)
    cache_and_memory(args.sizes, dedup=not args.no_dedup)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(python {sys.version.split()[0]}, this process peak RSS {rss:.0f} MB)")


if __name__ == "__main__":
    main()
