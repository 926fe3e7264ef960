"""The order manager: every order from an approved decision to its end.

It makes the order (:func:`tradewind.execution.orders.order_for`, with a client id), records it
before it is sent (so a crash can be reconciled by client id), reserves what a working entry
will spend, sends it through the venue port, and applies what the venue reports: status reports
and fills, tolerating the wire (a duplicate fill is booked once, a late fill on a canceled order is
booked, a stale status changes nothing; :meth:`tradewind.core.orders.Order.report`). When an
order ends, its reservation is released, once.

It books nothing into the account: the Node, which composes it, passes each newly booked fill on
to the portfolio, the risk observer and the strategy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from tradewind.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
)
from tradewind.core.instrument import Instrument
from tradewind.core.intents import Decision
from tradewind.core.money import ZERO
from tradewind.core.orders import TRANSITIONS, ClientIdFactory, Order, OrderStatus
from tradewind.core.ports import Venue
from tradewind.core.records import Side
from tradewind.execution.orders import order_for

Publish = Callable[[str, int, object], None]
"""Where the manager announces what it does: ``publish(topic, ts, payload)``."""


class OrderManager:
    """Orders by client id, the working ones per ``(strategy_id, symbol)``, and reservations.

    Parameters
    ----------
    venue
        The venue port orders are sent through.
    ids
        Client ids (unique across restarts of the same bot).
    instruments
        Instrument per symbol (the currency a buy reserves).
    publish
        Announces ``order.submitted`` (the bus).
    """

    def __init__(
        self,
        venue: Venue,
        ids: ClientIdFactory,
        instruments: Mapping[str, Instrument],
        publish: Publish,
    ) -> None:
        self.venue = venue
        self.ids = ids
        self.instruments = instruments
        self.publish = publish
        self.orders: dict[str, Order] = {}
        self.working: dict[tuple[str, str], set[str]] = {}
        """Client ids of the open orders of each ``(strategy_id, symbol)``."""
        self.reserved: dict[str, Decimal] = {}
        """Quote currency that working buy orders will spend, per asset."""

    def exiting(self, key: tuple[str, str]) -> bool:
        """True while a reduce-only order of ``key`` is working."""
        orders = self.orders
        return any(orders[c].reduce_only for c in self.working.get(key, ()))

    def place(self, decision: Decision, now: int) -> Order:
        """Make, record and reserve the order for an approved ``decision``; mark it sent.

        The caller sends it with :meth:`send` right after (the order is recorded first, so a
        crash between the two can be reconciled by its client id).
        """
        return self.place_order(order_for(decision, self.ids, now), now)

    def place_order(self, order: Order, now: int) -> Order:
        """Record and reserve an order made elsewhere (an algorithm's child order); mark it sent.

        The caller sends it with :meth:`send` right after, as for :meth:`place`.
        """
        self.orders[order.client_id] = order
        key = (order.strategy_id, order.symbol)
        working = self.working.get(key)
        if working is None:
            working = self.working[key] = set()
        working.add(order.client_id)
        reserve = _reserve(order)
        if reserve:
            quote = self.instruments[order.symbol].quote
            self.reserved[quote] = self.reserved.get(quote, ZERO) + reserve
        order.submit()
        self.publish("order.submitted", now, order)
        return order

    def adopt(self, order: Order) -> None:
        """Carry on a working order an earlier session recorded (after a restart): it is tracked
        and reserved as if placed here, without being announced or recorded again."""
        self.orders[order.client_id] = order
        self.working.setdefault((order.strategy_id, order.symbol), set()).add(order.client_id)
        reserve = _reserve(order)
        if reserve:
            quote = self.instruments[order.symbol].quote
            self.reserved[quote] = self.reserved.get(quote, ZERO) + reserve

    def send(self, order: Order, now: int) -> None:
        """Send ``order`` through the venue port (its events come back through the port)."""
        self.venue.submit(order, now)

    def cancel(self, client_id: str, now: int) -> None:
        """Ask the venue to cancel an open order (CANCEL_PENDING until it answers)."""
        order = self.orders[client_id]
        if OrderStatus.CANCEL_PENDING in TRANSITIONS[order.status]:
            order.request_cancel()
        self.venue.cancel(client_id, now)

    def book_fill(self, order: Order, event: OrderFilled) -> bool:
        """Apply a fill to its order; True when it is new (booked), False for a duplicate."""
        if order.quote_quantity is not None and order.quantity == 0:
            order.resolve_quantity(event.order_quantity)
        return order.record_fill(event.fill)

    def report(self, order: Order, event: OrderEvent) -> bool:
        """Apply a status event to its order; True when the order moved (not stale)."""
        kind = type(event)
        if kind is OrderAccepted:
            assert isinstance(event, OrderAccepted)
            moved = order.report(OrderStatus.ACCEPTED)
            if moved and event.venue_order_id:
                order.venue_order_id = event.venue_order_id
            return moved
        if kind is OrderRejected:
            assert isinstance(event, OrderRejected)
            return order.report(OrderStatus.REJECTED, event.reason)
        if kind is OrderExpired:
            assert isinstance(event, OrderExpired)
            return order.report(OrderStatus.EXPIRED, event.reason)
        if kind is OrderCanceled:
            return order.report(OrderStatus.CANCELED)
        if kind is OrderTriggered:
            return order.report(OrderStatus.TRIGGERED)
        raise TypeError(f"not an order status event: {event!r}")

    def release(self, order: Order) -> bool:
        """Forget a finished order's working slot and reservation; True the first time only
        (a late fill on a canceled order ends it again)."""
        working = self.working.get((order.strategy_id, order.symbol))
        if working is None or order.client_id not in working:
            return False
        working.discard(order.client_id)
        reserve = _reserve(order)
        if reserve:
            quote = self.instruments[order.symbol].quote
            self.reserved[quote] = self.reserved.get(quote, ZERO) - reserve
        return True


def _reserve(order: Order) -> Decimal:
    """What a working buy holds back: its quote amount, or a limit entry's price x quantity."""
    if order.side is not Side.BUY:
        return ZERO
    return order.quote_quantity or (
        order.quantity * order.price if order.price and not order.reduce_only else ZERO
    )
