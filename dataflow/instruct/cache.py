"""The verdict cache: a SQLite file keyed by rubric version, judge model and content hash.

Every verdict is written (and committed) the moment it arrives, so a run killed at any point
(SIGKILL included) keeps what it paid for, and its rerun asks the judge only for the examples
without a cached verdict. Only parsed verdicts are cached: a failure is retried by the next run.
WAL journal with ``synchronous=NORMAL``: a commit is not fsynced, but a killed process never
loses a committed row (only a power cut can lose the last ones).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from dataflow.instruct.verdict import Verdict


def cache_key(rubric_key: str, judge_model: str, content_hash: str) -> str:
    return hashlib.sha256(f"{rubric_key}\x1f{judge_model}\x1f{content_hash}".encode()).hexdigest()


class VerdictCache:
    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, verdict TEXT NOT NULL)")

    def get(self, key: str) -> Verdict | None:
        row = self.db.execute("SELECT verdict FROM verdicts WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        d = json.loads(row[0])
        return Verdict(d["scores"], float(d["overall"]), d["rationale"])

    def put(self, key: str, verdict: Verdict) -> None:
        self.db.execute("INSERT OR REPLACE INTO verdicts (key, verdict) VALUES (?, ?)", (key, verdict.to_json()))

    def __len__(self) -> int:
        return self.db.execute("SELECT count(*) FROM verdicts").fetchone()[0]

    def close(self) -> None:
        self.db.close()
