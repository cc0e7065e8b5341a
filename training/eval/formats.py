"""Readers for the two benchmark formats, into one `Question` record.

- KMMLU (Son et al. 2024, arXiv:2402.11548; HF ``HAERAE-HUB/KMMLU``): one CSV per subject and split,
  ``<Subject>-{dev,test}.csv`` with columns ``question,answer,A,B,C,D,Category,Human Accuracy``; ``answer`` is 1-4.
  Upstream, the math files list the last two columns the other way round (``...,Human Accuracy,Category``).
  Columns are read by name, and each row is checked: if ``Category`` holds a number and ``Human Accuracy`` a
  word, the two are swapped back.
- KorMedMCQA (Kweon et al. 2024, arXiv:2403.01469; HF ``sean0042/KorMedMCQA``): rows with ``subject, year,
  period, q_number, question, A..E, answer (1-5), cot, exam_type`` (doctor, nurse, pharm, dentist). The HF
  repository keeps one folder per exam type (``doctor/test-00000-of-00001.parquet``, ``dev-...``, ``train-...``);
  ``read_kormedmcqa_dir`` reads every file of a split in a directory tree (Parquet, CSV or JSONL), takes the
  exam type from the row or else from the folder, and drops repeated questions (older revisions also keep
  combined copies under ``data/``). The subject used for averages is the exam type.
Malformed rows (missing options, answer out of range) are skipped and counted, never raised.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

LETTERS = "ABCDE"


@dataclass(frozen=True)
class Question:
    subject: str
    question: str
    choices: tuple[str, ...]
    answer: int  # 0-based index into choices
    category: str = ""  # KMMLU's Category column (e.g. "Math"), KorMedMCQA's subject


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _question(subject: str, row: dict, n_choices: int) -> Question | None:
    choices = tuple((row.get(letter) or "").strip() for letter in LETTERS[:n_choices])
    try:
        answer = int(float(row.get("answer", ""))) - 1
    except ValueError:
        return None
    if not (row.get("question") or "").strip() or not all(choices) or not 0 <= answer < n_choices:
        return None
    category = (row.get("Category") or row.get("subject") or "").strip()
    return Question(subject, row["question"].strip(), choices, answer, category)


def read_kmmlu_csv(path: str | Path) -> tuple[list[Question], int]:
    """(questions, skipped rows) of one KMMLU CSV; the subject is the file name without -dev/-test."""
    path = Path(path)
    subject = path.stem.rsplit("-", 1)[0]
    out, skipped = [], 0
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if _is_number(row.get("Category", "")) and not _is_number(row.get("Human Accuracy", "0")):
                row["Category"], row["Human Accuracy"] = row["Human Accuracy"], row["Category"]  # math files
            q = _question(subject, row, 4)
            if q is None:
                skipped += 1
            else:
                out.append(q)
    return out, skipped


def read_kmmlu(directory: str | Path, split: str, subjects: list[str] | None = None) -> dict[str, list[Question]]:
    """{subject: questions} from ``<directory>/<split>/<Subject>-<split>.csv``."""
    out = {}
    for path in sorted(Path(directory, split).glob(f"*-{split}.csv")):
        subject = path.stem.rsplit("-", 1)[0]
        if subjects is None or subject in subjects:
            out[subject] = read_kmmlu_csv(path)[0]
    return out


KORMED_FORMATS = (".parquet", ".csv", ".jsonl", ".json")


def _rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if path.suffix in (".jsonl", ".json"):
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_kormedmcqa(path: str | Path, exam_type: str = "unknown") -> dict[str, list[Question]]:
    """{exam_type: questions} from one KorMedMCQA Parquet, CSV or JSONL file (`exam_type` where rows name none)."""
    out: dict[str, list[Question]] = {}
    for row in _rows(Path(path)):
        row = {k: (str(v) if v is not None else "") for k, v in row.items()}
        q = _question(row.get("exam_type") or exam_type, row, 5)
        if q is not None:
            out.setdefault(q.subject, []).append(q)
    return out


def read_kormedmcqa_dir(directory: str | Path, split: str) -> dict[str, list[Question]]:
    """{exam_type: questions} of one split from every matching file under `directory` (see module docstring)."""
    directory = Path(directory)
    paths = sorted(
        p for p in directory.rglob(f"*{split}*") if p.is_file() and p.suffix in KORMED_FORMATS and split in p.stem
    )
    if not paths:
        raise FileNotFoundError(f"{directory}: no KorMedMCQA {split} files (*{split}*.parquet, .csv or .jsonl)")
    out: dict[str, list[Question]] = {}
    seen: set[tuple] = set()
    for path in paths:
        folder = path.parent.name if path.parent != directory else "unknown"
        for subject, questions in read_kormedmcqa(path, folder).items():
            for q in questions:
                key = (q.subject, q.question, q.choices)
                if key not in seen:
                    seen.add(key)
                    out.setdefault(subject, []).append(q)
    return out
