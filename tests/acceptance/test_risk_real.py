"""The risk engine on the real BTC-perp month: the daily-loss breaker trips exactly where the
equity curve says it must, and trailing-stop exits happen exactly where a plain per-bar loop says.

Both references below are written bar by bar in this file and share nothing with the risk code.
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.core.instrument import FeeSide, Instrument

SYMBOL = "BTC/USD"
# Every recorded price of the month sits on a 0.001 grid (some end in .125), so a 0.001 tick
# leaves the recorded prices as they are.
INSTRUMENT = Instrument(
    symbol=SYMBOL,
    base="BTC",
    quote="USD",
    price_step=Decimal("0.001"),
    amount_step=Decimal("0.00000001"),
    maker_fee=Decimal("0.001"),
    taker_fee=Decimal("0.001"),
    fee_side=FeeSide.QUOTE,
)


@pytest.fixture(scope="module")
def month(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv")
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


def _crosses(close: np.ndarray, fast: int = 10, slow: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """SMA cross flags per bar, from plain means (nothing shared with the indicator library)."""
    n = len(close)
    up = np.zeros(n, dtype=bool)
    down = np.zeros(n, dtype=bool)
    previous = None
    for i in range(n):
        now = None
        if i >= slow - 1:
            now = (close[i - fast + 1 : i + 1].mean(), close[i - slow + 1 : i + 1].mean())
        if now is not None and previous is not None:
            up[i] = now[0] > now[1] and previous[0] <= previous[1]
            down[i] = now[0] < now[1] and previous[0] >= previous[1]
        previous = now
    return up, down


def test_daily_loss_breaker_trips_at_the_first_bar_the_equity_curve_reaches_the_limit(
    month: pd.DataFrame,
) -> None:
    limit = 0.01
    # Aggressive on purpose: all in on every SMA cross, no stop, a 1% daily loss limit.
    result = backtest(
        "sma_cross", month, cash=100_000, fee=0.001, symbol=SYMBOL, instruments={SYMBOL: INSTRUMENT},
        risk={"sizing": {"model": "stake"}, "exits": {"stop_pct": None},
              "breakers": {"daily_loss": limit, "max_drawdown": None}},
    )  # fmt: skip
    equity = result.equity.to_numpy()
    days = result.equity.index.floor("D").asi8
    # Independent reference: the equity at each UTC day's start is the equity at the close of the
    # last bar before the day (the starting cash on the first day); the breaker must trip at the
    # first bar of each day whose loss from that reaches the limit.
    expected = []
    start_equity = 100_000.0
    tripped_day = None
    for i in range(len(equity)):
        if i > 0 and days[i] != days[i - 1]:
            start_equity = equity[i - 1]
        if tripped_day != days[i] and 1.0 - equity[i] / start_equity >= limit:
            expected.append(i)
            tripped_day = days[i]
    trips = result.breaker_events.query("breaker == 'daily_loss' and state == 'reducing'")

    assert len(expected) >= 5  # the configuration is aggressive enough to trip on many days
    assert trips["bar"].tolist() == expected
    # The trip is recorded at the close of that bar (the moment its equity is known).
    closes = result.equity.index[expected] + pd.Timedelta(minutes=1)
    assert trips["time"].tolist() == list(closes)
    # After a trip no entry gets through for the rest of that day.
    denied = result.denials.query("code == 'breaker.daily_loss'")
    assert len(denied) > 0
    for trip_time in trips["time"]:
        day_end = trip_time.floor("D") + pd.Timedelta(days=1)
        entries = result.trades[
            (result.trades["entry_time"] > trip_time) & (result.trades["entry_time"] < day_end)
        ]
        assert entries.empty


def _trailing_reference(frame: pd.DataFrame, pct: float) -> list[tuple[int, int, float, str]]:
    """SMA(10/30) cross, all in at the next open, a trailing stop ``pct`` behind the highest high
    since the entry (raised only after a bar completes), bar by bar.

    Returns ``(entry bar, exit bar, exit price, reason)`` per closed trade.
    """
    open_, high, low, close = (frame[c].to_numpy() for c in ("open", "high", "low", "close"))
    up, down = _crosses(close)
    n = len(close)
    trades: list[tuple[int, int, float, str]] = []
    in_position = False
    entry_bar = -1
    best = 0.0
    pending_entry = pending_exit = False
    for j in range(n):
        if pending_exit:
            trades.append((entry_bar, j, open_[j], "signal"))
            in_position, pending_exit = False, False
        if pending_entry:
            in_position, pending_entry = True, False
            entry_bar, best = j, open_[j]
        if in_position:
            level = round(best * (1 - pct) * 1000) / 1000  # the 0.001 tick
            if open_[j] <= level:
                trades.append((entry_bar, j, open_[j], "trailing_stop"))
                in_position = False
            elif low[j] <= level:
                trades.append((entry_bar, j, level, "trailing_stop"))
                in_position = False
        if j + 1 < n:
            if in_position and down[j]:
                pending_exit = True
            elif not in_position and up[j]:
                pending_entry = True
        if in_position:
            best = max(best, high[j])
    return trades


def test_trailing_stop_exits_match_a_plain_per_bar_loop_trade_by_trade(month: pd.DataFrame) -> None:
    pct = 0.004
    result = backtest(
        "sma_cross", month, cash=100_000, fee=0.001, symbol=SYMBOL, instruments={SYMBOL: INSTRUMENT},
        risk={"sizing": {"model": "stake"}, "exits": {"stop_pct": None, "trailing_pct": pct},
              "breakers": {"daily_loss": None, "max_drawdown": None}},
    )  # fmt: skip
    reference = _trailing_reference(month, pct)
    dates = month["date"]
    orders = result.orders
    exits = orders[orders["side"] == "sell"]
    trailing = exits[exits["reason"] == "trailing_stop"]

    assert len(trailing) > 50  # the trail really does the exiting here
    assert len(result.trades) == len(reference)
    for row, (entry_bar, exit_bar, price, _) in zip(
        result.trades.itertuples(index=False), reference, strict=True
    ):
        assert row.entry_time == dates.iloc[entry_bar]
        assert row.exit_time == dates.iloc[exit_bar]
        assert math.isclose(row.exit_price, price, rel_tol=1e-12)
    reasons = exits["reason"].tolist()
    assert reasons == [r[3] for r in reference]
