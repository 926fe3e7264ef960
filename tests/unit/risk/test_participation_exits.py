"""A volume participation cap with protective exits on spot: partial fills of stops and entries.

Under a cap the stop that fires at bar j fills in parts over j, j+1, ...; each part changes the
position. Each change restarted the protection book's scan from the position's first bar, which
found again the stop that had just fired, at a time already past: the runner's clock raised
``ClockError: simulated time cannot go back``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tradewind.backtest import backtest

EXITS = {
    "stop": {"stop_pct": 0.02},
    "trailing": {"trailing_pct": 0.01},
    "take_profit": {"take_profit_pct": 0.01},
    "breakeven": {"stop_pct": 0.03, "breakeven_trigger": 0.005},
    "time": {"max_bars": 6},
    "atr_stop": {"stop_atr": 1.0},
}


@pytest.mark.parametrize("name", list(EXITS))
def test_capped_fills_with_each_protective_exit_run_forward_in_time(
    name: str, shared_data: Path
) -> None:
    frame = pd.read_feather(shared_data / "candles" / "ADA_BTC-5m.feather").head(2500)
    risk = {"sizing": {"model": "fixed_fraction", "fraction": 0.5}, "exits": EXITS[name]}

    result = backtest("sma_cross", frame, {"fast": 3, "slow": 8}, cash=10, fee=0.001,
                      symbol="ADA/BTC", max_participation=0.01, risk=risk)  # fmt: skip

    trades = result.trades
    protective = trades[trades["reason"] != "signal"]
    assert len(protective) >= 5, f"{name}: only {len(protective)} protective exits"
    # Positions close in parts (the cap is binding), each part at or after its entry.
    assert trades.duplicated(["entry_time"]).any()
    assert (trades["exit_time"] >= trades["entry_time"]).all()
