"""One conformance suite for every implementation of the venue port.

A venue is done when it passes :class:`VenueConformance`: a test class for a venue inherits it and
provides a :class:`VenueHarness` (the port, its instrument, a way to let the market move). Every
test drives the port as the engine does (commands in, events out through the subscribed sink) and
awaits the events with a timeout, so the same tests run against a venue that answers at once (the
simulated venue) and one that answers over a network (paper, ccxt against the exchange simulator).

What it checks: market, limit and stop orders; partial fills; cancels and cancel-replace; refusals
with the venue's reason (a bad order, a cancel of an unknown order); fees in the instrument's fee
currency; balances after fills; the reconciliation queries (``order``, ``open_orders``, ``fills``,
``positions``, ``balances``); and that the order manager reaches the same order states from the
venue's events when they arrive duplicated and reordered.
"""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from decimal import Decimal
from typing import ClassVar

import pytest

from tradewind.core.events import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    VenueEvent,
)
from tradewind.core.instrument import Instrument
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.ports import Venue
from tradewind.core.records import Side
from tradewind.execution.order_manager import OrderManager


class VenueHarness(ABC):
    """One venue under test: its port, the instrument traded, and the passing of time."""

    venue: Venue
    instrument: Instrument
    partial_quantity: Decimal | None = None
    """A market-buy quantity this venue fills in several parts (None: it cannot be arranged)."""

    def __init__(self) -> None:
        self.pending: list[VenueEvent] = []
        self.seen: list[VenueEvent] = []
        self._ids = ClientIdFactory("conf")

    def connect(self) -> None:
        """Subscribe to the venue's events (call once, after ``venue`` is set)."""
        self.venue.subscribe(self.receive)

    def receive(self, events: list[VenueEvent]) -> None:
        """The sink: every event the venue delivers, in the order it arrives."""
        self.pending.extend(events)
        self.seen.extend(events)

    def client_id(self) -> str:
        """A fresh client id."""
        return self._ids.next()

    @abstractmethod
    def now(self) -> int:
        """The venue's current time (UTC ms)."""

    @abstractmethod
    def price(self) -> Decimal:
        """A recent trade price of the instrument, on its tick."""

    @abstractmethod
    async def step(self) -> None:
        """Let the market move a little (a bar for a simulated venue, a pause for a live one)."""

    async def next_event(
        self, match: Callable[[VenueEvent], bool], timeout: float = 5.0, steps: int = 2_000
    ) -> VenueEvent:
        """The first event (delivered or still to come) that ``match`` accepts; fail after
        ``timeout`` seconds or ``steps`` market steps."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for _ in range(steps):
            for k, event in enumerate(self.pending):
                if match(event):
                    del self.pending[k]
                    return event
            if loop.time() > deadline:
                break
            await self.step()
        pytest.fail(f"no matching event within {timeout}s; the venue sent {self.seen[-10:]!r}")


def _is(kind: type, client_id: str) -> Callable[[VenueEvent], bool]:
    return lambda e: type(e) is kind and getattr(e, "client_id", None) == client_id


class VenueConformance:
    """The inherited suite. Subclasses define the ``harness`` fixture."""

    timeout: ClassVar[float] = 5.0

    @pytest.fixture
    def harness(self) -> VenueHarness:
        raise NotImplementedError("a venue's test class provides its harness")

    def _order(
        self, h: VenueHarness, side: Side, kind: OrderType, qty: Decimal, **kw: object
    ) -> Order:
        return Order(h.client_id(), h.instrument.symbol, side, kind, qty, created_ts=h.now(), **kw)  # type: ignore[arg-type]

    def _small(self, h: VenueHarness) -> Decimal:
        """A quantity worth about 100 quote units, on the lot step."""
        step = h.instrument.amount_step
        return max(step, (Decimal(100) / h.price() // step) * step)

    async def _filled(
        self, h: VenueHarness, client_id: str, quantity: Decimal
    ) -> list[OrderFilled]:
        fills: list[OrderFilled] = []
        total = Decimal(0)
        while total < quantity:
            event = await h.next_event(_is(OrderFilled, client_id), self.timeout)
            assert isinstance(event, OrderFilled)
            fills.append(event)
            total += event.fill.quantity
        assert total == quantity
        return fills

    async def test_a_market_buy_fills_with_its_fee_in_the_fee_currency(
        self, harness: VenueHarness
    ) -> None:
        h = harness
        before = await h.venue.balances()
        qty = self._small(h)
        order = self._order(h, Side.BUY, OrderType.MARKET, qty)
        h.venue.submit(order, h.now())
        await h.next_event(_is(OrderAccepted, order.client_id), self.timeout)
        fills = await self._filled(h, order.client_id, qty)
        fee_currency = h.instrument.fee_currency(Side.BUY)
        assert {f.fill.fee_currency for f in fills} == {fee_currency}
        assert all(f.fill.fee > 0 for f in fills)
        after = await h.venue.balances()
        base, quote = h.instrument.base, h.instrument.quote
        fee = {
            c: sum((f.fill.fee for f in fills if f.fill.fee_currency == c), Decimal(0))
            for c in (base, quote)
        }
        spent = sum((f.fill.price * f.fill.quantity for f in fills), Decimal(0))
        assert after.get(base, Decimal(0)) - before.get(base, Decimal(0)) == qty - fee[base]
        assert before[quote] - after[quote] == spent + fee[quote]
        found = await h.venue.order(order.client_id)
        assert found is not None
        assert found.status is OrderStatus.FILLED
        assert found.filled == qty

    async def test_a_sell_pays_its_fee_in_the_fee_currency(self, harness: VenueHarness) -> None:
        h = harness
        qty = self._small(h)
        buy = self._order(h, Side.BUY, OrderType.MARKET, qty)
        h.venue.submit(buy, h.now())
        bought = await self._filled(h, buy.client_id, qty)
        held = qty - sum(
            (f.fill.fee for f in bought if f.fill.fee_currency == h.instrument.base), Decimal(0)
        )
        sell_qty = (held // h.instrument.amount_step) * h.instrument.amount_step
        sell = self._order(h, Side.SELL, OrderType.MARKET, sell_qty)
        h.venue.submit(sell, h.now())
        sold = await self._filled(h, sell.client_id, sell_qty)
        assert {f.fill.fee_currency for f in sold} == {h.instrument.fee_currency(Side.SELL)}

    async def test_a_limit_order_rests_shows_in_open_orders_and_cancels(
        self, harness: VenueHarness
    ) -> None:
        h = harness
        price = (h.price() * Decimal("0.5") // h.instrument.price_step) * h.instrument.price_step
        order = self._order(h, Side.BUY, OrderType.LIMIT, self._small(h), price=price)
        h.venue.submit(order, h.now())
        await h.next_event(_is(OrderAccepted, order.client_id), self.timeout)
        await h.step()
        assert [o.client_id for o in await h.venue.open_orders()] == [order.client_id]
        h.venue.cancel(order.client_id, h.now())
        await h.next_event(_is(OrderCanceled, order.client_id), self.timeout)
        assert await h.venue.open_orders() == []
        found = await h.venue.order(order.client_id)
        assert found is not None
        assert found.status is OrderStatus.CANCELED
        assert found.filled == 0

    async def test_a_marketable_limit_fills(self, harness: VenueHarness) -> None:
        h = harness
        price = (h.price() * Decimal("1.05") // h.instrument.price_step) * h.instrument.price_step
        qty = self._small(h)
        order = self._order(h, Side.BUY, OrderType.LIMIT, qty, price=price)
        h.venue.submit(order, h.now())
        fills = await self._filled(h, order.client_id, qty)
        assert all(f.fill.price <= price for f in fills)

    async def test_a_stop_order_triggers_then_fills(self, harness: VenueHarness) -> None:
        h = harness
        trigger = (
            h.price() * Decimal("1.0005") // h.instrument.price_step + 1
        ) * h.instrument.price_step
        qty = self._small(h)
        order = self._order(h, Side.BUY, OrderType.STOP_MARKET, qty, trigger_price=trigger)
        h.venue.submit(order, h.now())
        await h.next_event(_is(OrderAccepted, order.client_id), self.timeout)
        await h.next_event(_is(OrderTriggered, order.client_id), self.timeout)
        fills = await self._filled(h, order.client_id, qty)
        assert all(f.fill.price >= trigger * Decimal("0.99") for f in fills)

    async def test_partial_fills_add_up_to_the_order(self, harness: VenueHarness) -> None:
        h = harness
        if h.partial_quantity is None:
            pytest.skip("this venue cannot be made to fill in parts on demand")
        order = self._order(h, Side.BUY, OrderType.MARKET, h.partial_quantity)
        h.venue.submit(order, h.now())
        fills = await self._filled(h, order.client_id, h.partial_quantity)
        assert len(fills) > 1
        assert len({f.fill.trade_id for f in fills}) == len(fills)
        since = min(f.fill.ts for f in fills)
        listed = [f for f in await h.venue.fills(since) if f.client_id == order.client_id]
        assert listed == [f.fill for f in fills]

    async def test_cancel_replace_swaps_a_resting_order(self, harness: VenueHarness) -> None:
        h = harness
        step = h.instrument.price_step
        low = (h.price() * Decimal("0.5") // step) * step
        first = self._order(h, Side.BUY, OrderType.LIMIT, self._small(h), price=low)
        h.venue.submit(first, h.now())
        await h.next_event(_is(OrderAccepted, first.client_id), self.timeout)
        second = self._order(h, Side.BUY, OrderType.LIMIT, self._small(h), price=low - step)
        h.venue.cancel_replace(first.client_id, second, h.now())
        await h.next_event(_is(OrderCanceled, first.client_id), self.timeout)
        await h.next_event(_is(OrderAccepted, second.client_id), self.timeout)
        assert [o.client_id for o in await h.venue.open_orders()] == [second.client_id]
        # Replacing an order that is gone is refused, and the new order is not sent.
        third = self._order(h, Side.BUY, OrderType.LIMIT, self._small(h), price=low)
        h.venue.cancel_replace(first.client_id, third, h.now())
        refused = await h.next_event(_is(CancelRejected, first.client_id), self.timeout)
        assert isinstance(refused, CancelRejected)
        assert refused.reason
        await h.next_event(_is(OrderRejected, third.client_id), self.timeout)

    async def test_refusals_carry_the_venues_reason(self, harness: VenueHarness) -> None:
        h = harness
        odd = h.instrument.amount_step / 2  # off the lot step
        bad = self._order(h, Side.BUY, OrderType.MARKET, self._small(h) + odd)
        h.venue.submit(bad, h.now())
        rejected = await h.next_event(_is(OrderRejected, bad.client_id), self.timeout)
        assert isinstance(rejected, OrderRejected)
        assert rejected.reason
        found = await h.venue.order(bad.client_id)
        assert found is not None
        assert found.status is OrderStatus.REJECTED
        assert found.reason == rejected.reason
        h.venue.cancel("never-sent", h.now())
        refused = await h.next_event(_is(CancelRejected, "never-sent"), self.timeout)
        assert isinstance(refused, CancelRejected)
        assert refused.reason

    async def test_the_queries_answer_as_the_events_said(self, harness: VenueHarness) -> None:
        h = harness
        assert await h.venue.order("never-sent") is None
        start = h.now()
        qty = self._small(h)
        order = self._order(h, Side.BUY, OrderType.MARKET, qty)
        h.venue.submit(order, h.now())
        fills = await self._filled(h, order.client_id, qty)
        listed = await h.venue.fills(start)
        assert [f for f in listed if f.client_id == order.client_id] == [f.fill for f in fills]
        assert await h.venue.fills(max(f.fill.ts for f in fills) + 1) == []
        assert await h.venue.positions() == {}  # spot: holdings are balances
        balances = await h.venue.balances()
        assert balances[h.instrument.base] > 0

    async def test_duplicated_and_reordered_events_give_the_same_order_states(
        self, harness: VenueHarness
    ) -> None:
        # The venue's real events for a few orders, fed to two order managers: one as sent, one
        # through a wire that doubles and swaps them. Both end with the same orders.
        h = harness
        clean = _Manager(h.instrument)
        wired = _Manager(h.instrument)
        step = h.instrument.price_step
        orders = [
            self._order(h, Side.BUY, OrderType.MARKET, self._small(h)),
            self._order(
                h,
                Side.BUY,
                OrderType.LIMIT,
                self._small(h),
                price=(h.price() * Decimal("0.5") // step) * step,
            ),
        ]
        if h.partial_quantity is not None:
            orders.append(self._order(h, Side.BUY, OrderType.MARKET, h.partial_quantity))
        for order in orders:
            clean.track(order)
            wired.track(order)
            h.venue.submit(order, h.now())
        await self._filled(h, orders[0].client_id, orders[0].quantity)
        if h.partial_quantity is not None:
            await self._filled(h, orders[2].client_id, orders[2].quantity)
        h.venue.cancel(orders[1].client_id, h.now())
        await h.next_event(_is(OrderCanceled, orders[1].client_id), self.timeout)
        mine = [e for e in h.seen if getattr(e, "client_id", None) in clean.manager.orders]
        clean.apply(mine)
        rng = random.Random(7)
        for _ in range(200):
            wire = list(mine) + rng.sample(mine, k=min(3, len(mine)))
            for _ in range(4):
                k = rng.randrange(len(wire) - 1)
                wire[k], wire[k + 1] = wire[k + 1], wire[k]
            again = _Manager(h.instrument)
            for order in orders:
                again.track(order)
            again.apply(wire)
            again.apply(mine)  # reconciliation: a lookup replays what the venue knows
            assert again.states() == clean.states()
        wired.apply(list(reversed(mine)) + mine)
        assert wired.states() == clean.states()


class _Manager:
    """An order manager fed events by hand (its venue is never used: the orders were sent by the
    test, through the venue under test)."""

    def __init__(self, instrument: Instrument) -> None:
        self.manager = OrderManager(
            _Unused(), ClientIdFactory("mgr", session="0"), {instrument.symbol: instrument},
            lambda topic, ts, payload: None,
        )  # fmt: skip

    def track(self, order: Order) -> None:
        copy = Order(
            order.client_id, order.symbol, order.side, order.type, order.quantity,
            price=order.price, trigger_price=order.trigger_price,
        )  # fmt: skip
        copy.submit()
        self.manager.orders[copy.client_id] = copy
        self.manager.working.setdefault(("", copy.symbol), set()).add(copy.client_id)

    def apply(self, events: list[VenueEvent]) -> None:
        for event in events:
            order = self.manager.orders[event.client_id]  # type: ignore[union-attr]
            if type(event) is OrderFilled:
                self.manager.book_fill(order, event)
            elif type(event) is CancelRejected:
                continue
            else:
                self.manager.report(order, event)  # type: ignore[arg-type]
            if order.status.is_terminal:
                self.manager.release(order)

    def states(self) -> dict[str, tuple[OrderStatus, Decimal, tuple[str, ...]]]:
        return {
            c: (o.status, o.filled_quantity, tuple(sorted(f.trade_id for f in o.fills)))
            for c, o in self.manager.orders.items()
        }


class _Unused:
    """A venue port nobody calls (see :class:`_Manager`)."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the manager under test must not call the venue ({name})")
