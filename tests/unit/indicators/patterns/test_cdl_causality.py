"""A candlestick value at bar t depends on bars <= t only: data[:t + 1] gives the same value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pattern_data import CANDLE_FILES, load_ohlc

from tradewind.indicators import patterns

CANDLE_FUNCTIONS = sorted(name for name in patterns.__all__ if name.startswith("cdl"))


def _sample_bars(marks: np.ndarray, rng: np.random.Generator) -> list[int]:
    hits = np.flatnonzero(marks)
    chosen = set(hits[:25].tolist()) | set(rng.choice(len(marks), size=25, replace=False).tolist())
    chosen |= set(range(16))  # across the warm-up boundary of every pattern
    return sorted(chosen)


@pytest.mark.parametrize("name", CANDLE_FUNCTIONS)
def test_value_at_t_uses_only_the_past(shared_data: Path, name: str) -> None:
    path = next(p for p in CANDLE_FILES if p.name.startswith("UNITTEST"))
    o, h, l, c = (a[:3000] for a in load_ohlc(path))  # noqa: E741
    fn: Callable[..., np.ndarray] = getattr(patterns, name)
    full = fn(o, h, l, c)
    rng = np.random.default_rng(7)

    for t in _sample_bars(full, rng):
        truncated = fn(o[: t + 1], h[: t + 1], l[: t + 1], c[: t + 1])
        assert truncated[t] == full[t], f"{name} at bar {t}"
        np.testing.assert_array_equal(truncated, full[: t + 1])
