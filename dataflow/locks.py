"""Advisory file locks with a named holder: one process per run id, one committer per data root.

``hold(path, what)`` takes an exclusive ``flock`` on ``path`` and writes who holds it (pid, host,
start time) into the file. The kernel drops a flock when its process dies, however it dies
(SIGKILL, OOM), so a lock left by a dead process is stale by construction: the next ``hold``
simply gets it (and says so in the log, from the holder line the dead process left). A live
holder gets ``LockHeld`` naming it, at once (``wait=0``) or after waiting ``wait`` seconds.

flock is local to one machine's kernel (and NFS v4 maps it to byte-range locks); a data root
shared by several hosts needs the catalog's own concurrency (Iceberg's optimistic commits) too.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # how often a waiting process retries; commits take seconds, so this is cheap


class LockHeld(RuntimeError):
    """Another live process holds the lock."""


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def describe(holder: dict) -> str:
    if not holder:
        return "another process"
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started at {holder.get('started', '?')}"


@contextmanager
def hold(path: str | Path, what: str, wait: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the ``with`` block.

    Args:
        path: the lock file (created, with its directory, when missing; left in place afterwards).
        what: what the lock protects, for the message: ``"run run-abc"``.
        wait: seconds to wait for a live holder before giving up.

    Raises:
        LockHeld: ``"<what> is in progress (pid P on H, started at T)"``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockHeld(
                        f"{what} is in progress ({describe(_holder(path))}); nothing done: wait for it to finish"
                    ) from None
                time.sleep(POLL_SECONDS)
        previous = _holder(path)
        if previous:
            log.info("lock %s: taking over from a process that ended (%s)", path, describe(previous))
        me = dict(pid=os.getpid(), host=socket.gethostname(), started=datetime.now(UTC).isoformat(timespec="seconds"))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # an empty file = released cleanly
    finally:
        os.close(fd)  # closing drops the flock
