"""Read labelled text from JSONL or Parquet: the format users bring their own training data in.

Each record has a text field and a label field (names configurable). A label is 1/0, true/false,
a number (>= 0.5 is high quality) or one of the strings in ``POSITIVE``/``NEGATIVE``. A record
with no text or an unreadable label is skipped and counted, never a crash.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POSITIVE = {"1", "hq", "high", "good", "pos", "positive", "true", "yes", "keep"}
NEGATIVE = {"0", "lq", "low", "bad", "neg", "negative", "false", "no", "drop"}


@dataclass
class Labelled:
    texts: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)  # labels (0/1) or scores (floats), per the reader
    groups: list[str] = field(default_factory=list)  # optional source/group field, for a grouped split
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


def split(n: int, held_out: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train indices, held-out indices) of ``n`` records, seeded: a ``held_out`` share (at least one) held out."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    cut = max(1, int(n * held_out))
    return order[cut:], order[:cut]


def parse_label(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value >= 0.5)
    if isinstance(value, str):
        v = value.strip().lower().removeprefix("__label__")
        if v in POSITIVE:
            return 1
        if v in NEGATIVE:
            return 0
    return None


def parse_score(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _records(path: Path) -> Iterator[dict]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            yield from batch.to_pylist()
        return
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                yield {"__bad__": f"line {i}"}
                continue
            yield rec if isinstance(rec, dict) else {"__bad__": f"line {i}"}


def read(
    paths: list[Path],
    text_field: str | tuple[str, ...] = "text",
    label_field: str = "label",
    group_field: str = "",
    scores: bool = False,
) -> Labelled:
    """Texts and labels (``scores=False``) or scores (``scores=True``) from JSONL / Parquet files; a tuple
    ``text_field`` joins those fields' non-blank strings with a newline (prompt and completion)."""
    out = Labelled()
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"labelled data {path} does not exist")
        for rec in _records(path):
            if "__bad__" in rec:
                out.skip("bad_json")
                continue
            if isinstance(text_field, tuple):
                parts = [rec.get(f) for f in text_field]
                text = "\n".join(p for p in parts if isinstance(p, str) and p.strip())
            else:
                text = rec.get(text_field)
            if not isinstance(text, str) or not text.strip():
                out.skip("no_text")
                continue
            value = parse_score(rec.get(label_field)) if scores else parse_label(rec.get(label_field))
            if value is None:
                out.skip("bad_label")
                continue
            out.texts.append(text)
            out.values.append(value)
            out.groups.append(str(rec.get(group_field, "")) if group_field else "")
    if not out.texts:
        raise ValueError(f"no usable records in {', '.join(map(str, paths))} (fields {text_field!r}, {label_field!r})")
    return out
