"""Progress of the per-document phase across worker processes, as one bar in the driver.

datatrove's local executor runs tasks in separate processes, so each task counts into a small JSON
file (``TaskProgress``: files and records done, rewritten atomically at most every
``FLUSH_SECONDS`` and at each file's end) and the driver polls the folder into one tqdm bar
(``ProgressBar``: files done of the run's total, records, rate and ETA), the same look as the dedup
bar. tqdm's ``disable=None`` keeps it quiet when stderr is not a terminal (CI logs, cron).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from tqdm import tqdm

FLUSH_SECONDS = 0.5  # a counter file rewrite is one small write; twice a second is invisible next to extraction
POLL_SECONDS = 0.5


class TaskProgress:
    """One task's counters, written to ``<directory>/<rank>.json``."""

    def __init__(self, directory: str | Path, rank: int) -> None:
        self.path = Path(directory) / f"{rank:05d}.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.files = self.records = 0
        self._last_uri: str | None = None
        self._flushed = 0.0
        self.flush()

    def record(self, uri: str) -> None:
        """Count one record of file ``uri`` (a new uri means the previous file is done)."""
        self.records += 1
        if uri != self._last_uri:
            if self._last_uri is not None:
                self.files += 1
            self._last_uri = uri
        if time.monotonic() - self._flushed >= FLUSH_SECONDS:
            self.flush()

    def done(self, files: int) -> None:
        """The task read all its ``files``."""
        self.files = files
        self.flush()

    def flush(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"files": self.files, "records": self.records}), encoding="utf-8")
        os.replace(tmp, self.path)
        self._flushed = time.monotonic()


def read_progress(directory: str | Path) -> tuple[int, int]:
    """(files, records) done over every task's counter file."""
    files = records = 0
    for path in Path(directory).glob("*.json"):
        try:
            counts = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # a file mid-replace: counted at the next poll
            continue
        files += int(counts.get("files", 0))
        records += int(counts.get("records", 0))
    return files, records


class ProgressBar:
    """``with ProgressBar(directory, total_files):`` shows the tasks' counters while the block runs."""

    def __init__(self, directory: str | Path, total_files: int, desc: str = "read + stages") -> None:
        self.directory, self.total, self.desc = Path(directory), total_files, desc
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bar: tqdm | None = None

    def _update(self) -> None:
        files, records = read_progress(self.directory)
        assert self.bar is not None
        self.bar.n = min(files, self.total)  # set, not add: a restarted task counts from zero again
        self.bar.set_postfix(records=records, refresh=False)
        self.bar.refresh()

    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self._update()

    def __enter__(self) -> ProgressBar:
        self.bar = tqdm(total=self.total, desc=self.desc, unit="file", disable=None)
        if not self.bar.disable:
            self._thread = threading.Thread(target=self._poll, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.bar is not None:
            if not self.bar.disable:
                self._update()
            self.bar.close()
