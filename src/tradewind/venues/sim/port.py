"""The simulated venue behind the venue port: commands in, events out, and the queries.

:class:`SimVenue` answers each call with the events it caused; this port delivers them to the
subscriber at once, inside the command (a backtest's venue has no wire: nothing is late, doubled or
reordered, so results are those of calling the venue directly). It also keeps what a real venue
keeps for lookups: every order it was sent with its status and fills, so reconciliation queries
(``order``, ``open_orders``, ``fills``, ``positions``, ``balances``) answer as an exchange would.

The backtest runner drives the bars through :meth:`SimVenuePort.process_bar` and hands the events
to the Node itself, with the bar index only it knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

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
from tradewind.core.money import ZERO
from tradewind.core.orders import Fill, Order, OrderStatus
from tradewind.core.ports import EventSink
from tradewind.venues.sim.venue import SimVenue


@dataclass(slots=True)
class _Record:
    """The venue's own book-keeping of one order, from its events."""

    order: Order
    status: OrderStatus = OrderStatus.SUBMITTED
    quantity: Decimal = ZERO
    filled: Decimal = ZERO
    cost: Decimal = ZERO
    reason: str = ""
    fills: list[Fill] = field(default_factory=list)

    def snapshot(self) -> VenueOrder:
        return VenueOrder(
            client_id=self.order.client_id,
            symbol=self.order.symbol,
            status=self.status,
            quantity=self.quantity,
            filled=self.filled,
            average_price=self.cost / self.filled if self.filled else None,
            venue_order_id=self.order.client_id,
            reason=self.reason,
        )


_OPEN = frozenset({OrderStatus.ACCEPTED, OrderStatus.TRIGGERED, OrderStatus.PARTIALLY_FILLED})


class SimVenuePort:
    """:class:`SimVenue` as a venue port (:class:`tradewind.core.ports.Venue`) and as the
    bar-driven venue of the backtest runner (:class:`tradewind.core.ports.BarDrivenVenue`)."""

    def __init__(self, venue: SimVenue) -> None:
        self.venue = venue
        self._sink: EventSink | None = None
        self._records: dict[str, _Record] = {}
        self._fills: list[Fill] = []

    # -- commands in, events out ------------------------------------------------------------------

    def subscribe(self, sink: EventSink) -> None:
        """Deliver every event from now on to ``sink``."""
        self._sink = sink

    def submit(self, order: Order, ts: int) -> None:
        """Send ``order``; its events (accepted, rejected, or filled at a close) follow at once."""
        self._records[order.client_id] = _Record(order, quantity=order.quantity)
        self._deliver(self.venue.submit(order, ts))

    def cancel(self, client_id: str, ts: int) -> None:
        """Cancel a working order: OrderCanceled, or CancelRejected with the venue's reason."""
        self._deliver(self._cancel(client_id, ts))

    def cancel_replace(self, client_id: str, order: Order, ts: int) -> None:
        """Cancel ``client_id`` and send ``order`` in its place (not sent if the cancel fails)."""
        events = self._cancel(client_id, ts)
        if isinstance(events[-1], CancelRejected):
            self._records[order.client_id] = _Record(order, quantity=order.quantity)
            refused = OrderRejected(order.client_id, ts, f"replace refused: {events[-1].reason}")
            self._deliver([*events, refused])
            return
        self._records[order.client_id] = _Record(order, quantity=order.quantity)
        self._deliver(events + self.venue.submit(order, ts))

    def _cancel(self, client_id: str, ts: int) -> list[VenueEvent]:
        events = self.venue.cancel(client_id, ts)
        # SimVenue answers a cancel it cannot do as Binance does, with a rejection; on the port
        # that is the cancel's refusal, not the order's.
        return [
            CancelRejected(e.client_id, e.ts, e.reason) if type(e) is OrderRejected else e
            for e in events
        ]

    def _deliver(self, events: list[VenueEvent]) -> None:
        self._note(events)
        if self._sink is not None and events:
            self._sink(events)

    # -- driven by the backtest runner ------------------------------------------------------------

    @property
    def revision(self) -> int:
        """Changes whenever the venue's state changes (the runner caches :meth:`next_bar`)."""
        return self.venue.revision

    @revision.setter
    def revision(self, value: int) -> None:
        self.venue.revision = value

    def next_bar(self, symbol: str) -> int | None:
        """Index of the next bar of ``symbol`` on which something can happen, or None."""
        return self.venue.next_bar(symbol)

    def process_bar(self, symbol: str, index: int) -> list[VenueEvent]:
        """Run bar ``index`` of ``symbol``; the events go back to the runner (not the sink)."""
        events = self.venue.process_bar(symbol, index)
        if events:
            self._note(events)
        return events

    # -- queries ----------------------------------------------------------------------------------

    async def order(self, client_id: str) -> VenueOrder | None:
        """What the venue knows of one order, or None if it never saw it."""
        record = self._records.get(client_id)
        return None if record is None else record.snapshot()

    async def open_orders(self) -> list[VenueOrder]:
        """Every order still working."""
        return [r.snapshot() for r in self._records.values() if r.status in _OPEN]

    async def fills(self, since: int) -> list[Fill]:
        """Every fill at or after ``since`` (UTC ms), oldest first."""
        return [f for f in self._fills if f.ts >= since]

    async def positions(self) -> dict[str, Decimal]:
        """Signed open position per perpetual."""
        return {s: p.quantity for s, p in self.venue.margin.positions.items() if p.is_open}

    async def balances(self) -> dict[str, Decimal]:
        """Wallet balance of every asset."""
        return self.venue.balances

    # -- book-keeping -----------------------------------------------------------------------------

    def _note(self, events: list[VenueEvent]) -> None:
        records = self._records
        for event in events:
            kind = type(event)
            if kind is OrderFilled:
                assert isinstance(event, OrderFilled)
                fill = event.fill
                record = records.get(fill.client_id)
                self._fills.append(fill)
                if record is None:
                    continue  # the venue's own orders (an auto-close at liquidation)
                record.quantity = event.order_quantity
                record.filled += fill.quantity
                record.cost += fill.price * fill.quantity
                record.fills.append(fill)
                if record.status not in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
                    record.status = (
                        OrderStatus.FILLED
                        if record.filled >= record.quantity
                        else OrderStatus.PARTIALLY_FILLED
                    )
                continue
            status = _STATUS.get(kind)
            if status is None:
                continue
            record = records.get(getattr(event, "client_id", ""))
            if record is None:
                continue
            if status is OrderStatus.ACCEPTED and record.status is not OrderStatus.SUBMITTED:
                continue
            if status is OrderStatus.TRIGGERED and record.status is OrderStatus.PARTIALLY_FILLED:
                continue
            record.status = status
            if kind is OrderRejected or kind is OrderExpired:
                record.reason = getattr(event, "reason", "")


_STATUS: dict[type, OrderStatus] = {
    OrderAccepted: OrderStatus.ACCEPTED,
    OrderTriggered: OrderStatus.TRIGGERED,
    OrderRejected: OrderStatus.REJECTED,
    OrderCanceled: OrderStatus.CANCELED,
    OrderExpired: OrderStatus.EXPIRED,
}
