"""What an engine hands back to the run driver."""

from __future__ import annotations

from dataclasses import dataclass

from dataflow.ledger import Ledger


@dataclass
class EngineResult:
    files: dict[str, list[str]]  # table -> Parquet file URIs written for this run (documents, rejects)
    ledger: Ledger  # every stage's counters, dedup included
    manifests: list[dict]  # inputs-table rows (without run_id), one per input file
