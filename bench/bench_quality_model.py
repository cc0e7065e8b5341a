"""Throughput of the quality model and its stage, and of language ID with the Korean-aware decision.

Run: ``flock /tmp/bench.lock .venv/bin/python bench/bench_quality_model.py [--model models/quality.bin]
[--compare OTHER.bin ...]`` (about a minute; needs ``make setup``'s models/quality.bin and
../shared/testdata). ``--compare`` adds the three quality rows for other models (each scored with
its own preparation only if it was trained with today's ``prepare``: the rates stand, the scores not).

Documents: the default training set's examples (``quality_models.quality_data``: Korean Wikipedia,
law, reviews, comments, English papers, patents, web pages), each repeated and cut to 2,048 UTF-8
bytes, 3,000 of them. One process, one thread (fastText's Python ``predict`` runs on the calling
thread), model loaded and warmed up first; each rate is the best of five runs in CPU time
(``time.process_time``: on the shared box wall time moves with other people's load, and all of it
runs on this one thread). Anchors, same documents, same run:
* quality model: fastText's own ``predict`` on a list of texts already prepared (``prepare``:
  statistics tokens, one line): the library alone; then with our preparation
  (``classifier.scores``); then the pipeline stage (``QualityModelStage.run`` over datatrove
  Documents: scoring, metadata, ledger);
* language ID: lid.176 alone (``predict_language``) and the Korean-aware decision (``identify``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datatrove.data import Document  # noqa: E402

from dataflow.config import LangIdConfig, QualityModelConfig  # noqa: E402
from dataflow.document import Meta  # noqa: E402
from dataflow.stages import langid  # noqa: E402
from dataflow.stages.quality_model import QualityModelStage, load_model  # noqa: E402
from quality_models import classifier, quality_data  # noqa: E402

DOC_BYTES, N_DOCS, RUNS = 2048, 3000, 5


def docs_2kb(testdata: Path) -> list[str]:
    out = []
    for e in quality_data.build_examples(testdata):
        text = e.text
        while len(text.encode()) < DOC_BYTES:
            text = text + "\n" + text
        out.append(text.encode()[:DOC_BYTES].decode("utf-8", errors="ignore"))
    step = max(1, len(out) // N_DOCS)
    return out[::step][:N_DOCS]


def best(fn, n: int) -> float:
    times = []
    for _ in range(RUNS):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return n / min(times)


def quality_rows(path: Path, texts: list[str], tag: str) -> list[tuple[str, float, float]]:
    """(what, docs/s, that model's fastText predict rate) for predict on prepared text, ``classifier.scores``
    and the stage, for one model."""
    model = load_model(str(path))
    prepared = [classifier.prepare(t) for t in texts]
    model.predict(prepared[:10], k=2)
    cfg = QualityModelConfig(enabled=True, model_path=str(path))

    def stage_run():
        stage = QualityModelStage(cfg)
        docs = [Document(text=t, id=str(i), metadata={Meta.LANGUAGE: "ko"}) for i, t in enumerate(texts)]
        for _ in stage.run(docs):
            pass

    anchor = best(lambda: model.predict(prepared, k=2), len(texts))
    return [
        (f"fastText predict (library, prepared text){tag}", anchor, anchor),
        (
            f"classifier.scores (prepare + predict){tag}",
            best(lambda: classifier.scores(model, texts), len(texts)),
            anchor,
        ),
        (f"QualityModelStage.run (pipeline stage){tag}", best(stage_run, len(texts)), anchor),
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "quality.bin")
    ap.add_argument("--compare", type=Path, nargs="*", default=[], help="more quality models to time")
    ap.add_argument("--lid", type=Path, default=ROOT / "models" / "lid.176.ftz")
    ap.add_argument("--testdata", type=Path, default=ROOT.parent / "shared" / "testdata")
    args = ap.parse_args()
    texts = docs_2kb(args.testdata)
    rows = []
    for path in [args.model, *args.compare]:
        rows += quality_rows(path, texts, "" if path == args.model else f" [{path.resolve().stem}]")
    lid_cfg = LangIdConfig(model_path=str(args.lid))
    langid.predict_language(texts[0], lid_cfg.model_path)
    anchor = rows[0][1]
    rows += [
        (
            "lid.176 alone (predict_language)",
            best(lambda: [langid.predict_language(t, lid_cfg.model_path) for t in texts], len(texts)),
            anchor,
        ),
        ("Korean-aware LID (identify)", best(lambda: [langid.identify(t, lid_cfg) for t in texts], len(texts)), anchor),
    ]
    head = f"{len(texts)} documents of {DOC_BYTES} bytes, one thread, best of {RUNS} in CPU time"
    print(f"{head}; model {args.model.resolve().name}")
    print("| what | docs/s | vs fastText predict (the same model's; LID: the default's) |\n|---|---|---|")
    for name, rate, base in rows:
        print(f"| {name} | {rate:,.0f} | {rate / base:.2f} |")
    print(f"\nLID: Korean-aware / lid.176 alone = {rows[-1][1] / rows[-2][1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
