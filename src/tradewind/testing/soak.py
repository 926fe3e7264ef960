"""What the soaks measure: this process's resident memory, its slope once warm, and event-loop
lag quantiles (the feed soak and the paper-session soak report the same figures)."""

from __future__ import annotations

import os
import statistics

import numpy as np


def rss_mib() -> float:
    """This process's resident memory in MiB (Linux ``/proc``)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def slope_mib_per_10min(samples: list[tuple[float, float]], seconds: float) -> float:
    """The memory slope (MiB per 10 minutes) of ``(elapsed s, MiB)`` samples after the first
    fifth of the run (warm-up, caches filling); 0 with fewer than three samples."""
    steady = [(t, m) for t, m in samples if t >= seconds / 5]
    if len(steady) < 3:
        return 0.0
    return float(np.polyfit([t for t, _ in steady], [m for _, m in steady], 1)[0]) * 600


def lag_ms(lags: list[float]) -> list[float]:
    """Event-loop lag samples (seconds) as ``[p50, p99, max]`` in milliseconds."""
    return [
        round(statistics.median(lags) * 1000, 2),
        round(float(np.percentile(lags, 99)) * 1000, 2),
        round(max(lags) * 1000, 2),
    ]
