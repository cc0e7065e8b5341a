"""Throughput of the text stages (normalize, boilerplate, langid, quality) on real Korean and English text.

Run: ``.venv/bin/python bench/bench_text_stages.py`` (prints a Markdown table; 1-3 minutes on 2 cores);
``--english`` runs only the English filters against datatrove's stock ones (below).

Corpora (../shared/testdata): the 140 KorQuAD v1 dev articles (Korean Wikipedia, paragraphs joined by
newlines) and the 181 ScrapingHub ground-truth article bodies (English news and blogs). Each stage runs
alone, in pipeline order, on the documents the previous stage kept, on one core in one process, after a
warm-up document has loaded its model (fastText, Kiwi, spaCy); best of three runs. MB are UTF-8 input bytes.

Baselines, same documents, same process:
* language ID: datatrove's ``LanguageFilter`` on the same lid.176 file (pointed at the local
  file, so nothing is downloaded);
* Korean quality: FineWeb-2's three filters as its ``fineweb-2-pipeline.py`` builds them (``language=
  "kor_Hang"`` resolved to datatrove's ``KiwiTokenizer``, here with ``model_type="cong"``), run in sequence.

English filters (``--english``): the four English stages against the same chain of datatrove's stock
filters (``GopherQualityFilter``, ``GopherRepetitionFilter``, ``C4QualityFilter`` and
``FineWebQualityFilter`` with their spaCy words, same settings) on the 589 English main texts of
ScrapingHub and WCXB (ground truth), CPU seconds (``time.process_time``) per stage on the documents
the previous stage kept. Ours is timed on its first pass (its word cache starts empty, as in a fresh
worker) and at best of three; the decisions, reasons and texts of both chains are checked equal.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datatrove.data import Document  # noqa: E402
from datatrove.pipeline.filters import (  # noqa: E402
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    LanguageFilter,
)
from datatrove.utils.lid import FT176LID  # noqa: E402
from datatrove.utils.word_tokenizers import KiwiTokenizer  # noqa: E402

from dataflow.config import BoilerplateConfig, LangIdConfig, NormalizeConfig, QualityConfig  # noqa: E402
from dataflow.document import Meta  # noqa: E402
from dataflow.stages.base import Stage  # noqa: E402
from dataflow.stages.boilerplate import BoilerplateStage  # noqa: E402
from dataflow.stages.langid import LangIdStage  # noqa: E402
from dataflow.stages.normalize import NormalizeStage  # noqa: E402
from dataflow.stages.quality import LanguageFilterStage, english_stages, quality_stages  # noqa: E402
from dataflow.stages.quality_ko import korean_filters, run_filters  # noqa: E402

TESTDATA = ROOT.parent / "shared" / "testdata"
LID_MODEL = ROOT / "models" / "lid.176.ftz"
REPEATS = 3


class LocalFT176(FT176LID):
    MODEL_URL = str(LID_MODEL)  # datatrove copies a local path into its cache instead of downloading


def corpora() -> dict[str, list[str]]:
    with gzip.open(TESTDATA / "korean_text/korquad_v1/KorQuAD_v1.0_dev.json.gz") as f:
        korquad = ["\n".join(p["context"] for p in a["paragraphs"]) for a in json.load(f)["data"]]
    gt = json.loads((TESTDATA / "web/scrapinghub_article_extraction_benchmark/ground-truth.json").read_text())
    english = [v["articleBody"] for v in gt.values() if v["articleBody"].strip()]
    return {"ko: KorQuAD articles": korquad, "en: ScrapingHub articles": english}


def copy_docs(docs: list[Document]) -> list[Document]:
    return [Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in docs]


def best_time(fn: Callable[[list[Document]], list[Document]], docs: list[Document]) -> tuple[float, list[Document]]:
    best, out = float("inf"), []
    for _ in range(REPEATS):
        batch = copy_docs(docs)
        start = time.perf_counter()
        out = fn(batch)
        best = min(best, time.perf_counter() - start)
    return best, out


def run_stage(stage: Stage) -> Callable[[list[Document]], list[Document]]:
    return lambda docs: list(stage.run(docs))


def live(docs: list[Document]) -> list[Document]:
    return [d for d in docs if d.metadata.get(Meta.OUTCOME, "kept") == "kept"]


def datatrove_lid(docs: list[Document]) -> list[Document]:
    lf = DATATROVE_LID
    return [d for d in docs if lf.filter(d)]


def fineweb2_korean(docs: list[Document]) -> list[Document]:
    return [d for d in docs if run_filters(FINEWEB2_KO, d) is None]


DATATROVE_LID = LanguageFilter(languages=["ko", "en"])
DATATROVE_LID.model = LocalFT176(["ko", "en"])
FINEWEB2_KO = korean_filters(KiwiTokenizer(model_type="cong"))  # type: ignore[arg-type]


def row(corpus: str, name: str, docs_in: int, kept: int, seconds: float, mb: float) -> str:
    return f"| {corpus} | {name} | {docs_in} | {kept} | {docs_in / seconds:,.0f} | {mb / seconds:.2f} |"


def megabytes(docs: list[Document]) -> float:
    return sum(len(d.text.encode()) for d in docs) / 1e6


def english_texts() -> list[str]:
    web = TESTDATA / "web"
    truth = json.loads((web / "scrapinghub_article_extraction_benchmark/ground-truth.json").read_text())
    texts = [v["articleBody"] for v in truth.values()]
    for path in sorted((web / "wcxb_dev_subset/ground-truth").glob("*.json")):
        texts.append(json.loads(path.read_text())["ground_truth"]["main_content"])
    return [t for t in texts if t.strip()]


# datatrove's stock filters with the settings of our stages of the same names
STOCK_ENGLISH = {
    "gopher_en": GopherQualityFilter,
    "gopher_rep_en": GopherRepetitionFilter,
    "c4_en": lambda: C4QualityFilter(filter_no_terminal_punct=False),
    "fineweb_en": FineWebQualityFilter,
}


def chain_cpu(stages: list[Stage], texts: list[str]) -> tuple[dict[str, float], dict[str, int], list[tuple]]:
    """CPU seconds and documents in per stage, each stage on what the previous one kept; (reason, text) per doc."""
    docs = [Document(text=t, id=str(i), metadata={Meta.LANGUAGE: "en"}) for i, t in enumerate(texts)]
    seconds, docs_in = {}, {}
    for stage in stages:
        docs_in[stage.name] = len(live(docs))
        start = time.process_time()
        docs = list(stage.run(docs))
        seconds[stage.name] = time.process_time() - start
    return seconds, docs_in, [(d.metadata.get(Meta.REASON), d.text) for d in docs]


def english_filters() -> None:
    texts = english_texts()
    ours = english_stages()
    stock = [LanguageFilterStage(s.name, STOCK_ENGLISH[s.name](), "en", s.single_spaced) for s in ours]
    warm = ["This is an English sentence about the weather. " * 30]
    chain_cpu(stock, warm)  # load spaCy (both) outside the timings; ours keeps the 8 chunks of the warm-up text
    chain_cpu(ours, warm)
    first, docs_in, ours_out = chain_cpu(ours, texts)
    runs = [first] + [chain_cpu(ours, texts)[0] for _ in range(REPEATS - 1)]
    stock_runs = [chain_cpu(stock, texts) for _ in range(REPEATS)]
    assert all(out == ours_out for _, _, out in stock_runs), "decisions, reasons or texts differ"
    mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"{len(texts)} English texts, {mb:.2f} MB; decisions, reasons and rewritten texts identical\n")
    print(
        "| stage | docs in | datatrove CPU s | ours CPU s, first pass | ours CPU s, best of 3 | ratio (first; best) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name in [*docs_in, "all four"]:

        def cpu(run: dict[str, float], name: str = name) -> float:
            return sum(run.values()) if name == "all four" else run[name]

        theirs = min(cpu(r) for r, _, _ in stock_runs)
        cold, best = cpu(first), min(cpu(r) for r in runs)
        n = docs_in.get(name, len(texts))
        print(f"| {name} | {n} | {theirs:.2f} | {cold:.2f} | {best:.2f} | {theirs / cold:.1f}×; {theirs / best:.1f}× |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--english", action="store_true", help="only the English filters against datatrove's stock ones")
    if ap.parse_args().english:
        english_filters()
        return
    stages: list[Stage] = [
        NormalizeStage(NormalizeConfig()),
        BoilerplateStage(BoilerplateConfig()),
        LangIdStage(LangIdConfig(model_path=str(LID_MODEL))),
        *quality_stages(QualityConfig()),
    ]
    warm = [Document(text="한국어 문장입니다. " * 30, id="w", metadata={Meta.LANGUAGE: "ko"})]
    warm.append(Document(text="This is an English sentence. " * 30, id="e", metadata={Meta.LANGUAGE: "en"}))
    for stage in stages:  # load fastText, Kiwi and spaCy outside the timings
        list(stage.run(copy_docs(warm)))
    datatrove_lid(copy_docs(warm))
    fineweb2_korean(copy_docs(warm[:1]))

    print("| corpus | stage | docs in | kept | docs/s | MB/s |")
    print("|---|---|---|---|---|---|")
    for corpus, texts in corpora().items():
        docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
        inputs: dict[str, list[Document]] = {}
        total = 0.0
        for stage in stages:
            inputs[stage.name] = docs
            seconds, out = best_time(run_stage(stage), docs)
            total += seconds
            kept = live(out)
            print(row(corpus, stage.name, len(docs), len(kept), seconds, megabytes(docs)))
            docs = kept
        raw = [Document(text=t, id="") for t in texts]
        print(row(corpus, "**all text stages**", len(texts), len(docs), total, megabytes(raw)))
        baselines = [("baseline: datatrove LanguageFilter", datatrove_lid, inputs["langid"])]
        if corpus.startswith("ko"):
            baselines.append(("baseline: FineWeb-2 Korean filters", fineweb2_korean, inputs["quality_ko"]))
        for name, fn, docs in baselines:
            seconds, out = best_time(fn, docs)
            print(row(corpus, name, len(docs), len(out), seconds, megabytes(docs)))


if __name__ == "__main__":
    main()
