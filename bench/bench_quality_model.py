"""Throughput of the quality model and its stage, and of language ID with the Korean-aware decision.

Run: ``flock /tmp/bench.lock .venv/bin/python bench/bench_quality_model.py [--model models/quality.bin]
[--compare OTHER.bin ...] [--held-out]`` (about a minute, one more per compared model; needs ``make setup``'s
models/quality.bin and ../shared/testdata). ``--compare`` adds the four quality rows for other
models; every model reads today's ``prepare`` output, so one trained on another preparation gives
valid rates but meaningless scores.

Documents: the default training set's examples (``quality_models.quality_data``: Korean Wikipedia,
law, reviews, comments, English papers, patents, web pages), each repeated and cut to 2,048 UTF-8
bytes, 3,000 of them; with ``--held-out``, only the source-disjoint evaluation's examples (1,808:
sources the model never trained on, so more unknown words, whose n-grams are hashed per document).
One process, one thread (fastText's Python ``predict`` runs on the calling thread), model loaded
and warmed up first; each rate is the best of seven rounds in CPU time
(``time.process_time``: on the shared box wall time moves with other people's load, and all of it
runs on this one thread), every round timing every row once (``interleaved``). Anchors, same
documents, same run:
* quality model: fastText's own ``predict`` on a list of texts already prepared (``prepare``:
  statistics tokens, one line): the library alone; the same model's word table
  (``quality_kernel``: fastText's two-label score collapsed to one margin per word, the scorer the
  stage uses) on the same prepared texts, with the largest score difference from fastText's; then
  ``classifier.scores`` on the raw texts (the table's ``text_scores``: ``prepare`` done in its kernel,
  the stage's scorer); then the pipeline stage (``QualityModelStage.run`` over datatrove Documents,
  built inside the timed call as a reader would hand them over: scoring, metadata, ledger, counters);
* language ID: lid.176 alone (``predict_language``) and the Korean-aware decision (``identify``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datatrove.data import Document  # noqa: E402

from dataflow.config import LangIdConfig, QualityModelConfig  # noqa: E402
from dataflow.document import Meta  # noqa: E402
from dataflow.stages import langid  # noqa: E402
from dataflow.stages.quality_model import HQ, QualityModelStage, load_model, word_table  # noqa: E402
from quality_models import classifier, quality_data  # noqa: E402

DOC_BYTES, N_DOCS, RUNS = 2048, 3000, 7
PREDICT = "fastText predict (library, prepared text)"
TABLE = "word table (quality_kernel, prepared text)"


def docs_2kb(testdata: Path, held_out: bool = False) -> list[str]:
    examples = quality_data.build_examples(testdata)
    if held_out:  # the source-disjoint evaluation's examples only: text the model never trained on
        examples = quality_data.split_examples(examples)[1]
    out = []
    for e in examples:
        text = e.text
        while len(text.encode()) < DOC_BYTES:
            text = text + "\n" + text
        out.append(text.encode()[:DOC_BYTES].decode("utf-8", errors="ignore"))
    step = max(1, len(out) // N_DOCS)
    return out[::step][:N_DOCS]


def interleaved(cases: list[tuple[str, Callable[[], object]]], n: int) -> dict[str, float]:
    """Documents per CPU second of each case, best of ``RUNS`` rounds; every round runs every case once,
    so a burst of load from others on the shared box hits all cases alike instead of one row."""
    best = dict.fromkeys((name for name, _ in cases), float("inf"))
    for _ in range(RUNS):
        for name, fn in cases:
            t = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - t)
    return {name: n / seconds for name, seconds in best.items()}


def quality_cases(path: Path, texts: list[str], tag: str) -> list[tuple[str, Callable[[], object]]]:
    """fastText predict on prepared text, ``classifier.scores`` and the stage, for one model (rows tagged)."""
    model = load_model(str(path))
    prepared = [classifier.prepare(t) for t in texts]
    table = word_table(model)
    labels, probs = model.predict(prepared, k=2)
    library = [dict(zip(lab, p, strict=True))[HQ] for lab, p in zip(labels, probs, strict=True)]
    gap = max(abs(a - b) for a, b in zip(table.scores(prepared), library, strict=True))
    print(f"{path.resolve().stem}: word table vs fastText predict, largest |P(hq) difference| {gap:.1e}")
    cfg = QualityModelConfig(enabled=True, model_path=str(path))

    def stage_run():
        stage = QualityModelStage(cfg)
        docs = [Document(text=t, id=str(i), metadata={Meta.LANGUAGE: "ko"}) for i, t in enumerate(texts)]
        for _ in stage.run(docs):
            pass

    return [
        (f"{PREDICT}{tag}", lambda: model.predict(prepared, k=2)),
        (f"{TABLE}{tag}", lambda: table.scores(prepared)),
        (f"classifier.scores (raw text, prepared in the kernel){tag}", lambda: classifier.scores(model, texts)),
        (f"QualityModelStage.run (pipeline stage){tag}", stage_run),
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "quality.bin")
    ap.add_argument("--compare", type=Path, nargs="*", default=[], help="more quality models to time")
    ap.add_argument("--lid", type=Path, default=ROOT / "models" / "lid.176.ftz")
    ap.add_argument("--testdata", type=Path, default=ROOT.parent / "shared" / "testdata")
    ap.add_argument(
        "--held-out", action="store_true", help="documents from the held-out sources only (more unknown words)"
    )
    args = ap.parse_args()
    texts = docs_2kb(args.testdata, args.held_out)
    tags = {path: "" if i == 0 else f" [{path.resolve().stem}]" for i, path in enumerate([args.model, *args.compare])}
    cases = [case for path, tag in tags.items() for case in quality_cases(path, texts, tag)]
    lid_cfg = LangIdConfig(model_path=str(args.lid))
    langid.predict_language(texts[0], lid_cfg.model_path)
    cases += [
        ("lid.176 alone (predict_language)", lambda: [langid.predict_language(t, lid_cfg.model_path) for t in texts]),
        ("Korean-aware LID (identify)", lambda: [langid.identify(t, lid_cfg) for t in texts]),
    ]
    rates = interleaved(cases, len(texts))
    head = f"{len(texts)} documents of {DOC_BYTES} bytes{' (held-out sources)' if args.held_out else ''}, one thread"
    head += f", best of {RUNS} rounds in CPU time"
    print(f"{head}; model {args.model.resolve().name}")
    print("| what | docs/s | vs fastText predict (the same model's; LID rows: the default model's) |")
    print("|---|---|---|")
    for name, rate in rates.items():
        tag = next((t for t in tags.values() if t and name.endswith(t)), "")
        print(f"| {name} | {rate:,.0f} | {rate / rates[PREDICT + tag]:.2f} |")
    for tag in tags.values():
        stage = rates[f"QualityModelStage.run (pipeline stage){tag}"]
        print(f"stage / word table{tag or ' (default)'} = {stage / rates[TABLE + tag]:.2f}")
    lid = rates["Korean-aware LID (identify)"] / rates["lid.176 alone (predict_language)"]
    print(f"\nLID: Korean-aware / lid.176 alone = {lid:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
