"""What the venue reports, applied: the order manager's side of the venue port.

Each event is published on the bus, then: order states and fills go through the order manager
(duplicates and stale reports change nothing); each new fill is booked into the account (which
tells the risk observer), opens or moves the position's protective exits, releases a reversal's
entry that waited for its exit, and is shown to the strategy's ``on_fill``; funding and
liquidations are booked into the account. An order that ends releases its reservation, and a
protective exit that ended unfilled is looked for again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace

from tradewind.core.events import (
    CancelRejected,
    FundingPaid,
    OrderAccepted,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    PositionLiquidated,
    VenueEvent,
)
from tradewind.core.intents import Intent
from tradewind.core.orders import TERMINAL, Fill, OrderStatus
from tradewind.core.ports import RiskObserver
from tradewind.engine.account import AccountState
from tradewind.engine.binding import Binding
from tradewind.engine.bus import VENUE_TOPICS, MessageBus
from tradewind.engine.parents import ParentDesk
from tradewind.engine.strategy_host import StrategyHost
from tradewind.execution.order_manager import OrderManager
from tradewind.risk.exits import ProtectionBook
from tradewind.series.bars import BarSeries

log = logging.getLogger(__name__)

Route = Callable[[Intent, Binding, int], str | None]
"""The Node's router: ``route(intent, binding, at)`` (gate, then send; what the venue answers is
booked at ``at``)."""


class VenueEventHandler:
    """Applies venue events to the orders, the account, the protective exits and the strategies.

    ``owner`` maps each client id to the binding that sent it; ``route`` sends what a fill
    leads to (a reversal's entry, a strategy's ``on_fill`` intents) through the gate.
    """

    def __init__(
        self,
        *,
        bus: MessageBus,
        manager: OrderManager,
        account: AccountState,
        desk: ParentDesk,
        host: StrategyHost,
        observer: RiskObserver | None,
        protection: ProtectionBook | None,
        owner: dict[str, Binding],
        bars: Mapping[str, BarSeries],
        route: Route,
    ) -> None:
        self.bus = bus
        self.manager = manager
        self.account = account
        self.desk = desk
        self.host = host
        self.observer = observer
        self.protection = protection
        self._owner = owner
        self._bars = bars
        self._route = route
        self.protective: dict[str, tuple[str, str]] = {}
        """Client id of each working protective exit -> its ``(strategy_id, symbol)``."""
        self.after_exit: dict[tuple[str, str], Intent] = {}
        """A reversal's entry per ``(strategy_id, symbol)``, waiting for its exit to fill."""

    def apply(self, events: list[VenueEvent], at: int) -> None:
        """Apply venue events: order states and fills through the order manager, new fills into
        the portfolio and the strategy; funding and liquidations into the portfolio. Their
        movements are booked at ``at`` (UTC ms: the open time of the bar they belong to, see
        :mod:`tradewind.engine.portfolio`)."""
        publish, manager, account = self.bus.publish, self.manager, self.account
        for event in events:
            kind = type(event)
            publish(VENUE_TOPICS[kind], account.now, event)
            if kind is FundingPaid:
                assert isinstance(event, FundingPaid)
                account.portfolio.apply_funding(event.symbol, event.amount, event.currency, at)
                continue
            if kind is PositionLiquidated:
                assert isinstance(event, PositionLiquidated)
                for key in account.book_liquidation(event, at):
                    if self.protection is not None:
                        self.protection.drop(key)
                continue
            assert not isinstance(event, FundingPaid | PositionLiquidated)
            order = manager.orders.get(event.client_id)
            if order is None:
                log.error("venue reported an unknown order %s", event.client_id)
                continue
            if kind is OrderFilled:
                assert isinstance(event, OrderFilled)
                if not manager.book_fill(order, event):
                    continue  # the same trade again (same trade id): booked once already
                self._filled(order.client_id, order.reduce_only, event.fill, at)
            elif kind is CancelRejected:
                if order.status is OrderStatus.CANCEL_PENDING:
                    order.cancel_refused()
            elif manager.report(order, event):
                if kind is OrderRejected or kind is OrderExpired:
                    log.info("order %s %s: %s", order.client_id, order.status, order.reject_reason)
                if self.observer is not None and (kind is OrderAccepted or kind is OrderRejected):
                    assert not isinstance(event, OrderFilled)
                    self.observer.on_order_result(kind is OrderRejected, event.ts)
            if order.status in TERMINAL and manager.release(order) and self.protective:
                key = self.protective.pop(order.client_id, None)
                if key is not None and order.filled_quantity == 0 and self.protection is not None:
                    self.protection.failed(key)
            if self.desk.working and self.desk.is_child(order.client_id):
                self.desk.child_changed(order, account.now)

    def _filled(self, client_id: str, reduce_only: bool, fill: Fill, at: int) -> None:
        binding = self._owner[client_id]
        order = self.manager.orders[client_id]
        account = self.account
        key = (binding.strategy_id, fill.symbol)
        account.book_fill(fill, binding.strategy_id, at, order.tag)
        if self.protection is not None:
            position = account.portfolio.position(*key)
            # A fill at a bar's open is exposed to that bar; a fill at a close, from the next.
            exposed = at if fill.ts <= at else at + self._bars[fill.symbol].timeframe.ms
            self.protection.on_position(
                key[0], key[1], position.quantity, position.average_price, fill.price, exposed
            )
        if self.after_exit:
            key = (binding.strategy_id, order.symbol)
            waiting = self.after_exit.get(key)
            if waiting is not None and reduce_only and order.status in TERMINAL:
                del self.after_exit[key]
                if account.position(*key) == 0:
                    account.now = max(account.now, fill.ts)
                    self._route(replace(waiting, ts=account.now), binding, at)
        if self.host.wants_fill(binding):
            for intent in self.host.call(binding, "on_fill", fill.ts, fill):
                self._route(intent, binding, at)
