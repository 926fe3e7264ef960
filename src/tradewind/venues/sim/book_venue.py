"""A simulated venue that fills against an L2 book and the public trades: for book-fed backtests
and for measuring execution algorithms on recorded books.

Matching rules (stated, because every result depends on them):

- A marketable limit order (IOC or GTC) takes the opposite side's levels, best first, up to its
  limit price, as a taker; an IOC's remainder expires, a GTC's rests. A market order takes levels
  without a limit. A post-only order that would take is rejected.
- Our own fills consume the book: the size we took at a level is missing from what later orders
  can take there until the liquidity **replenishes**. ``replenish_ms = 0``: the next book update
  restores every level in full (the recording knows nothing of us, so the level is what it says).
  ``replenish_ms > 0``: a level we took from comes back linearly over that many milliseconds
  after our last take, whatever the recording says meanwhile.
- A resting order fills as a maker when a public trade on the other side prints at or through its
  price (its size at most the trade's size, no queue position modelled: an optimistic rule for
  passive orders, stated), or when the opposite best price crosses it.
- Fees: the instrument's maker and taker rates on the notional, in the quote currency.

Events are delivered at once, inside the command or the market update that caused them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from tradewind.core.events import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    VenueEvent,
    VenueOrder,
)
from tradewind.core.instrument import Instrument
from tradewind.core.money import ZERO
from tradewind.core.orders import Fill, Liquidity, Order, OrderStatus, OrderType, TimeInForce
from tradewind.core.ports import EventSink
from tradewind.core.records import Side

Levels = list[tuple[Decimal, Decimal]]
"""Price levels best first: ``(price, size)``."""


@dataclass(slots=True)
class _Resting:
    order: Order
    filled: Decimal = ZERO


class BookVenue:
    """The venue port over L2 books (see the module's rules)."""

    def __init__(self, instruments: Mapping[str, Instrument], *, replenish_ms: int = 0) -> None:
        self.instruments = instruments
        self.replenish_ms = replenish_ms
        self.bids: dict[str, Levels] = {}
        self.asks: dict[str, Levels] = {}
        self.now = 0
        self._taken: dict[tuple[str, Side, Decimal], tuple[Decimal, int]] = {}
        """Size we took per (symbol, book side, price), and when we last took there."""
        self._resting: dict[str, _Resting] = {}
        self._orders: dict[str, Order] = {}
        self._fills: list[Fill] = []
        self._sinks: list[EventSink] = []
        self._trade_ids = itertools.count(1)

    # -- market -----------------------------------------------------------------------------------

    def on_book(self, symbol: str, ts: int, bids: Levels, asks: Levels) -> None:
        """The book of ``symbol`` is now ``bids`` / ``asks`` (best first)."""
        self.now = max(self.now, ts)
        self.bids[symbol] = bids
        self.asks[symbol] = asks
        if self.replenish_ms == 0:
            for key in [k for k in self._taken if k[0] == symbol]:
                del self._taken[key]
        events: list[VenueEvent] = []
        for _cid, resting in list(self._resting.items()):
            order = resting.order
            if order.symbol != symbol or order.price is None:
                continue
            best = asks[0][0] if order.side is Side.BUY and asks else None
            if order.side is Side.SELL and bids:
                best = bids[0][0]
            if best is None:
                continue
            crossed = best <= order.price if order.side is Side.BUY else best >= order.price
            if crossed:
                self._fill(resting, order.quantity - resting.filled, order.price,
                           Liquidity.MAKER, ts, events)  # fmt: skip
        self._deliver(events)

    def on_trade(
        self, symbol: str, ts: int, price: Decimal, size: Decimal, aggressor: Side
    ) -> None:
        """A public trade: resting orders on the passive side at or through ``price`` fill."""
        self.now = max(self.now, ts)
        events: list[VenueEvent] = []
        left = size
        for resting in list(self._resting.values()):
            order = resting.order
            if (
                order.symbol != symbol
                or order.side is aggressor
                or order.price is None
                or left <= 0
            ):
                continue
            through = price <= order.price if order.side is Side.BUY else price >= order.price
            if through:
                qty = min(left, order.quantity - resting.filled)
                left -= qty
                self._fill(resting, qty, order.price, Liquidity.MAKER, ts, events)
        self._deliver(events)

    def available(self, symbol: str, side: Side, price: Decimal, size: Decimal) -> Decimal:
        """What is left to take at one level of the book side ``side`` faces (after our takes)."""
        taken = self._taken.get((symbol, side, price))
        if taken is None:
            return size
        qty, at = taken
        if self.replenish_ms > 0:
            back = qty * Decimal(min(self.now - at, self.replenish_ms)) / Decimal(self.replenish_ms)
            qty -= back
        return max(size - qty, ZERO)

    # -- the venue port ---------------------------------------------------------------------------

    def subscribe(self, sink: EventSink) -> None:
        """Deliver every event from now on to ``sink``."""
        self._sinks.append(sink)

    def submit(self, order: Order, ts: int) -> None:
        """Match ``order`` against the book (see the module's rules)."""
        self.now = max(self.now, ts)
        self._orders[order.client_id] = order
        events: list[VenueEvent] = []
        levels = self.asks.get(order.symbol, []) if order.side is Side.BUY else self.bids.get(
            order.symbol, [])  # fmt: skip
        limit = order.price if order.type is OrderType.LIMIT else None
        if limit is None and order.type is not OrderType.MARKET:
            events.append(OrderRejected(order.client_id, ts, f"{order.type} is not supported"))
            self._deliver(events)
            return
        marketable = bool(levels) and (
            limit is None
            or (levels[0][0] <= limit if order.side is Side.BUY else levels[0][0] >= limit)
        )
        if order.post_only and marketable:
            events.append(OrderRejected(order.client_id, ts, "post-only order would take"))
            self._deliver(events)
            return
        resting = _Resting(order)
        if marketable:
            for price, size in levels:
                if limit is not None and (
                    price > limit if order.side is Side.BUY else price < limit
                ):
                    break
                want = order.quantity - resting.filled
                if want <= 0:
                    break
                qty = min(want, self.available(order.symbol, order.side, price, size))
                if qty > 0:
                    key = (order.symbol, order.side, price)
                    before = self._taken.get(key, (ZERO, ts))[0]
                    if self.replenish_ms > 0:
                        before = size - self.available(order.symbol, order.side, price, size)
                    self._taken[key] = (before + qty, ts)
                    self._fill(resting, qty, price, Liquidity.TAKER, ts, events)
        left = order.quantity - resting.filled
        if left > 0:
            if order.time_in_force is TimeInForce.GTC and limit is not None:
                self._resting[order.client_id] = resting
                events.insert(0, OrderAccepted(order.client_id, ts, order.client_id))
            else:
                events.append(
                    OrderExpired(order.client_id, ts, "no more liquidity within the limit")
                )
        self._deliver(events)

    def cancel(self, client_id: str, ts: int) -> None:
        """Cancel a resting order (OrderCanceled), or refuse (CancelRejected)."""
        self.now = max(self.now, ts)
        if self._resting.pop(client_id, None) is None:
            self._deliver([CancelRejected(client_id, ts, "order is not open")])
        else:
            self._deliver([OrderCanceled(client_id, ts)])

    def cancel_replace(self, client_id: str, order: Order, ts: int) -> None:
        """Cancel ``client_id`` and send ``order``; when the cancel is refused, reject ``order``."""
        if client_id not in self._resting:
            self._deliver([CancelRejected(client_id, ts, "order is not open"),
                           OrderRejected(order.client_id, ts, "order is not open")])  # fmt: skip
            return
        self.cancel(client_id, ts)
        self.submit(order, ts)

    def _fill(
        self,
        resting: _Resting,
        qty: Decimal,
        price: Decimal,
        liquidity: Liquidity,
        ts: int,
        events: list[VenueEvent],
    ) -> None:
        if qty <= 0:
            return
        order = resting.order
        instrument = self.instruments[order.symbol]
        rate = instrument.maker_fee if liquidity is Liquidity.MAKER else instrument.taker_fee
        fill = Fill(order.client_id, order.symbol, order.side, ts, price, qty, price * qty * rate,
                    instrument.quote, liquidity, f"b{next(self._trade_ids)}")  # fmt: skip
        resting.filled += qty
        self._fills.append(fill)
        events.append(OrderFilled(fill, order.quantity))
        if resting.filled >= order.quantity:
            self._resting.pop(order.client_id, None)

    def _deliver(self, events: list[VenueEvent]) -> None:
        if events:
            for sink in self._sinks:
                sink(events)

    # -- queries ----------------------------------------------------------------------------------

    def filled_by_venue(self, prefix: str = "") -> Decimal:
        """The venue's own filled quantity of the orders whose client id starts with ``prefix``."""
        return sum((f.quantity for f in self._fills if f.client_id.startswith(prefix)), ZERO)

    async def order(self, client_id: str) -> VenueOrder | None:
        """What the venue knows of one order."""
        order = self._orders.get(client_id)
        if order is None:
            return None
        mine = [f for f in self._fills if f.client_id == client_id]
        filled = sum((f.quantity for f in mine), ZERO)
        status = OrderStatus.ACCEPTED if client_id in self._resting else OrderStatus.FILLED
        if client_id not in self._resting and filled < order.quantity:
            status = OrderStatus.CANCELED if order.time_in_force is TimeInForce.GTC else (
                OrderStatus.EXPIRED)  # fmt: skip
        average = sum((f.notional for f in mine), ZERO) / filled if filled else None
        return VenueOrder(client_id, order.symbol, status, order.quantity, filled, average)

    async def open_orders(self) -> list[VenueOrder]:
        """Every resting order."""
        found = [await self.order(c) for c in self._resting]
        return [o for o in found if o is not None]

    async def fills(self, since: int) -> list[Fill]:
        """Every fill at or after ``since``."""
        return [f for f in self._fills if f.ts >= since]

    async def positions(self) -> dict[str, Decimal]:
        """No derivative positions are kept here (spot book simulation)."""
        return {}

    async def balances(self) -> dict[str, Decimal]:
        """No wallet is kept here: the account is the engine's portfolio."""
        return {}
