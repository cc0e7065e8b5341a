"""A fastText supervised quality classifier: text preparation, training, scoring, saving by content hash.

fastText (Joulin et al. 2016, "Bag of Tricks for Efficient Text Classification") is what DCLM's
quality filter is (a bigram fastText classifier on ~400k documents, top 10% kept): linear over
averaged word and n-gram embeddings, it scores tens of thousands of documents per second on one
core, which a transformer head cannot at corpus scale. Character n-grams (``minn``..``maxn``)
let it see inside Korean eojeol, where one word carries its particles and endings.

The score of a document is P(label = 1), the probability of the ``__label__hq`` class. A saved
model is named by the sha256 of its bytes (``quality-<12 hex>.bin``, ``.ftz`` when quantized);
that name is the model version the pipeline records. Training runs on one thread with a fixed
seed, so the same data and parameters give the same bytes.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dataflow.stages.quality_model import HQ, predict_scores, prepare

LQ = "__label__lq"  # HQ, the positive label, and prepare() are the stage's: one definition for both


@dataclass(frozen=True)
class TrainParams:
    """fastText ``train_supervised`` settings (its defaults where not stated)."""

    # swept on the source-disjoint split with the balanced, shuffled training file (quality_data.balanced;
    # mean of 3 shuffle seeds, BENCHMARKS.md "Quality classifier"). At 1,500 examples per cell: lr 0.5 x 6
    # epochs 0.930, x 3 0.954, x 2 0.960; lr 0.2 x 5 0.960; lr 0.1 x 10 0.960 (too much training fits the
    # training sources' vocabulary). At 3,000 per cell (the default): lr 0.1 x 5 0.964, lr 0.2 x 3 0.963
    lr: float = 0.1
    epoch: int = 5
    # 8 and 16 gave the same AUC (0.960 / 0.961 at 1,500 per cell; 0.965 / 0.965 at 3,000), 32 no better (0.930
    # at lr 0.5 x 6, as 16: BENCHMARKS.md). fastText's predict ran dim 8 at 0.86x dim 16 (BENCHMARKS.md "Scoring
    # speed"): this fastText build unrolls row averaging (averageRowsFast) for dims 16, 32, 64, 256 and 512 only.
    # The stage's word table sums one margin per word: dim 8 ran 1.13x there, the stage the same (28.2k / 28.6k)
    dim: int = 16
    # DCLM's classifier uses word bigrams; here they gained nothing (0.932 with, 0.930 without at lr 0.5 x 6,
    # balanced) and cost one more vector per word
    wordNgrams: int = 1
    # character n-grams 2-3: Korean syllable bigrams/trigrams, English subwords; 2 alone scored 0.952
    # (1,500 per cell, lr 0.2 x 5: BENCHMARKS.md), 2-4 0.959 against 2-3's 0.954 at lr 0.5 x 3 while hashing
    # one more n-gram per character, none 0.906 (lr 0.5 x 6)
    minn: int = 2
    maxn: int = 3
    # hash buckets of the character n-grams: 50k and 200k gave the same AUC; the model is 16 MB instead
    # of 26 MB (fastText stores (words + buckets) x 16 float32 rows: (156k + 50k) x 64 B = 13 MB, then
    # the dictionary)
    bucket: int = 50_000
    minCount: int = 1
    loss: str = "softmax"
    seed: int = 0
    thread: int = 1  # one thread: deterministic output (fastText's Hogwild updates race with more)
    max_chars: int = 20_000  # text scored per document (the head of longer documents)
    # quantize (.ftz, a few MB, committable) only on request: product-quantized vectors score 3-7x slower
    # (BENCHMARKS.md), and models/ is rebuilt by `make setup` anyway
    quantize: bool = False
    cutoff: int = 50_000  # quantization keeps the 50k most important words and n-grams
    dsub: int = 2


def fit(path: str, params: TrainParams) -> Any:
    """fastText ``train_supervised`` on a prepared file; on a NaN loss (seen with lr 0.5 on small, very
    separable data) it retries at a quarter of the learning rate, twice at most."""
    import fasttext

    kw = {k: v for k, v in asdict(params).items() if k not in ("max_chars", "quantize", "cutoff", "dsub")}
    for attempt in range(3):
        try:
            return fasttext.train_supervised(input=path, verbose=0, **(kw | {"lr": params.lr / 4**attempt}))
        except RuntimeError as err:
            if "NaN" not in str(err) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def train_labelled(texts: list[str], labels: list[str], params: TrainParams) -> Any:
    """A fastText model trained on (text, fastText label) pairs (quantized when ``params.quantize``)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        with path.open("w", encoding="utf-8") as f:
            for text, label in zip(texts, labels, strict=True):
                f.write(f"{label} {prepare(text, params.max_chars)}\n")
        model = fit(str(path), params)
        if params.quantize:
            model.quantize(input=str(path), retrain=True, cutoff=params.cutoff, dsub=params.dsub, qnorm=True, thread=1)
    return model


def train(texts: list[str], labels: list[int], params: TrainParams = TrainParams()) -> Any:
    """A fastText model trained on (text, 0/1 label) pairs (quantized when ``params.quantize``)."""
    if len(set(labels)) < 2:
        raise ValueError("training data needs both labels (1 = high quality, 0 = low quality)")
    return train_labelled(texts, [HQ if label else LQ for label in labels], params)


def scores(model: Any, texts: list[str], max_chars: int = 20_000) -> list[float]:
    """P(high quality) per text (the stage's scorer, on a loaded model)."""
    return predict_scores(model, texts, max_chars)


def save(model: Any, out_dir: Path, prefix: str = "quality", quantized: bool = False) -> Path:
    """Write the model as ``<prefix>-<sha256[:12]>.bin`` (``.ftz`` when quantized); the name is its version."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ext = ".ftz" if quantized else ".bin"
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp) / f"model{ext}"
        model.save_model(str(tmp_path))
        data = tmp_path.read_bytes()
    path = out_dir / f"{prefix}-{hashlib.sha256(data).hexdigest()[:12]}{ext}"
    path.write_bytes(data)
    return path


def model_version(path: Path | str) -> str:
    """The version recorded for a model file: its name without the extension (content hash inside);
    a link such as ``models/quality.bin`` is resolved to the file it names."""
    return Path(path).resolve().stem


def load(path: Path | str) -> Any:
    from fasttext.FastText import _FastText  # fasttext.load_model only adds a deprecation warning

    return _FastText(str(path))
