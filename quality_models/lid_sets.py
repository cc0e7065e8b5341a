"""Language-ID evaluation sets read from the project's test data (never copied into the repo).

Each set is a name, the expected language and a list of texts. Korean and English parallel
news and JHE lines (jungyeul/korean-parallel-corpora), NSMC movie reviews, KorNLI premises,
hate-speech comments and news titles, the Constitution and National Assembly bills (konlpy),
KorQuAD paragraphs holding Hanja, lines of the Chinese and Japanese pages among ``web/`` and
documents of other languages there, and code-switched text built from the aligned KO/EN pairs.

Web pages are read from the ground truth their benchmarks ship (readability's expected HTML,
goose3's cleaned text), so extraction errors do not count against language ID.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

csv.field_size_limit(1 << 24)

LENGTH_BUCKETS = (0, 10, 20, 50, 100, 200)  # bucket lower bounds in characters; 3/4 of NSMC errors are < 10


@dataclass(frozen=True)
class EvalSet:
    name: str
    language: str  # expected label; "other" = any language but ko and en
    texts: list[str]


def length_bucket(n: int) -> str:
    lows = [b for b in LENGTH_BUCKETS if b <= n]
    i = LENGTH_BUCKETS.index(lows[-1])
    hi = LENGTH_BUCKETS[i + 1] if i + 1 < len(LENGTH_BUCKETS) else None
    return f"{lows[-1]}-{hi - 1}" if hi else f"{lows[-1]}+"


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _tar_lines(path: Path, suffix: str) -> list[str]:
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            if member.name.endswith(suffix):
                data = tar.extractfile(member).read().decode("utf-8")
                return [ln.strip() for ln in data.splitlines()]
    raise FileNotFoundError(f"{path} has no member ending in {suffix}")


def parallel_pairs(root: Path) -> list[tuple[str, str]]:
    """Aligned (Korean, English) lines: news dev+test and JHE dev+eval."""
    base = root / "korean_text" / "parallel_ko_en"
    pairs: list[tuple[str, str]] = []
    for split in ("dev", "test"):
        tar = base / "korean-english-news-v1" / f"korean-english-park.{split}.tar.gz"
        pairs += zip(_tar_lines(tar, ".ko"), _tar_lines(tar, ".en"), strict=True)
    for split in ("dev", "eval"):
        jhe = base / "korean-english-jhe"
        ko = (jhe / f"jhe-koen-{split}.ko").read_text(encoding="utf-8").splitlines()
        en = (jhe / f"jhe-koen-{split}.en").read_text(encoding="utf-8").splitlines()
        pairs += zip(ko, en, strict=True)
    return [(k.strip(), e.strip()) for k, e in pairs if k.strip() and e.strip()]


def nsmc_reviews(root: Path) -> list[str]:
    path = root / "korean_text" / "nsmc_style_sample.tsv"
    with path.open(encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [r["document"].strip() for r in rows if (r["document"] or "").strip()]


def kornli_premises(root: Path) -> list[str]:
    path = root / "korean_text" / "kornli_korsts" / "KorNLI" / "xnli.dev.ko.tsv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return sorted({r["sentence1"].strip() for r in rows if r["sentence1"].strip()})


def hate_speech(root: Path) -> list[str]:
    base = root / "korean_text" / "korean_hate_speech"
    with (base / "labeled" / "dev.tsv").open(encoding="utf-8") as f:
        labelled = [r["comments"].strip() for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    return labelled + _lines(base / "unlabeled_comments_5.first3000.txt")


def news_titles(root: Path) -> list[str]:
    return _lines(root / "korean_text" / "korean_hate_speech" / "news_title" / "dev.news_title.txt")


def konlpy_lines(root: Path) -> list[str]:
    base = root / "korean_text" / "konlpy_corpus"
    return [ln for p in sorted(base.glob("*/*.txt")) for ln in _lines(p)]


def korquad_paragraphs(root: Path) -> list[str]:
    data = json.loads(gzip.decompress((root / "korean_text" / "korquad_v1" / "KorQuAD_v1.0_dev.json.gz").read_bytes()))
    return [p["context"] for art in data["data"] for p in art["paragraphs"]]


_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")


def hanja_sentences(root: Path) -> list[str]:
    """Sentences of KorQuAD (Korean Wikipedia) mixing Hangul and Hanja, the case lid.176 calls Chinese.

    Sentences with no Hangul at all (quoted Classical Chinese) are left out: they are not Korean text."""
    out = []
    for para in korquad_paragraphs(root):
        out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", para) if _HAN.search(s) and _HANGUL.search(s)]
    return out


def _html_text(html: str) -> str:
    import lxml.html

    tree = lxml.html.fromstring(html)
    blocks = tree.xpath("//p|//li|//h1|//h2|//h3|//h4|//td|//div[not(.//p) and not(.//div)]")
    return "\n".join(b.text_content().strip() for b in blocks if b.text_content().strip())


# readability pages and goose3 tests by language (expected-metadata lang, meta_lang, or read by hand)
READABILITY = {
    "zh": ["qq", "gmw", "pixnet"],
    "ja": ["hukumusume"],
    "other": ["heise", "lemonde-1", "liberation-1", "aktualne", "folha", "la-nacion"],
}
GOOSE = {"zh": ["test_bbc_chinese"], "other": ["test_cnn_arabic", "test_elpais", "test_issue4", "test_wiwo"]}
MIN_LINE_CHARS = 5  # shorter CJK lines are mostly menu words and dates


def web_lines(root: Path, language: str) -> list[str]:
    """Lines of the ground-truth main text of the web pages in ``language``."""
    out: list[str] = []
    for name in READABILITY.get(language, []):
        html = (root / "web" / "readability_test_pages_subset" / name / "expected.html").read_text(encoding="utf-8")
        out += [ln.strip() for ln in _html_text(html).splitlines() if len(ln.strip()) >= MIN_LINE_CHARS]
    for name in GOOSE.get(language, []):
        text = json.loads((root / "web" / "goose3_content_tests" / f"{name}.json").read_text())["expected"]
        out += [ln.strip() for ln in text["cleaned_text"].splitlines() if len(ln.strip()) >= MIN_LINE_CHARS]
    return out


def web_documents(root: Path, language: str) -> list[str]:
    """Whole ground-truth texts (one per page) in ``language``."""
    docs = []
    for name in READABILITY.get(language, []):
        html = (root / "web" / "readability_test_pages_subset" / name / "expected.html").read_text(encoding="utf-8")
        docs.append(_html_text(html))
    for name in GOOSE.get(language, []):
        docs.append(
            json.loads((root / "web" / "goose3_content_tests" / f"{name}.json").read_text())["expected"]["cleaned_text"]
        )
    return docs


def code_switched(pairs: list[tuple[str, str]], seed: int = 0) -> tuple[list[str], list[str]]:
    """Korean lines with English words spliced in, and English lines with a Korean phrase.

    Korean-major: a Korean line plus up to 3 words of its English translation inserted at a word
    boundary (the "deep learning 기반의" pattern of Korean tech and news writing); expected ko.
    English-major: an English line plus the first Korean word(s) of its translation, at most a
    quarter of its length; expected en.
    """
    rng = random.Random(seed)
    ko_major, en_major = [], []
    for ko, en in pairs:
        kw, ew = ko.split(), en.split()
        if len(kw) >= 4 and len(ew) >= 3:
            i, j = rng.randrange(1, len(kw)), rng.randrange(0, len(ew) - 2)
            ko_major.append(" ".join(kw[:i] + ew[j : j + rng.randint(1, 3)] + kw[i:]))
        if len(ew) >= 6 and kw:
            phrase = " ".join(kw[: max(1, len(kw) // 6)])
            if len(phrase) * 4 <= len(en):
                i = rng.randrange(1, len(ew))
                en_major.append(" ".join(ew[:i] + [phrase] + ew[i:]))
    return ko_major, en_major


def load_sets(root: Path) -> list[EvalSet]:
    """Every evaluation set, in report order."""
    pairs = parallel_pairs(root)
    ko_major, en_major = code_switched(pairs)
    return [
        EvalSet("parallel_ko", "ko", [k for k, _ in pairs]),
        EvalSet("parallel_en", "en", [e for _, e in pairs]),
        EvalSet("nsmc", "ko", nsmc_reviews(root)),
        EvalSet("kornli", "ko", kornli_premises(root)),
        EvalSet("hate_speech_comments", "ko", hate_speech(root)),
        EvalSet("news_titles", "ko", news_titles(root)),
        EvalSet("konlpy_law_bills", "ko", konlpy_lines(root)),
        EvalSet("korquad_hanja", "ko", hanja_sentences(root)),
        EvalSet("code_switched_ko", "ko", ko_major),
        EvalSet("code_switched_en", "en", en_major),
        EvalSet("web_zh_lines", "zh", web_lines(root, "zh")),
        EvalSet("web_ja_lines", "ja", web_lines(root, "ja")),
        EvalSet("web_other_docs", "other", web_documents(root, "other")),
    ]
