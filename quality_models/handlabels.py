"""The hand-labelled quality evaluation set: pointers into the test data and demo pages, labels, notes.

``quality_models/eval/handlabels.jsonl`` holds one record per document: ``pointer`` (where the
text is, never the text itself: third-party text is not copied into the repo), ``lang``,
``label`` (1 reference quality, 0 low quality, by the rubric in docs/quality_model_card.md), a
short ``note`` giving the reason, and ``sha1`` of the resolved text (of the file's bytes for pages
that are extracted, ``demo:`` and ``web_ko:``, whose text follows the extractor's version), so a
changed source is noticed instead of silently relabelled.

Pointer schemes (``resolve``): the unit pointers of ``quality_models.quality_data`` (``korquad:17``,
``nsmc:<review id>``, ``konlpy:<file>:<block>``, ``hate_dev:<row>``, ``hate_unlabeled:<line>``,
``wcxb:<page>:<block>``) and these, of text no training source uses:

    parallel:<file>:<line>     a line of the KO/EN parallel corpora (news-v1 tarball members, JHE files)
    kornli:<row>               KorNLI xnli.dev premise (sentence1) of a row
    korsts:<split>:<row>       KorSTS sentence1 of a row
    klue_sts:<index>           KLUE-STS dev sentence1
    kmmlu:<file stem>:<row>    a KMMLU dev question with its four options
    kullm:<lang>:<index>       a KULLM user-oriented instruction (ko or en)
    news_title:<line>          a news title of korean-hate-speech
    wcxb_page:<id>             a WCXB dev page's whole ground-truth main content
    demo:<path>                a samples/demo file, extracted as the pipeline would
    web_ko:<file>              a Korean page of web/korean_pages, extracted
"""

from __future__ import annotations

import csv
import hashlib
import json
import tarfile
from functools import lru_cache
from pathlib import Path

from quality_models import quality_data

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "quality_models" / "eval" / "handlabels.jsonl"
DEMO = ROOT / "samples" / "demo"


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def content_sha1(pointer: str, text: str, root: Path) -> str:
    """The checksum stored for a pointer: of the file's bytes for extracted pages, else of the text."""
    scheme, _, rest = pointer.partition(":")
    if scheme == "demo":
        return hashlib.sha1((DEMO / rest).read_bytes()).hexdigest()
    if scheme == "web_ko":
        return hashlib.sha1((root / "web/korean_pages" / rest).read_bytes()).hexdigest()
    return sha1(text)


def load_labels(path: Path = LABELS) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


@lru_cache(maxsize=4)
def _units(root: Path) -> dict[str, str]:
    return quality_data.all_units(root)


@lru_cache(maxsize=32)
def _parallel_lines(root: Path, name: str) -> list[str]:
    base = root / "korean_text" / "parallel_ko_en"
    if name.startswith("korean-english-park."):
        split = name.split(".")[1]
        with tarfile.open(base / "korean-english-news-v1" / f"korean-english-park.{split}.tar.gz") as tar:
            for m in tar.getmembers():
                if m.name.endswith(name):
                    return tar.extractfile(m).read().decode("utf-8").splitlines()
    return (base / "korean-english-jhe" / name).read_text(encoding="utf-8").splitlines()


@lru_cache(maxsize=8)
def _tsv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


@lru_cache(maxsize=8)
def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=4)
def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _extract(path: Path) -> str:
    from dataflow import extract

    return extract(path.read_bytes(), path.as_uri()).text or ""


def resolve(pointer: str, root: Path) -> str:
    """The text a pointer names (KeyError for an unknown scheme or a missing unit)."""
    scheme, _, rest = pointer.partition(":")
    if scheme == "parallel":
        name, line = rest.rsplit(":", 1)
        return _parallel_lines(root, name)[int(line)].strip()
    if scheme == "kornli":
        return _tsv(root / "korean_text/kornli_korsts/KorNLI/xnli.dev.ko.tsv")[int(rest)]["sentence1"].strip()
    if scheme == "korsts":
        split, row = rest.split(":")
        return _tsv(root / f"korean_text/kornli_korsts/KorSTS/sts-{split}.tsv")[int(row)]["sentence1"].strip()
    if scheme == "klue_sts":
        return _json(root / "dedup/klue_sts/klue-sts-v1.1_dev.json")[int(rest)]["sentence1"].strip()
    if scheme == "kmmlu":
        stem, row = rest.split(":")
        r = _csv(root / "kmmlu" / "dev" / f"{stem}.csv")[int(row)]
        return "\n".join([r["question"], *(f"{k}. {r[k]}" for k in "ABCD")])
    if scheme == "kullm":
        lang, idx = rest.split(":")
        suffix = "user_oriented_instructions_eval.ko.jsonl" if lang == "ko" else "user_oriented_instructions.en.jsonl"
        lines = (root / "instruct/kullm_user_oriented" / suffix).read_text(encoding="utf-8").splitlines()
        return json.loads(lines[int(idx)])["instruction"].strip()
    if scheme == "news_title":
        path = root / "korean_text/korean_hate_speech/news_title/dev.news_title.txt"
        return path.read_text(encoding="utf-8").splitlines()[int(rest)].strip()
    if scheme == "wcxb_page":
        data = _json(root / "web/wcxb_dev_subset/ground-truth" / f"{rest}.json")
        return (data["ground_truth"]["main_content"] or "").strip()
    if scheme == "demo":
        return _extract(DEMO / rest)
    if scheme == "web_ko":
        return _extract(root / "web/korean_pages" / rest)
    return _units(root)[pointer]


def resolved(root: Path, path: Path = LABELS) -> list[dict]:
    """The labelled records with their ``text`` filled in from the test data."""
    return [dict(rec, text=resolve(rec["pointer"], root)) for rec in load_labels(path)]


def excluded_units(path: Path = LABELS) -> set[str]:
    """Pointers that the training builder must skip (the hand-labelled units of training sources)."""
    return {rec["pointer"] for rec in load_labels(path)} if path.is_file() else set()
