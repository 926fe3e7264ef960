"""Markets built from the bundled BTC-perp month, shared by the optimiser tests."""

from __future__ import annotations

import pandas as pd
import pytest

from tradewind.data.bundled import BUNDLED_SYMBOL, load_bundled
from tradewind.optimize.market import Market, prepare_market


@pytest.fixture(scope="session")
def bundled_frame() -> tuple[pd.DataFrame, object]:
    frame, meta = load_bundled()
    return frame, meta.instrument


@pytest.fixture(scope="session")
def week(bundled_frame: tuple[pd.DataFrame, object]) -> Market:
    """The first week of the month (10,080 one-minute bars), traded as spot with a 0.1% fee."""
    frame, instrument = bundled_frame
    return prepare_market(
        frame.iloc[:10_080], symbol=BUNDLED_SYMBOL, timeframe="1m",
        instruments={BUNDLED_SYMBOL: instrument}, fee=0.001, as_spot=True,
    )  # fmt: skip
