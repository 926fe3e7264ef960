"""Parent orders: an algorithm (:mod:`tradewind.execution.algos`) driving child orders through the
one order manager.

A parent is sized once (it passed the risk gate as one decision); it never sends more than its
quantity. At every moment its filled quantity plus the open quantity of its children is at most
its quantity: a child is sized from what is not yet *committed*, where committed is what filled,
what rests in open children (an UNKNOWN child counts in full: it may be resting), and the
remainder of children that ended less than ``settle_ms`` ago (a fill that raced the end of a
child can still be on its way; ``settle_ms`` is the longest delivery delay the venue is trusted
with: 0 for the simulated venue, which answers inside the command, seconds live).

Child client ids are ``<parent id>-<slice>``: after a restart a parent looks each slice up by its
id before it sends anything (the ids are deterministic). Every change of a parent is announced
(``parent.created``, ``parent.child``, ``parent.ended``) before the child goes out, through the
same publish function orders use, so a recorder writes a parent's state ahead as it writes an
order's.

Risk: :meth:`ParentEngine.reserved` is the unfilled remainder of the working parents (exposure
they may still add); :meth:`ParentEngine.halt_adding` cancels every parent that adds exposure
(breaker trip, kill switch), with the reason, while reduce-only parents go on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from tradewind.core.crash import crash_point
from tradewind.core.errors import UserError
from tradewind.core.events import CancelRejected, OrderEvent, OrderFilled
from tradewind.core.instrument import Instrument
from tradewind.core.money import ZERO
from tradewind.core.orders import CLIENT_ID_MAX, Order, OrderStatus, OrderType, TimeInForce
from tradewind.core.ports import Venue
from tradewind.core.records import Side
from tradewind.execution.algos import (
    Algo,
    AlgoSpec,
    Timeout,
    floor_to,
    guard_price,
    merge_small,
    passive_price,
    pov_target,
    schedule,
    within_chase,
)
from tradewind.execution.order_manager import OrderManager

Publish = Callable[[str, int, object], None]

MAX_SLICES = 9999
"""The most children one parent sends (four digits of slice number in its children's ids)."""


class ParentStatus(StrEnum):
    """Where a parent is."""

    WORKING = "working"
    DONE = "done"
    """Ended by its algorithm (filled, or its time is up: the remainder is an opportunity cost)."""
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class MarketView:
    """What a parent sees of its market at one moment: the best prices and the volume traded so
    far (base units, cumulative from any fixed origin)."""

    ts: int
    bid: Decimal
    ask: Decimal
    volume: Decimal = ZERO

    @property
    def mid(self) -> Decimal:
        """The mid price."""
        return (self.bid + self.ask) / 2


@dataclass(slots=True)
class Parent:
    """One parent order and its children."""

    parent_id: str
    strategy_id: str
    symbol: str
    side: Side
    quantity: Decimal
    spec: AlgoSpec
    reduce_only: bool
    created_ts: int
    arrival_mid: Decimal
    plan: list[tuple[int, Decimal]] = field(default_factory=list)
    status: ParentStatus = ParentStatus.WORKING
    reason: str = ""
    children: list[str] = field(default_factory=list)
    start_volume: Decimal = ZERO
    limit_price: Decimal | None = None
    crossing: bool = False
    ended_ts: int | None = None
    final_mid: Decimal | None = None
    ended_children: dict[str, int] = field(default_factory=dict)
    """Children that ended, with when (for the settle window)."""
    filled_quantity: Decimal = ZERO
    """What the children have filled, kept as their fills are applied."""
    seen: dict[str, Decimal] = field(default_factory=dict)
    """Each child's filled quantity as last counted into :attr:`filled_quantity`."""
    next_slice: int = 0
    released: Decimal = ZERO
    live: list[str] = field(default_factory=list)
    """Children that are open or still settling (the ones that count beyond their fills)."""
    chosen_by: str = ""
    """Why it runs its algorithm: the execution policy's rule, when the policy chose it."""
    numbered: int = 0
    """How many child ids it has used (``<parent>-1`` .. ``<parent>-numbered``): after a restart
    a number written ahead whose child never reached the venue stays used, so no id repeats."""

    @property
    def is_working(self) -> bool:
        """True until the parent ended or was canceled."""
        return self.status is ParentStatus.WORKING

    def due(self, now: int) -> Decimal:
        """How much the plan (TWAP, VWAP) has released by ``now`` (time only goes forward)."""
        plan = self.plan
        while self.next_slice < len(plan) and plan[self.next_slice][0] <= now:
            self.released += plan[self.next_slice][1]
            self.next_slice += 1
        return self.released


class ParentEngine:
    """The working parents, driven by market updates and their children's events.

    Parameters
    ----------
    manager
        The order manager children go through (recorded, reserved, sent like any order).
    instruments
        Instrument per symbol (tick, lot, minimum notional).
    publish
        Announces ``parent.*`` (the bus), before the child it concerns is sent.
    settle_ms
        How long an ended child's remainder stays committed (see the module's doc).
    """

    def __init__(
        self,
        manager: OrderManager,
        instruments: Mapping[str, Instrument],
        publish: Publish,
        *,
        settle_ms: int = 0,
    ) -> None:
        self.manager = manager
        self.instruments = instruments
        self.publish = publish
        self.settle_ms = settle_ms
        self.parents: dict[str, Parent] = {}
        self.working: dict[str, Parent] = {}
        """The parents still working, by id, oldest first (a market update walks only these,
        not every parent the session ever ran)."""
        self._minimum: dict[tuple[str, Decimal], Decimal] = {}
        self._last_minimum: dict[str, tuple[Decimal, Decimal]] = {}
        self._last_guard: tuple[Side, Decimal, Decimal, Decimal, Decimal] | None = None
        self.parent_of: dict[str, str] = {}
        """Parent id of every child client id."""

    # -- creation ---------------------------------------------------------------------------------

    def create(
        self,
        parent_id: str,
        *,
        strategy_id: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        spec: AlgoSpec,
        market: MarketView,
        reduce_only: bool = False,
    ) -> Parent:
        """Start a parent (it already passed the risk gate, sized) and drive it at ``market``.

        Raises
        ------
        UserError
            If the parent cannot be executed as asked (its id leaves no room for slice numbers,
            or its quantity is below the market's minimum lot or notional), naming why.
        """
        if parent_id in self.parents:
            raise UserError(f"parent {parent_id} exists already")
        if spec.algo is Algo.AUTO:
            raise UserError("execution 'auto' is resolved by the execution policy before a parent")
        if len(parent_id) + 1 + len(str(MAX_SLICES)) > CLIENT_ID_MAX:
            raise UserError(
                f"parent id {parent_id!r} is too long: its children's ids "
                f"<parent>-<slice> must fit {CLIENT_ID_MAX} characters"
            )
        instrument = self.instruments[symbol]
        quantity = floor_to(quantity, instrument.amount_step)
        minimum = self.minimum(symbol, market.mid)
        if quantity <= 0 or quantity < minimum:
            raise UserError(
                f"parent {parent_id}: {quantity} {symbol} is below the market's minimum order "
                f"({minimum} at {market.mid}): refused"
            )
        if spec.algo is Algo.ICEBERG and spec.visible < minimum:
            raise UserError(
                f"parent {parent_id}: the iceberg's visible {spec.visible} is below the market's "
                f"minimum order ({minimum}): refused"
            )
        parent = Parent(
            parent_id, strategy_id, symbol, side, quantity, spec, reduce_only, market.ts,
            market.mid, start_volume=market.volume, limit_price=spec.limit_price,
        )  # fmt: skip
        if spec.algo in (Algo.TWAP, Algo.VWAP):
            parent.plan = merge_small(
                schedule(spec, quantity, market.ts, instrument.amount_step), minimum
            )
        if spec.algo is Algo.ICEBERG and parent.limit_price is None:
            parent.limit_price = passive_price(side, market.bid, market.ask, instrument.price_step)
        self.parents[parent_id] = parent
        self.working[parent_id] = parent
        self.publish("parent.created", market.ts, parent)
        self._drive(parent, market)
        return parent

    def restore(self, parent: Parent) -> None:
        """Take back a parent written before a restart (its children still to be looked up with
        :meth:`recover` before it is driven again)."""
        if parent.parent_id in self.parents:
            raise UserError(f"parent {parent.parent_id} exists already")
        parent.children, parent.live, parent.seen = [], [], {}
        parent.filled_quantity = ZERO
        parent.ended_children = {}
        parent.numbered = 0
        parent.next_slice, parent.released = 0, ZERO
        self.parents[parent.parent_id] = parent
        if parent.is_working:
            self.working[parent.parent_id] = parent

    def resume(self, parent: Parent, numbered: int, children: list[Order], now: int) -> None:
        """Take back a parent written before a restart with the children its session recorded
        (``children``, as the repository holds them once reconciliation has looked each open
        one up on the venue and booked what it found; an open one is carried on at the venue:
        taken into the order manager here unless it is there already, and the venue port must
        follow it). ``numbered`` is how many child ids it had used: the
        next child gets the next one, so no child is sent twice. Its plan is released again
        from the start against what the children committed: slices due while the process was
        down go out at its next drive as one catch-up child (not dropped, not one child per
        missed slice), within the spec's participation cap when it has one, and once it is at
        least the market's minimum order (a smaller remainder waits for the next slice)."""
        self.restore(parent)
        manager = self.manager
        prefix = f"{parent.parent_id}-"
        for stored in sorted(children, key=lambda o: int(o.client_id.rpartition("-")[2])):
            if not stored.client_id.startswith(prefix):
                raise ValueError(f"{stored.client_id} is not a child of {parent.parent_id}")
            order = manager.orders.get(stored.client_id)
            if order is None:
                order = stored
                if not stored.status.is_terminal:
                    # Still resting at the venue (adopted by a live restart): tracked and
                    # reserved as if placed here, so it counts as the parent's open child.
                    manager.adopt(stored)
                else:
                    manager.orders[stored.client_id] = stored
            parent.children.append(order.client_id)
            parent.live.append(order.client_id)
            self.parent_of[order.client_id] = parent.parent_id
            self.child_changed(order, now)
        highest = max((int(c.rpartition("-")[2]) for c in parent.children), default=0)
        parent.numbered = max(numbered, highest)

    async def recover(self, parent_id: str, venue: Venue) -> int:
        """After a restart, look each slice up by its client id (``<parent>-1``, ``-2``, ...)
        before anything is sent, and take back what the venue knows: the child, its fills and
        its status. Returns how many children were found; the next child gets the next number,
        so none is sent twice."""
        parent = self.parents[parent_id]
        since = parent.created_ts
        fills = [f for f in await venue.fills(since) if f.client_id.startswith(f"{parent_id}-")]
        found = 0
        while True:
            child_id = f"{parent_id}-{len(parent.children) + 1}"
            known = await venue.order(child_id)
            if known is None:
                return found
            found += 1
            order = Order(
                child_id, parent.symbol, parent.side, OrderType.LIMIT, known.quantity,
                price=known.average_price or parent.arrival_mid, reduce_only=parent.reduce_only,
                strategy_id=parent.strategy_id, tag=f"{parent.spec.algo}:{parent_id}",
                created_ts=since,
            )  # fmt: skip
            parent.children.append(child_id)
            parent.live.append(child_id)
            parent.numbered = len(parent.children)
            self.parent_of[child_id] = parent_id
            self.manager.place_order(order, since)
            for fill in fills:
                if fill.client_id == child_id:
                    self.manager.book_fill(order, OrderFilled(fill, known.quantity))
            if known.status not in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
                order.report(known.status, known.reason)
            self.child_changed(order, since)

    def minimum(self, symbol: str, price: Decimal) -> Decimal:
        """The smallest sendable quantity of ``symbol`` at ``price``: the larger of the lot
        minimum and the notional minimum, rounded up to the lot."""
        # The price rarely moves between two drives: compare with the last one before hashing
        # a Decimal for the cache (a hash costs several comparisons).
        last = self._last_minimum.get(symbol)
        if last is not None and last[0] == price:
            return last[1]
        key = (symbol, price)
        least = self._minimum.get(key)
        if least is not None:
            self._last_minimum[symbol] = (price, least)
            return least
        instrument = self.instruments[symbol]
        step = instrument.amount_step
        least = max(instrument.min_amount or ZERO, step)
        if instrument.min_notional and price > 0:
            by_notional = instrument.min_notional / price
            least = max(least, (by_notional / step).to_integral_value(ROUND_CEILING) * step)
        if len(self._minimum) > 4096:  # prices wander: keep the cache small
            self._minimum.clear()
        self._minimum[key] = least
        self._last_minimum[symbol] = (price, least)
        return least

    def _guard(self, side: Side, arrival: Decimal, bps: Decimal, tick: Decimal) -> Decimal:
        """:func:`guard_price`, remembered for the last arguments (a TWAP's slices mostly meet
        the same mid)."""
        last = self._last_guard
        if last is not None and last[0] is side and last[1] == arrival and last[2] == bps \
                and last[3] == tick:  # fmt: skip
            return last[4]
        price = guard_price(side, arrival, bps, tick)
        self._last_guard = (side, arrival, bps, tick, price)
        return price

    # -- state ------------------------------------------------------------------------------------

    def filled(self, parent: Parent) -> Decimal:
        """What the parent's children have filled (the venue's own fills, booked once)."""
        return parent.filled_quantity

    def open_quantity(self, parent: Parent) -> Decimal:
        """The unfilled quantity of the parent's children that may still fill."""
        orders = self.manager.orders
        total = ZERO
        for c in parent.live:
            order = orders[c]
            if not order.status.is_terminal:
                total += order.remaining
        return total

    def committed(self, parent: Parent, now: int) -> Decimal:
        """Filled, plus open children, plus the remainder of children still settling."""
        orders = self.manager.orders
        total = parent.filled_quantity
        settled = []
        for c in parent.live:
            order = orders[c]
            if (
                not order.status.is_terminal
                or now - parent.ended_children.get(c, now) < self.settle_ms
            ):
                total += order.remaining
            else:
                settled.append(c)
        for c in settled:  # only the live children are walked: scheduling stays O(open children)
            parent.live.remove(c)
        return total

    def reserved(self, symbol: str | None = None) -> Decimal:
        """Unfilled remainder of the working parents that add exposure (of one symbol, or all):
        what they may still buy or sell, for the risk gate's exposure checks."""
        return sum(
            (
                p.quantity - self.filled(p)
                for p in self.working.values()
                if not p.reduce_only and (symbol is None or p.symbol == symbol)
            ),
            ZERO,
        )

    # -- driving ----------------------------------------------------------------------------------

    def on_market(self, symbol: str, market: MarketView) -> None:
        """The market of ``symbol`` moved (a book, a quote, a trade, a bar): drive its parents."""
        for parent in [p for p in self.working.values() if p.symbol == symbol]:
            if parent.is_working:  # an earlier one's drive may have ended it
                self._drive(parent, market)

    def apply(self, event: OrderEvent, now: int) -> bool:
        """Apply a venue event of one of the parents' children through the order manager;
        False when the event is not a child's (the caller applies it)."""
        parent_id = self.parent_of.get(event.client_id)
        if parent_id is None:
            return False
        manager = self.manager
        order = manager.orders[event.client_id]
        if isinstance(event, OrderFilled):
            manager.book_fill(order, event)
        elif isinstance(event, CancelRejected):
            if order.status is OrderStatus.CANCEL_PENDING:
                order.cancel_refused()
        else:
            manager.report(order, event)
        self.child_changed(order, now)
        return True

    def child_changed(self, order: Order, now: int) -> None:
        """A child's state changed (applied by the caller or :meth:`apply`): note its end."""
        parent = self.parents[self.parent_of[order.client_id]]
        client_id = order.client_id
        delta = order.filled_quantity - parent.seen.get(client_id, ZERO)
        if delta:
            parent.seen[client_id] = order.filled_quantity
            parent.filled_quantity += delta
        if order.status.is_terminal and client_id not in parent.ended_children:
            parent.ended_children[order.client_id] = now
            self.manager.release(order)
        if parent.is_working and parent.filled_quantity >= parent.quantity:
            self._end(parent, ParentStatus.DONE, "filled", now, None)

    def cancel(self, parent_id: str, reason: str, now: int) -> None:
        """Cancel a parent: no child is sent after this; its open children are canceled."""
        parent = self.parents[parent_id]
        if not parent.is_working:
            return
        self._end(parent, ParentStatus.CANCELED, reason, now, None)
        self._cancel_children(parent, now)

    def halt_adding(self, reason: str, now: int) -> list[str]:
        """Cancel every working parent that adds exposure (a breaker trip, the kill switch),
        recording ``reason``; reduce-only parents go on. Returns the canceled parent ids."""
        canceled = []
        for parent in list(self.working.values()):
            if not parent.reduce_only:
                self.cancel(parent.parent_id, reason, now)
                canceled.append(parent.parent_id)
        return canceled

    def _end(
        self, parent: Parent, status: ParentStatus, reason: str, now: int, mid: Decimal | None
    ) -> None:
        parent.status = status
        parent.reason = reason
        parent.ended_ts = now
        self.working.pop(parent.parent_id, None)
        if mid is not None:
            parent.final_mid = mid
        self.publish("parent.ended", now, parent)

    def _cancel_children(self, parent: Parent, now: int) -> None:
        orders = self.manager.orders
        for c in parent.live:
            order = orders[c]
            if order.is_open and order.status is not OrderStatus.CANCEL_PENDING:
                self.manager.cancel(c, now)

    def _send(
        self,
        parent: Parent,
        quantity: Decimal,
        price: Decimal,
        now: int,
        *,
        ioc: bool,
        post_only: bool = False,
    ) -> Order | None:
        if parent.numbered >= MAX_SLICES:
            self._end(parent, ParentStatus.DONE, f"reached {MAX_SLICES} children", now, None)
            return None
        parent.numbered += 1
        child_id = f"{parent.parent_id}-{parent.numbered}"
        order = Order(
            child_id,
            parent.symbol,
            parent.side,
            OrderType.LIMIT,
            quantity,
            price=price,
            time_in_force=TimeInForce.IOC if ioc else TimeInForce.GTC,
            post_only=post_only,
            reduce_only=parent.reduce_only,
            strategy_id=parent.strategy_id,
            tag=f"{parent.spec.algo}:{parent.parent_id}",
            created_ts=now,
        )
        parent.children.append(child_id)
        parent.live.append(child_id)
        self.parent_of[child_id] = parent.parent_id
        self.publish("parent.child", now, (parent, order))
        crash_point("parent_child_numbered")  # the parent's row counts the child; no child row
        self.manager.place_order(order, now)
        self.manager.send(order, now)
        return order

    def _drive(self, parent: Parent, market: MarketView) -> None:
        now = market.ts
        mid = market.mid  # a Decimal division: once per drive
        instrument = self.instruments[parent.symbol]
        filled = parent.filled_quantity
        if filled >= parent.quantity:
            self._end(parent, ParentStatus.DONE, "filled", now, mid)
            return
        free = parent.quantity - self.committed(parent, now)
        minimum = self.minimum(parent.symbol, mid)
        # Nothing committed beyond the fills: no child is open or settling (an open child's
        # remainder is committed), so all of the rest is free.
        if free == parent.quantity - filled:
            left = floor_to(free, instrument.amount_step)
            if left < minimum and (left < instrument.amount_step or parent.children):
                # Partial fills left less than the market takes in one order: nothing can be sent.
                self._end(parent, ParentStatus.DONE, "remainder below the market's minimum order",
                          now, mid)  # fmt: skip
                return
        spec = parent.spec
        algo = spec.algo
        tick = instrument.price_step
        guard_from = mid

        if algo is Algo.MARKET:
            if not parent.children:
                price = self._guard(parent.side, parent.arrival_mid, spec.guard_bps, tick)
                self._send(parent, parent.quantity, price, now, ioc=True)
            elif self.open_quantity(parent) == 0:
                self._end(parent, ParentStatus.DONE, "guard: remainder beyond the cap", now,
                          mid)  # fmt: skip
            return

        if algo in (Algo.TWAP, Algo.VWAP, Algo.POV):
            end = parent.created_ts + spec.horizon_ms
            observed = market.volume - parent.start_volume
            if algo is Algo.POV:
                target = pov_target(spec.participation, observed, parent.quantity)
            else:
                target = parent.due(now)
                if spec.participation > 0:
                    # A schedule with a participation cap never gets ahead of its share of the
                    # volume since its start: slices released at once (a catch-up after a
                    # restart) go out as far as the market traded for them, the rest later.
                    target = min(target, pov_target(spec.participation, observed,
                                                     parent.quantity))  # fmt: skip
            want = floor_to(min(target, parent.quantity) - (parent.quantity - free),
                            instrument.amount_step)  # fmt: skip
            remainder = parent.quantity - parent.filled_quantity
            if want >= minimum or (0 < want == free and remainder == free and now >= end
                                   and spec.horizon_ms > 0):  # fmt: skip
                price = self._guard(parent.side, guard_from, spec.guard_bps, tick)
                self._send(parent, want, price, now, ioc=True)
            elif spec.horizon_ms > 0 and now >= end + spec.timeout_ms:
                if self.open_quantity(parent) == 0:
                    self._end(parent, ParentStatus.DONE, "horizon over", now, mid)
                else:
                    self._cancel_children(parent, now)
            return

        if algo is Algo.ICEBERG:
            assert parent.limit_price is not None
            if spec.horizon_ms > 0 and now >= parent.created_ts + spec.horizon_ms:
                self._cancel_children(parent, now)
                if self.open_quantity(parent) == 0:
                    self._end(parent, ParentStatus.DONE, "horizon over", now, mid)
                return
            if self.open_quantity(parent) == 0:
                show = min(spec.visible, floor_to(free, instrument.amount_step))
                if show >= minimum or (show > 0 and show == free):
                    self._send(parent, show, parent.limit_price, now, ioc=False)
            return

        # SMART_LIMIT
        open_qty = self.open_quantity(parent)
        timed_out = now >= parent.created_ts + spec.timeout_ms
        if parent.crossing:
            if open_qty == 0:
                self._end(parent, ParentStatus.DONE, "crossed at timeout", now, mid)
            return
        if timed_out:
            if open_qty > 0:
                self._cancel_children(parent, now)
                return
            if spec.on_timeout is Timeout.CANCEL:
                self._end(parent, ParentStatus.DONE, "timeout: remainder canceled", now,
                          mid)  # fmt: skip
                return
            if free > 0:
                parent.crossing = True
                price = self._guard(parent.side, guard_from, spec.guard_bps, tick)
                self._send(parent, floor_to(free, instrument.amount_step), price, now, ioc=True)
            return
        price = passive_price(parent.side, market.bid, market.ask, tick)
        if not within_chase(parent.side, price, parent.arrival_mid, spec.chase_bps):
            price = self._guard(parent.side, parent.arrival_mid, spec.chase_bps, tick)
        resting = [self.manager.orders[c] for c in parent.live]
        resting = [o for o in resting if not o.status.is_terminal]
        if resting:
            for order in resting:
                if order.price != price and order.status is not OrderStatus.CANCEL_PENDING:
                    self.manager.cancel(order.client_id, now)  # repriced once it is gone
            return
        qty = floor_to(free, instrument.amount_step)
        if qty >= minimum or (qty > 0 and qty == parent.quantity - parent.filled_quantity):
            self._send(parent, qty, price, now, ioc=False, post_only=True)
