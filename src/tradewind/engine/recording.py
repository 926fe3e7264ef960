"""Write what the Node does into a repository, by listening on its message bus.

The Node publishes ``order.submitted`` after it made an order and before it hands it to the venue,
and every venue event before it applies it, so the recorder writes each order (as ``NEW``, then
``SUBMITTED``) before the venue sees it, and each fill and status change as it arrives. The Node
itself needs no knowledge of any repository; paper and live trading attach a recorder, backtests
attach none (or the in-memory repository) and run at their usual speed.

Positions and balances are written by :meth:`RepositoryRecorder.checkpoint`, which the driver calls
after the Node has applied a batch of events (the bus delivers an event before the portfolio books
it, so a snapshot taken inside a handler would be one event stale).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from tradewind.core.events import (
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    PositionLiquidated,
)
from tradewind.core.intents import Decision
from tradewind.core.money import ZERO
from tradewind.core.orders import Order, OrderStatus
from tradewind.core.repository import (
    OrderTransition,
    PositionState,
    RiskEvent,
    TradingRepository,
    TransitionSource,
)
from tradewind.engine.bus import MessageBus
from tradewind.engine.portfolio import Portfolio

_VENUE = TransitionSource.VENUE


class RepositoryRecorder:
    """Subscribe to a Node's bus and record orders, transitions, fills and risk events."""

    def __init__(
        self,
        repository: TradingRepository,
        portfolio: Portfolio | None = None,
        *,
        fills_before: int = 0,
    ) -> None:
        self.repository = repository
        self.portfolio = portfolio
        self._filled: dict[str, tuple[Decimal, Decimal]] = {}
        self._strategy: dict[str, str] = {}
        self.duplicate_fills = 0
        self.fills = fills_before
        """How many fills the bot's repository holds: those of earlier sessions
        (``fills_before``, which the portfolio already includes) and each one recorded since."""

    def attach(self, bus: MessageBus) -> None:
        """Start listening on ``bus``."""
        bus.subscribe("order", self._on_order)
        bus.subscribe("risk.denied", self._on_denied)
        bus.subscribe("account.liquidated", self._on_liquidated)
        bus.subscribe("account.funding", self._on_funding)

    def adopt(self, orders: Iterable[Order]) -> None:
        """Orders an earlier session recorded and this one carries on (after a restart): their
        later fills are recorded against the same strategy and add to what they had."""
        for order in orders:
            self._strategy[order.client_id] = order.strategy_id
            if order.filled_quantity:
                self._filled[order.client_id] = (order.filled_quantity, order.average_price or ZERO)

    def _on_order(self, topic: str, payload: Any) -> None:
        repo = self.repository
        if topic == "order.submitted":
            order: Order = payload
            self._strategy[order.client_id] = order.strategy_id
            repo.record_order(
                replace(order, status=OrderStatus.NEW, fills=[]),
                order.created_ts,
                TransitionSource.ENGINE,
            )
            repo.record_transition(
                OrderTransition(
                    order.client_id,
                    OrderStatus.SUBMITTED,
                    order.created_ts,
                    TransitionSource.ENGINE,
                )
            )
            return
        event = payload
        kind = type(event)
        if kind is OrderFilled:
            self._fill(event)
        elif kind is OrderAccepted:
            repo.record_transition(
                OrderTransition(
                    event.client_id,
                    OrderStatus.ACCEPTED,
                    event.ts,
                    _VENUE,
                    venue_order_id=event.venue_order_id or None,
                )
            )
        elif kind is OrderTriggered:
            repo.record_transition(
                OrderTransition(event.client_id, OrderStatus.TRIGGERED, event.ts, _VENUE)
            )
        elif kind is OrderRejected:
            repo.record_transition(
                OrderTransition(
                    event.client_id, OrderStatus.REJECTED, event.ts, _VENUE, event.reason
                )
            )
        elif kind is OrderCanceled:
            repo.record_transition(
                OrderTransition(event.client_id, OrderStatus.CANCELED, event.ts, _VENUE)
            )
        elif kind is OrderExpired:
            repo.record_transition(
                OrderTransition(
                    event.client_id, OrderStatus.EXPIRED, event.ts, _VENUE, event.reason
                )
            )

    def _fill(self, event: OrderFilled) -> None:
        fill = event.fill
        before, average = self._filled.get(fill.client_id, (ZERO, ZERO))
        filled = before + fill.quantity
        average = (average * before + fill.price * fill.quantity) / filled
        transition = OrderTransition(
            fill.client_id,
            OrderStatus.FILLED if filled == event.order_quantity else OrderStatus.PARTIALLY_FILLED,
            fill.ts,
            _VENUE,
            filled_quantity=filled,
            average_price=average,
            quantity=event.order_quantity,
        )
        strategy_id = self._strategy.get(fill.client_id, "")
        if self.repository.record_fill(fill, strategy_id, transition):
            self._filled[fill.client_id] = (filled, average)
            self.fills += 1
        else:
            self.duplicate_fills += 1

    def _on_denied(self, topic: str, payload: Any) -> None:
        decision: Decision = payload
        intent = decision.intent
        self.repository.record_risk_event(
            RiskEvent(
                ts=intent.ts,
                kind="denial",
                reason=decision.reason,
                strategy_id=intent.strategy_id,
                symbol=intent.symbol,
                action=str(intent.action),
                code=decision.code,
            )
        )

    def _on_funding(self, topic: str, payload: Any) -> None:
        event: FundingPaid = payload
        self.repository.record_funding(
            event.symbol, event.ts, event.amount, event.currency, event.rate
        )

    def _on_liquidated(self, topic: str, payload: Any) -> None:
        event: PositionLiquidated = payload
        self.repository.record_risk_event(
            RiskEvent(
                ts=event.ts,
                kind="liquidation",
                reason=f"liquidated at {event.price}, {event.margin_lost} {event.currency} of "
                "margin lost",
                symbol=event.symbol,
            )
        )

    def checkpoint(self, ts: int) -> None:
        """Write every position and balance as the portfolio holds them now, with the number of
        fills they include (one transaction: see :class:`~tradewind.core.repository.Checkpoint`).

        Call it when the portfolio has booked every fill recorded so far (after a batch of venue
        events, not from inside a bus handler)."""
        if self.portfolio is None:
            raise ValueError("this recorder was made without a portfolio to checkpoint")
        positions = [
            PositionState(
                strategy_id=p.strategy_id,
                symbol=p.symbol,
                quantity=p.quantity,
                average_price=p.average_price,
                entry_ts=p.entry_ts,
                realized_pnl=p.realized_pnl,
                open_fees=p.open_fees,
                open_funding=p.open_funding,
                dust=p.dust,
            )
            for p in self.portfolio.positions.values()
        ]
        self.repository.save_checkpoint(positions, dict(self.portfolio.cash), self.fills, ts)
