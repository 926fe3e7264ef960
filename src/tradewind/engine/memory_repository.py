"""The in-memory implementation of the repository port, for backtests and tests.

It keeps the same state the SQL repository keeps and answers the same reads, with plain dicts, so a
backtest that records through it pays only dictionary writes. Orders are stored as copies, so what
is read back is what was recorded, not a live object the engine keeps changing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from decimal import Decimal

from tradewind.core.orders import TERMINAL, Fill, Order, OrderStatus
from tradewind.core.repository import (
    Checkpoint,
    OrderTransition,
    PositionState,
    RiskEvent,
    TransitionSource,
)


class InMemoryRepository:
    """A :class:`~tradewind.core.repository.TradingRepository` held in memory."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.transitions: dict[str, list[OrderTransition]] = {}
        self.fills: list[tuple[Fill, str]] = []
        self._trade_ids: set[tuple[str, str]] = set()
        self.funding: list[tuple[str, int, Decimal, str, Decimal]] = []
        self.positions: dict[tuple[str, str], PositionState] = {}
        self.balances: dict[str, Decimal] = {}
        self.equity: list[tuple[int, Decimal, str]] = []
        self.risk_events: list[RiskEvent] = []
        self.checkpoint_fills: int | None = None

    def record_order(self, order: Order, ts: int, source: TransitionSource) -> None:
        """Store a copy of a new order and its first transition."""
        if order.client_id in self.orders:
            raise ValueError(f"order {order.client_id} was recorded before")
        self.orders[order.client_id] = _copy(order)
        self.transitions[order.client_id] = [
            OrderTransition(order.client_id, order.status, ts, source)
        ]

    def record_transition(self, transition: OrderTransition) -> None:
        """Store a status change and update the stored order."""
        stored = self.orders.get(transition.client_id)
        if stored is None:
            raise KeyError(f"order {transition.client_id} was never recorded")
        stored.status = transition.status
        if transition.venue_order_id:
            stored.venue_order_id = transition.venue_order_id
        if transition.filled_quantity is not None:
            stored.filled_quantity = transition.filled_quantity
        if transition.quantity is not None:
            stored.quantity = transition.quantity
        if transition.average_price is not None:
            stored.average_price = transition.average_price
        if transition.detail and transition.status in (OrderStatus.REJECTED, OrderStatus.EXPIRED):
            stored.reject_reason = transition.detail
        self.transitions[transition.client_id].append(transition)

    def record_fill(
        self, fill: Fill, strategy_id: str, transition: OrderTransition | None = None
    ) -> bool:
        """Store a fill (and its status change) unless its trade id is known already."""
        if fill.trade_id:
            key = (fill.symbol, fill.trade_id)
            if key in self._trade_ids:
                return False
            self._trade_ids.add(key)
        self.fills.append((fill, strategy_id))
        stored = self.orders.get(fill.client_id)
        if stored is not None:
            stored.fills.append(fill)
        if transition is not None:
            self.record_transition(transition)
        return True

    def record_funding(
        self, symbol: str, ts: int, amount: Decimal, currency: str, rate: Decimal
    ) -> None:
        """Append one funding payment."""
        self.funding.append((symbol, ts, amount, currency, rate))

    def save_positions(self, positions: Sequence[PositionState], ts: int) -> None:
        """Replace the stored positions given."""
        for position in positions:
            self.positions[(position.strategy_id, position.symbol)] = position

    def save_balances(self, balances: Mapping[str, Decimal], ts: int) -> None:
        """Replace the stored balances given."""
        self.balances.update(balances)

    def save_checkpoint(
        self,
        positions: Sequence[PositionState],
        balances: Mapping[str, Decimal],
        fills: int,
        ts: int,
    ) -> None:
        """Replace the positions and balances given; note how many fills they include."""
        self.save_positions(positions, ts)
        self.save_balances(balances, ts)
        self.checkpoint_fills = fills

    def load_checkpoint(self) -> Checkpoint | None:
        """The stored positions and balances with the fills recorded after them."""
        if self.checkpoint_fills is None:
            return None
        return Checkpoint(
            tuple(self.positions.values()), dict(self.balances), self.checkpoint_fills,
            tuple(self.fills[self.checkpoint_fills :]),
        )  # fmt: skip

    def record_equity(self, ts: int, equity: Decimal, currency: str) -> None:
        """Append one equity point."""
        self.equity.append((ts, equity, currency))

    def record_risk_event(self, event: RiskEvent) -> None:
        """Append one risk event."""
        self.risk_events.append(event)

    def load_orders(self, *, open_only: bool = False) -> list[Order]:
        """Copies of the stored orders, oldest first."""
        return [_copy(o) for o in self.orders.values() if not open_only or o.status not in TERMINAL]

    def load_transitions(self, client_id: str) -> list[OrderTransition]:
        """The transitions of one order."""
        return list(self.transitions.get(client_id, []))

    def load_positions(self) -> list[PositionState]:
        """Every stored position."""
        return list(self.positions.values())

    def load_balances(self) -> dict[str, Decimal]:
        """Every stored balance."""
        return dict(self.balances)


def _copy(order: Order) -> Order:
    # Not dataclasses.replace: that re-runs the constructor's checks, which a quote-quantity order
    # whose quantity the fill fixed no longer passes.
    duplicate = copy.copy(order)
    duplicate.fills = list(order.fills)
    return duplicate
