"""The account as the engine knows it: what the risk gate reads when it sizes an intent.

Balances and positions come from the portfolio (booked here from the venue's fills, funding and
liquidations, with the risk observer told of every change), what working orders reserve from the
order manager, prices from the latest complete bar at the engine's time. It implements
:class:`tradewind.core.ports.RiskAccount`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal

import numpy as np

from tradewind.core.events import PositionLiquidated
from tradewind.core.instrument import Instrument
from tradewind.core.money import ZERO
from tradewind.core.orders import Fill
from tradewind.core.ports import EXTERNAL, RiskObserver
from tradewind.engine.portfolio import Portfolio
from tradewind.series.bars import BarSeries

log = logging.getLogger(__name__)


class AccountState:
    """Balances, positions, reservations, latest prices and the engine's time (UTC ms)."""

    def __init__(
        self,
        portfolio: Portfolio,
        instruments: Mapping[str, Instrument],
        bars: Mapping[str, BarSeries],
        reserved: Mapping[str, Decimal],
        observer: RiskObserver | None = None,
    ) -> None:
        self.portfolio = portfolio
        self.observer = observer
        self.instruments = instruments
        self.now = 0
        """The engine's current time (UTC ms): moved forward by each event."""
        self._bars = dict(bars)
        self._reserved = reserved
        self._external: dict[str, Decimal] = {}

    def replace_bars(self, symbol: str, bars: BarSeries) -> None:
        """Read ``bars`` for ``symbol`` from now on (live data grows the series)."""
        self._bars[symbol] = bars

    def book_fill(self, fill: Fill, strategy_id: str, at: int, reason: str) -> None:
        """Book a new fill of ``strategy_id`` at ``at`` (UTC ms: the open time of the bar of its
        symbol it belongs to, :mod:`tradewind.engine.portfolio`)."""
        closed = len(self.portfolio.trades)
        self.portfolio.apply_fill(fill, strategy_id, at, reason)
        if self.observer is not None:
            self._observed(closed, fill.ts, at, fill.symbol)

    def book_liquidation(self, event: PositionLiquidated, at: int) -> list[tuple[str, str]]:
        """Book a liquidation at ``at``; return the ``(strategy_id, symbol)`` positions it
        closed."""
        log.warning(
            "%s liquidated at %s: %s %s of margin lost",
            event.symbol, event.price, event.margin_lost, event.currency,
        )  # fmt: skip
        closed = len(self.portfolio.trades)
        holders = [
            k for k, p in self.portfolio.positions.items() if k[1] == event.symbol and p.quantity
        ]
        self.portfolio.apply_liquidation(
            event.symbol, event.price, event.margin_lost, event.currency, event.ts, at
        )
        if self.observer is not None:
            self._observed(closed, event.ts, at, event.symbol)
        return holders

    def _observed(self, closed_before: int, ts: int, bar_ts: int, symbol: str) -> None:
        assert self.observer is not None
        for trade in self.portfolio.trades[closed_before:]:
            self.observer.on_trade_closed(
                trade.strategy_id, trade.pnl, trade.entry_price * trade.quantity, ts, bar_ts,
                symbol,
            )  # fmt: skip
        self.observer.on_fill(self, symbol, bar_ts)

    def free(self, asset: str) -> Decimal:
        """Ledger balance minus perpetual margin in use and what working entries reserved."""
        return (
            self.portfolio.balance(asset)
            - self.portfolio.margin_in_use(asset)
            - self._reserved.get(asset, ZERO)
        )

    def position(self, strategy_id: str, symbol: str) -> Decimal:
        """Signed position of one strategy in one symbol."""
        return self.portfolio.position(strategy_id, symbol).quantity

    def last_price(self, symbol: str) -> Decimal:
        """Close of the latest bar of ``symbol`` complete at the current time."""
        bars = self._bars[symbol]
        index = int(np.searchsorted(bars.close_time, self.now, side="right")) - 1
        return bars.price(max(index, 0))

    def clock(self) -> int:
        """The current time (UTC ms)."""
        return self.now

    def open_positions(self) -> list[tuple[str, str, Decimal]]:
        """``(strategy_id, symbol, signed quantity)`` of every open position."""
        return [
            (p.strategy_id, p.symbol, p.quantity)
            for p in self.portfolio.positions.values()
            if p.quantity != 0
        ]

    def balances(self) -> dict[str, Decimal]:
        """Ledger balance of every asset."""
        return dict(self.portfolio.cash)

    def set_external(self, positions: Mapping[str, Decimal]) -> None:
        """The positions on the exchange the bot did not make, by symbol (signed; reconciliation
        adopts them): the risk engine counts them, nothing books or trades them."""
        self._external = {s: Decimal(q) for s, q in positions.items() if q}

    def external_positions(self) -> list[tuple[str, str, Decimal]]:
        """``(EXTERNAL, symbol, signed quantity)`` of every adopted position."""
        return [(EXTERNAL, s, q) for s, q in sorted(self._external.items())]

    def equity(self) -> Decimal:
        """Every balance valued in the account currency at the latest complete bar's close,
        plus the open PnL of perpetual positions."""
        total = ZERO
        instruments = self.instruments
        quotes = {i.settle_currency if i.is_derivative else i.quote for i in instruments.values()}
        for asset, amount in self.portfolio.cash.items():
            if asset in quotes:
                total += amount
                continue
            for symbol, instrument in instruments.items():
                if instrument.is_spot and instrument.base == asset and symbol in self._bars:
                    total += amount * self.last_price(symbol)
                    break
        for symbol, instrument in instruments.items():
            if instrument.is_derivative and symbol in self._bars:
                total += self.portfolio.unrealized(symbol, self.last_price(symbol))
        return total
