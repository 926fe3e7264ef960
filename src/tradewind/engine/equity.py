"""The equity curve, derived from the fills (DESIGN, principle 8): balances are piecewise constant
between fills, so each asset's balance per bar is its starting balance plus the cumulative sum of
the fills' deltas up to that bar, and equity is those balances valued at each bar's close. Nothing
is accumulated bar by bar in Python.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from tradewind.bars import BarSeries, FloatArray, IntArray
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.records import Side
from tradewind.engine.portfolio import BookedFill


def account_currency(instruments: dict[str, Instrument]) -> str:
    """The quote currency every traded pair shares; mixing quotes is refused with a message."""
    quotes = sorted({i.quote for i in instruments.values()})
    if len(quotes) != 1:
        raise UserError(
            f"the traded pairs are quoted in {', '.join(quotes)}; a backtest needs one account "
            "currency (conversion through a pair in the data is not built yet)"
        )
    return quotes[0]


def equity_curve(
    bars: dict[str, BarSeries],
    instruments: dict[str, Instrument],
    starting: dict[str, Decimal],
    fills: list[BookedFill],
) -> tuple[IntArray, FloatArray]:
    """Timestamps (bar open times, the union over symbols) and equity at each bar's close.

    A fill booked at bar ``j`` of its symbol counts from bar ``j``'s close on.
    """
    quote = account_currency(instruments)
    timeline = np.unique(np.concatenate([b.ts for b in bars.values()]))
    n = len(timeline)
    equity = np.full(n, float(starting.get(quote, Decimal(0))), dtype=np.float64)
    deltas: dict[str, list[tuple[int, float]]] = {}
    for booked in fills:
        fill = booked.fill
        instrument = instruments[fill.symbol]
        position = int(np.searchsorted(timeline, bars[fill.symbol].ts[booked.bar_index]))
        sign = 1.0 if fill.side is Side.BUY else -1.0
        notional = float(fill.price * fill.quantity)
        fee = float(fill.fee)
        deltas.setdefault(instrument.quote, []).append((position, -sign * notional))
        deltas.setdefault(instrument.base, []).append((position, sign * float(fill.quantity)))
        deltas.setdefault(fill.fee_currency, []).append((position, -fee))
    for asset in set(deltas) | set(starting):
        balance = np.full(n, float(starting.get(asset, Decimal(0))), dtype=np.float64)
        if asset in deltas:
            where = np.array([d[0] for d in deltas[asset]], dtype=np.int64)
            amount = np.array([d[1] for d in deltas[asset]], dtype=np.float64)
            step = np.zeros(n, dtype=np.float64)
            np.add.at(step, where, amount)
            balance += np.cumsum(step)
        if asset == quote:
            equity += balance - float(starting.get(quote, Decimal(0)))
            continue
        symbol = next((s for s, i in instruments.items() if i.base == asset and s in bars), None)
        if symbol is None:
            raise UserError(f"no price series to value {asset} in {quote}")
        series = bars[symbol]
        # The close of the latest bar of this symbol at or before each timeline bar.
        at = np.searchsorted(series.ts, timeline, side="right") - 1
        price = np.where(at >= 0, series.close[np.maximum(at, 0)], series.close[0])
        equity += balance * price
    return timeline, equity
