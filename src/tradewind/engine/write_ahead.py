"""Write-ahead order keeping for live trading: the database first, then the exchange.

:class:`WriteAheadOrders` sits between whoever decides (a strategy, the order manager) and the
venue port, with a :class:`~tradewind.core.repository.TradingRepository` (reliability-anchors.md,
requirements 1 and 6):

- :meth:`~WriteAheadOrders.place` commits the order with its client id (``NEW``, then
  ``SUBMITTED``) **before** the request is sent; a crash in between leaves an order the database
  knows and a lookup by client id resolves.
- :meth:`~WriteAheadOrders.on_events` (the port's sink) commits every venue event before anything
  acts on it; a fill is stored once per exchange trade id (the repository refuses the second) and
  only a stored fill changes the order.
- :meth:`~WriteAheadOrders.resolve` and :meth:`~WriteAheadOrders.lost` apply what reconciliation
  found after a restart (source ``reconcile``).

Named crash points (:func:`tradewind.core.crash.crash_point`): ``after_write_before_send``,
``after_fill_before_commit``, ``during_stop_replace`` (the replacement is written, the
cancel-replace not yet sent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tradewind.core.crash import crash_point
from tradewind.core.events import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    VenueEvent,
    VenueOrder,
)
from tradewind.core.orders import Fill, Order, OrderStatus
from tradewind.core.ports import Venue
from tradewind.core.repository import OrderTransition, TradingRepository, TransitionSource

_STATUS: dict[type, OrderStatus] = {
    OrderAccepted: OrderStatus.ACCEPTED,
    OrderTriggered: OrderStatus.TRIGGERED,
    OrderCanceled: OrderStatus.CANCELED,
    OrderExpired: OrderStatus.EXPIRED,
    OrderRejected: OrderStatus.REJECTED,
}


_FILLED = frozenset({OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED})


class WriteAheadOrders:
    """Orders kept in the repository ahead of the venue (see the module docstring).

    ``on_change`` is called with each order after its change is committed (the point where the
    engine may act on it).
    """

    def __init__(
        self,
        repository: TradingRepository,
        venue: Venue,
        *,
        strategy_id: str = "",
        on_change: Callable[[Order], None] | None = None,
    ) -> None:
        self.repository = repository
        self.venue = venue
        self.strategy_id = strategy_id
        self.on_change = on_change
        self.orders: dict[str, Order] = {}

    def adopt(self, orders: Iterable[Order]) -> None:
        """Keep orders loaded from the repository (after a restart)."""
        for order in orders:
            self.orders[order.client_id] = order

    def place(self, order: Order, ts: int) -> None:
        """Commit ``order`` (NEW, then SUBMITTED), then send it."""
        self.repository.record_order(order, ts, TransitionSource.ENGINE)
        order.submit()
        self.repository.record_transition(
            OrderTransition(order.client_id, OrderStatus.SUBMITTED, ts, TransitionSource.ENGINE)
        )
        self.orders[order.client_id] = order
        crash_point("after_write_before_send")
        self.venue.submit(order, ts)

    def replace(self, client_id: str, order: Order, ts: int) -> None:
        """Commit ``order``, then cancel ``client_id`` and send ``order`` once the cancel is
        confirmed (a stop moved by cancel-replace, or an exit that takes a stop's place)."""
        self.repository.record_order(order, ts, TransitionSource.ENGINE)
        order.submit()
        self.repository.record_transition(
            OrderTransition(order.client_id, OrderStatus.SUBMITTED, ts, TransitionSource.ENGINE)
        )
        self.orders[order.client_id] = order
        crash_point("during_stop_replace")
        self.venue.cancel_replace(client_id, order, ts)

    def cancel(self, client_id: str, ts: int) -> None:
        """Ask the venue to cancel (the answer comes back as events)."""
        self.venue.cancel(client_id, ts)

    def on_events(self, events: list[VenueEvent]) -> None:
        """The port's sink: commit each event, then let the engine act on it."""
        for event in events:
            if isinstance(event, OrderFilled):
                self._fill(event.fill, TransitionSource.VENUE)
                continue
            if isinstance(event, CancelRejected):
                continue
            status = _STATUS.get(type(event))
            order = self.orders.get(getattr(event, "client_id", ""))
            if status is None or order is None:
                continue
            reason = getattr(event, "reason", "")
            self._status(order, status, event.ts, TransitionSource.VENUE, reason)

    def resolve(self, found: VenueOrder, fills: Iterable[Fill], ts: int) -> None:
        """Apply what a lookup found: the order's new fills (each trade id once), then its
        status."""
        for fill in fills:
            self._fill(fill, TransitionSource.RECONCILE)
        order = self.orders.get(found.client_id)
        if order is not None and found.status not in _FILLED:
            self._status(order, found.status, ts, TransitionSource.RECONCILE, found.reason)

    def book_fill(self, fill: Fill) -> None:
        """Book a fill reconciliation found for an order that had already ended (once)."""
        self._fill(fill, TransitionSource.RECONCILE)

    def lost(self, client_id: str, ts: int, reason: str) -> None:
        """The exchange never saw the order: REJECTED (lost); the intent is not retried."""
        order = self.orders.get(client_id)
        if order is not None:
            self._status(order, OrderStatus.REJECTED, ts, TransitionSource.RECONCILE, reason)

    def _fill(self, fill: Fill, source: TransitionSource) -> None:
        order = self.orders.get(fill.client_id)
        if order is None or any(f.trade_id == fill.trade_id for f in order.fills):
            return
        crash_point("after_fill_before_commit")
        order.record_fill(fill)  # the state to commit; nothing acts on it before the commit
        transition = OrderTransition(
            order.client_id, order.status, fill.ts, source,
            filled_quantity=order.filled_quantity, average_price=order.average_price,
        )  # fmt: skip
        if self.repository.record_fill(fill, order.strategy_id or self.strategy_id, transition):
            self._changed(order)

    def _status(
        self, order: Order, status: OrderStatus, ts: int, source: TransitionSource, reason: str
    ) -> None:
        if status is order.status or order.status.is_terminal:
            return
        if not order.report(status, reason):
            return
        transition = OrderTransition(
            order.client_id, order.status, ts, source, detail=reason,
            venue_order_id=order.venue_order_id,
        )  # fmt: skip
        self.repository.record_transition(transition)
        self._changed(order)

    def _changed(self, order: Order) -> None:
        if self.on_change is not None:
            self.on_change(order)
