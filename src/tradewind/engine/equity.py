"""The equity curve, derived from the portfolio's ledger (DESIGN, principle 8).

Balances and perpetual positions are piecewise constant between the venue's events, so each
asset's balance per bar is its starting balance plus the cumulative sum of its ledger movements up
to that bar, each perpetual's quantity and cost basis is the last snapshot at or before the bar,
and equity is the balances valued at each bar's close plus the perpetuals' open PnL. Nothing is
accumulated bar by bar in Python.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.engine.portfolio import Portfolio
from tradewind.series.bars import BarSeries, FloatArray, IntArray


def account_currency(instruments: dict[str, Instrument]) -> str:
    """The currency every traded market settles in; mixing them is refused with a message."""
    quotes = sorted(
        {i.settle_currency if i.is_derivative else i.quote for i in instruments.values()}
    )
    if len(quotes) != 1:
        raise UserError(
            f"the traded markets settle in {', '.join(quotes)}; a backtest needs one account "
            "currency (conversion through a pair in the data is not built yet)"
        )
    return quotes[0]


def equity_curve(
    bars: dict[str, BarSeries],
    instruments: dict[str, Instrument],
    starting: dict[str, Decimal],
    portfolio: Portfolio,
) -> tuple[IntArray, FloatArray]:
    """Timestamps (bar open times, the union over symbols) and equity at each bar's close.

    A movement booked at ``at`` (the open time of bar ``j`` of its symbol) counts from bar
    ``j``'s close on.
    """
    quote = account_currency(instruments)
    if len(bars) == 1:
        # One symbol: its timestamps are the timeline already (strictly increasing, checked when
        # the series was made), so the merge and the lookups below reduce to the identity.
        only = next(iter(bars.values()))
        timeline = np.array(only.ts)
        n = len(timeline)
        position_of = {only.symbol: np.arange(n)}
        series_of = {only.symbol: only}
        close_on = {only.symbol: np.array(only.close)}
    else:
        timeline = np.unique(np.concatenate([b.ts for b in bars.values()]))
        n = len(timeline)
        # Where each symbol's bar j sits on the common timeline.
        position_of = {s: np.searchsorted(timeline, b.ts) for s, b in bars.items()}
        series_of = bars
        # The close of each symbol at or before each timeline bar.
        close_on = {s: _close_on_timeline(b, timeline) for s, b in bars.items()}
    # The ledger as columns; each asset's movements are picked out in booking order (the order
    # the sums below add in).
    ledger = portfolio.ledger
    assets = np.array([e.asset for e in ledger], dtype=object)
    amounts = np.array([float(e.amount) for e in ledger], dtype=np.float64)
    if len(position_of) == 1:
        where = _bar_of(only, np.array([e.at for e in ledger], dtype=np.int64))
    else:
        where = np.zeros(len(ledger), dtype=np.int64)
        symbols = np.array([e.symbol for e in ledger], dtype=object)
        at = np.array([e.at for e in ledger], dtype=np.int64)
        for symbol in set(symbols.tolist()):
            mine = symbols == symbol
            where[mine] = position_of[symbol][_bar_of(series_of[symbol], at[mine])]
    balances: dict[str, FloatArray] = {}
    for asset in {e.asset for e in ledger} | set(starting):
        step = np.zeros(n, dtype=np.float64)
        mine = assets == asset
        np.add.at(step, where[mine], amounts[mine])
        balances[asset] = float(starting.get(asset, Decimal(0))) + np.cumsum(step)
    equity = np.zeros(n, dtype=np.float64)
    for asset, balance in balances.items():
        if asset == quote:
            equity += balance
            continue
        symbol = next(
            (s for s, i in instruments.items() if i.is_spot and i.base == asset and s in bars), None
        )
        if symbol is None:
            raise UserError(f"no price series to value {asset} in {quote}")
        equity += balance * close_on[symbol]
    for symbol in {e.symbol for e in portfolio.exposures}:
        snaps = [e for e in portfolio.exposures if e.symbol == symbol]
        at = np.array([e.at for e in snaps], dtype=np.int64)
        where = position_of[symbol][_bar_of(series_of[symbol], at)]
        quantity = np.array([float(e.quantity) for e in snaps])
        cost = np.array([float(e.cost) for e in snaps])
        # The last snapshot at or before each bar (snapshots are in booking order).
        latest = np.searchsorted(where, np.arange(n), side="right") - 1
        held = np.where(latest >= 0, quantity[np.maximum(latest, 0)], 0.0)
        basis = np.where(latest >= 0, cost[np.maximum(latest, 0)], 0.0)
        size = float(instruments[symbol].contract_size)
        equity += size * (held * close_on[symbol] - basis)
    return timeline, equity


def _close_on_timeline(series: BarSeries, timeline: IntArray) -> FloatArray:
    at = np.searchsorted(series.ts, timeline, side="right") - 1
    return np.where(at >= 0, series.close[np.maximum(at, 0)], series.close[0])


def _bar_of(series: BarSeries, at: IntArray) -> IntArray:
    """Index of the bar of ``series`` open at each booking time (the first bar for earlier ones:
    a resumed session's carried fills)."""
    return np.maximum(np.searchsorted(series.ts, at, side="right") - 1, 0)
