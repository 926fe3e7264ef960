"""The portfolio books each movement at a time, not a bar index: the open time of the bar it
belongs to. A fill at a bar's close and one at the next bar's open share a timestamp; the booking
time says which bar each belongs to, and the equity curve counts it from that bar's close on."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from tradewind.core.instrument import Instrument
from tradewind.core.orders import Fill, Liquidity
from tradewind.core.records import Side
from tradewind.core.timeframe import Timeframe
from tradewind.engine.equity import equity_curve
from tradewind.engine.portfolio import Portfolio
from tradewind.series.bars import BarSeries

D = Decimal
MINUTE = 60_000
T0 = 1_700_000_000_000
SYMBOL = "BTC/USDT"
BTC = Instrument(symbol=SYMBOL, base="BTC", quote="USDT",
                 price_step=D("0.01"), amount_step=D("0.00001"))  # fmt: skip


def _bars() -> BarSeries:
    ts = T0 + MINUTE * np.arange(4, dtype=np.int64)
    close = np.array([100.0, 110.0, 120.0, 130.0])
    return BarSeries(SYMBOL, Timeframe(MINUTE), ts, close - 5, close + 5, close - 10, close,
                     np.ones(4))  # fmt: skip


def _curve(booked_at: int) -> list[float]:
    """Equity at each bar's close after buying 1 BTC at 105 at bar 2's open time (bar 1's close),
    booked at ``booked_at``."""
    portfolio = Portfolio({SYMBOL: BTC}, cash={"USDT": D(1000)})
    bought = Fill("c1", SYMBOL, Side.BUY, T0 + 2 * MINUTE, D(105), D(1), D(0), "USDT",
                  Liquidity.TAKER, "t1")  # fmt: skip
    portfolio.apply_fill(bought, "s", booked_at)
    _, equity = equity_curve({SYMBOL: _bars()}, {SYMBOL: BTC}, {"USDT": D(1000)}, portfolio)
    return equity.tolist()


def test_a_movement_counts_from_the_close_of_the_bar_its_booking_time_opens() -> None:
    # Booked at bar 1's open (the fill made at bar 1's close, fill_at=close): in bar 1's equity.
    assert _curve(T0 + MINUTE) == [1000.0, 1005.0, 1015.0, 1025.0]
    # The same fill booked at bar 2's open (a fill at that bar's open): from bar 2's close on.
    assert _curve(T0 + 2 * MINUTE) == [1000.0, 1000.0, 1015.0, 1025.0]
    # Any time within bar 1 names bar 1.
    assert _curve(T0 + 2 * MINUTE - 1) == _curve(T0 + MINUTE)


def test_a_booking_before_the_first_bar_counts_from_the_first_bar() -> None:
    # A resumed session's carried fills are booked at 0: they hold from the first bar on.
    assert _curve(0) == [995.0, 1005.0, 1015.0, 1025.0]
    booked = Portfolio({SYMBOL: BTC})
    fill = Fill("c1", SYMBOL, Side.BUY, T0, D(1), D(1), D(0), "USDT", Liquidity.TAKER, "t1")
    booked.apply_fill(fill, "s", T0 + MINUTE)
    assert {e.at for e in booked.ledger} == {T0 + MINUTE}
    assert [f.at for f in booked.fills] == [T0 + MINUTE]
