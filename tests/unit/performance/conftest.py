"""Fixtures of the performance tests: each shared candle file, and the BTC-perp month."""

from __future__ import annotations

from pathlib import Path

import pytest
from perf_curves import Candles, load_candles

from tradewind.testing.shared_data import candle_files

_FILES = candle_files()


@pytest.fixture(
    scope="session",
    params=_FILES or [None],
    ids=[p.name for p in _FILES] or ["no-shared-data"],
)
def candles(request: pytest.FixtureRequest, shared_data: Path) -> Candles:
    """Each shared candle file in turn (skips when the shared data is absent)."""
    return load_candles(request.param)


@pytest.fixture(scope="session")
def btc_perp(shared_data: Path) -> Candles:
    """The BTC perpetual 1-minute month (45,031 bars, no gaps)."""
    return load_candles(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv")
