"""The real recorded market data bundled with Tradewind (``tradewind/bundled/recorded``).

Spot and USDT-M candles, mark and funding series, trades, quotes and L2 books, copied unchanged
from the public test data of NautilusTrader and Freqtrade (origins, licences and what each file
holds: ``SOURCES.md`` in that folder). It ships inside the package so that the exchange simulator,
the demo and the tests run on real data from any clone or install, with nothing beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

RECORDED_DATA_ENV = "TRADEWIND_SHARED_DATA"
"""Environment variable naming another folder in the same layout (``candles/``, ``futures/`` ...)."""

_BUNDLED = Path(__file__).resolve().parents[1] / "bundled" / "recorded"


def bundled_recorded_dir() -> Path:
    """Return the recorded-data folder shipped inside the package."""
    return _BUNDLED


def recorded_data_dir() -> Path:
    """Return ``$TRADEWIND_SHARED_DATA`` when set, else the bundled recorded-data folder."""
    env = os.environ.get(RECORDED_DATA_ENV)
    return Path(env) if env else _BUNDLED
