"""Timing helper shared by the benchmarks (imported as ``from timing import best_of``: bench/ is on
sys.path when a benchmark runs as a script)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_of(fn: Callable[[], T], repeats: int = 3, clock: Callable[[], float] = time.perf_counter) -> tuple[float, T]:
    """Fewest ``clock`` seconds over ``repeats`` calls of ``fn()``, and the last call's result. The minimum,
    because the first pass pays for lazy imports and cold caches and other jobs on the shared box only ever
    add time; ``clock=time.process_time`` counts this process's CPU alone."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = clock()
        out = fn()
        best = min(best, clock() - start)
    return best, out


def median_of(fn: Callable[[], T], repeats: int = 3) -> tuple[float, T]:
    """Median wall-clock seconds over ``repeats`` calls of ``fn()``, and the last call's result (for runs long
    enough that the first call's warm-up is a small part, where the median is steadier than the minimum)."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out
