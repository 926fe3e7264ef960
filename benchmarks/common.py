"""Shared pieces of the benchmark suite: timing and the result row every benchmark returns."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the benchmark table.

    ``ours`` and ``peer`` are measurements in ``unit`` (seconds per call unless the unit says
    otherwise, e.g. "M deltas/s"). ``higher_is_better`` tells how to read the ratio, which is
    always printed as "how many times better we are than the peer" (>1 means we are faster).
    """

    group: str
    name: str
    ours: float
    unit: str = "s"
    peer_name: str = ""
    peer: float | None = None
    higher_is_better: bool = False
    target: str = ""
    note: str = ""
    show_ratio: bool = True
    """False where a ratio means nothing (costs in bps that may be negative)."""

    @property
    def ratio(self) -> float | None:
        """Our advantage over the peer (>1: we are better)."""
        if not self.show_ratio or self.peer is None or self.ours == 0 or self.peer == 0:
            return None
        return self.ours / self.peer if self.higher_is_better else self.peer / self.ours


def best_time(fn: Callable[[], object], *, repeat: int = 5, min_time: float = 0.2) -> float:
    """Return the best wall time of one call of ``fn`` over ``repeat`` rounds.

    Each round calls ``fn`` enough times to last at least ``min_time`` seconds, so short calls are
    not dominated by timer resolution.
    """
    fn()  # warm-up: JIT compilation, caches
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-9)
    number = max(1, int(min_time / once))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best
