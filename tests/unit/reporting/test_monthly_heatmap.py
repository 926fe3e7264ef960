"""The report's monthly-returns heatmap puts each month of a real run in its own year and month."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tradewind.backtest import backtest
from tradewind.reporting.html import monthly_heatmap


def test_monthly_heatmap_has_the_runs_years_and_months(shared_data: Path) -> None:
    # 5,000 one-minute bars from 2021-12-31 00:00 UTC: the last day of 2021 and the first days of 2022.
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=5000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    result = backtest("sma_cross", frame, fee=0.001, symbol="BTC/USD")

    heatmap = monthly_heatmap(result.equity).data[0]

    assert list(heatmap.y) == ["2021", "2022"]
    z = np.asarray(heatmap.z, dtype=float)
    filled = {(year, month) for (year, month) in zip(*np.nonzero(np.isfinite(z)), strict=True)}
    assert filled == {(0, 11), (1, 0)}  # December 2021 and January 2022, nothing else
    assert heatmap.x[11] == "Dec"
    assert heatmap.x[0] == "Jan"
    # The months compound to the run's total return.
    compounded = float(np.prod(1.0 + z[np.isfinite(z)]) - 1.0)
    assert abs(compounded - result.metrics["total_return"]) < 1e-12
