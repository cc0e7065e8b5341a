"""The run's accounting: per-stage documents, bytes and characters in and out, mergeable across engines.

Rows of the ``stage_stats`` table come from here (``to_rows``) and go back into a ``Ledger``
(``from_rows``), so every engine carries one per partition and merges them at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from datatrove.data import Document

from dataflow.document import Meta
from schemas import KEPT, STAT_COUNTERS

StatKey = tuple[int, str, str, str, str, str]  # stage_index, stage, source_kind, language, outcome, reason


class Ledger:
    """Mergeable per-stage accounting of documents, bytes and characters in and out.

    Pure Python so that every engine can carry one per partition and merge them at the end
    (``merge``) or ship them as rows (``to_rows`` / ``from_rows``).
    """

    def __init__(self) -> None:
        self.cells: dict[StatKey, list[int]] = {}

    def record(
        self,
        stage_index: int,
        stage: str,
        doc: Document,
        before: tuple[int, int],
        after: tuple[int, int],
    ) -> None:
        meta = doc.metadata
        outcome = meta.get(Meta.OUTCOME, KEPT)
        reason = "" if outcome == KEPT else meta.get(Meta.REASON, "")
        kind, lang = meta.get(Meta.SOURCE_KIND, ""), meta.get(Meta.LANGUAGE, "") or ""
        self.count((stage_index, stage, kind, lang, outcome, reason), before, after)

    def count(self, key: StatKey, before: tuple[int, int], after: tuple[int, int]) -> None:
        """Count one document under ``key`` with its (bytes, chars) before and after the stage."""
        cell = self.cells.setdefault(key, [0] * 6)
        kept = key[4] == KEPT
        cell[0] += 1
        cell[1] += kept
        cell[2] += before[0]
        cell[3] += after[0] if kept else 0
        cell[4] += before[1]
        cell[5] += after[1] if kept else 0

    def merge(self, other: Ledger) -> Ledger:
        for key, values in other.cells.items():
            cell = self.cells.setdefault(key, [0] * 6)
            for i, v in enumerate(values):
                cell[i] += v
        return self

    def to_rows(self, run_id: str) -> list[dict[str, Any]]:
        """Rows of the ``stage_stats`` table, sorted by stage then key."""
        rows = []
        for (index, stage, kind, lang, outcome, reason), values in sorted(self.cells.items()):
            row = dict(run_id=run_id, stage_index=index, stage=stage, source_kind=kind, language=lang)
            row.update(outcome=outcome, reason=reason, **dict(zip(STAT_COUNTERS, values, strict=True)))
            rows.append(row)
        return rows

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]]) -> Ledger:
        ledger = cls()
        for r in rows:
            key = (int(r["stage_index"]), r["stage"], r["source_kind"], r["language"], r["outcome"], r["reason"])
            ledger.cells[key] = [int(r[c]) for c in STAT_COUNTERS]
        return ledger

    def dumps(self) -> str:
        return json.dumps(self.to_rows(""), ensure_ascii=False)

    @classmethod
    def loads(cls, text: str) -> Ledger:
        return cls.from_rows(json.loads(text))
