"""Token counts in the model's tokenizer: any Hugging Face tokenizer directory, loaded by path, offline.

Counting goes through the Rust tokenizer's ``encode_batch_fast`` on batches of documents: one call
per batch (not per document) and no character offsets, which transformers' ``tokenizer(text)``
always computes; the Rust side spreads a batch over its thread pool (``RAYON_NUM_THREADS`` caps it).
``bench/bench_mix.py`` measures it against the per-document transformers call.

Counts are of the text alone (``add_special_tokens=False``): what a document contributes to a
token budget. Training adds its own BOS/EOS per document (``training.data.tokenize_document``: +2).

The demo and the tests use a tokenizer the project trains itself (``train_tokenizer``): training's
tiny byte-level BPE (``training.tokenizer.build_byte_bpe``), fitted on the project's own sample texts
and saved as an ordinary tokenizer directory, so it is read back by the same path as a real one.

    python -m dataflow.mixes.tokens --data-root data/demo -o data/demo/tokenizer   # from the demo snapshot
    python -m dataflow.mixes.tokens --samples samples/demo -o /tmp/demo-tokenizer     # from the sample files
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

DEMO_VOCAB = 1024  # small enough to train in about a second on the demo corpus; merges Hangul syllables


class TokenCounter:
    """Counts tokens per document with the tokenizer in ``directory``."""

    def __init__(self, directory: str | Path) -> None:
        path = Path(directory)
        if not path.is_dir():
            raise FileNotFoundError(f"tokenizer directory not found: {path} (mix recipe key: tokenizer)")
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot load a tokenizer from {path}: {str(err).splitlines()[0]}") from None
        if not getattr(tok, "is_fast", False):
            raise ValueError(f"tokenizer in {path} has no fast (Rust) implementation; counting needs one")
        self.path = path
        self.tokenizer = tok
        self.backend = tok.backend_tokenizer

    def fingerprint(self) -> str:
        """The same fingerprint training writes into lineage.json (``tokenizer_fingerprint``)."""
        from training.tokenizer import tokenizer_fingerprint

        return tokenizer_fingerprint(self.tokenizer)

    def count(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens of each text (no special tokens), as int64, in one batched call."""
        if not texts:
            return np.zeros(0, dtype=np.int64)
        encodings = self.backend.encode_batch_fast(list(texts), add_special_tokens=False)
        return np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))


def sample_texts(directory: str | Path) -> list[str]:
    """The project's sample corpus as plain text: JSONL ``text`` fields, text files, HTML pages without tags.

    Rough on purpose (tags stripped by a regex, not trafilatura): a tokenizer needs the corpus's words,
    not clean documents, and this keeps the demo tokenizer independent of the pipeline.
    """
    texts = []
    for path in sorted(Path(directory).rglob("*")):
        if path.suffix == ".jsonl":
            texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line]
        elif path.suffix == ".txt":
            texts.append(path.read_text(encoding="utf-8"))
        elif path.suffix == ".html":
            page = path.read_bytes().decode("utf-8", errors="ignore")
            texts.append(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))
    return texts


def train_tokenizer(texts: Iterable[str], directory: str | Path, vocab_size: int = DEMO_VOCAB) -> Path:
    """Fit training's byte-level BPE on ``texts`` and save it as a tokenizer directory."""
    from training.tokenizer import build_byte_bpe

    out = Path(directory)
    build_byte_bpe(texts, vocab_size=vocab_size).save_pretrained(str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the demo tokenizer on a corpus snapshot's texts.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data-root", help="train on the texts of this corpus's documents snapshot")
    source.add_argument("--samples", help="train on the files of a sample directory (e.g. samples/demo)")
    parser.add_argument("--snapshot", default=None, help="with --data-root: tag, id or run:<id> (default: current)")
    parser.add_argument("--vocab", type=int, default=DEMO_VOCAB)
    parser.add_argument("-o", "--output", required=True, help="tokenizer directory to write")
    args = parser.parse_args(argv)
    if args.samples:
        texts, where = sample_texts(args.samples), args.samples
    else:
        from dataflow.snapshots import read_snapshot

        snap = read_snapshot(args.snapshot, data_root=args.data_root)
        texts, where = snap.to_arrow(columns=["text"]).column("text").to_pylist(), f"snapshot {snap.snapshot_id}"
    out = train_tokenizer(texts, args.output, args.vocab)
    print(f"tokenizer ({args.vocab} tokens) trained on {len(texts)} texts of {where}: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
