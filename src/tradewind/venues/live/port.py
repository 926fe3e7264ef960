"""The live venue: the venue port over a real exchange, through a ccxt client from ``connectors``.

Commands (:meth:`LiveVenuePort.submit`, :meth:`~LiveVenuePort.cancel`,
:meth:`~LiveVenuePort.cancel_replace`) return at once; each runs as a task on the running event
loop and what it causes comes back as events through the subscribed sink. Every order carries its
client id (``newClientOrderId``); everything the port later asks about an order, it asks by that id.

**Ambiguous means unknown** (reliability-anchors.md, requirements 2, 3 and 5). Only an answer
that proves refusal rejects an order. A timeout, a 5xx, a dropped connection or any other answer
that proves nothing leaves the order *unknown*: the port never sends it again (ccxt's own retries
are off), it looks the order up by client id on every poll. A lookup that finds it reports what
the exchange knows (accepted, filled, canceled...). Only after the visibility window (default 10 s,
the time an exchange may take to show a new order) **and** two lookups that both said "absent" is
the order declared lost: ``OrderRejected`` with a reason starting ``lost:``; the intent is not
retried. A cancel that got no answer is resolved the same way (the order's own state tells).

**Polling.** While any order is open, every ``poll_s`` the port looks each one up by client id and
books what changed: an acknowledgement, a trigger, new fills (each trade id once, read from the
account's trade list with the exchange's own commission and its currency), or the end. This is the
REST path a user-data stream falls back to; a fill is never lost when a stream event is.

**Conditional orders on USDT-M** (stops, take-profits) live on Binance's algo endpoints until
they trigger and become regular orders (:mod:`~tradewind.venues.live.conditional`): the port looks
them up, cancels and lists them there, and books the fills of the regular order they became.

A market order sized by its quote amount goes to a USDT-M perpetual, which takes no
``quoteOrderQty``, as the lots that amount buys at the touch just before it is sent (the fill
states the quantity).

Orders the exchange refused, and orders refused here before sending (an amount off the lot step,
which ccxt would silently round), are kept with their reason so :meth:`LiveVenuePort.order`
answers for them as the exchange no longer can.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradewind.connectors.order_errors import (
    CommandFailure,
    Outcome,
    Refusal,
    classify_command_failure,
)
from tradewind.connectors.shared_budget import SharedRateBudget
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
from tradewind.core.instrument import Instrument
from tradewind.core.money import ZERO, floor_to_step
from tradewind.core.orders import Fill, Order, OrderStatus
from tradewind.core.ports import EventSink
from tradewind.venues.live import account, conditional, wire
from tradewind.venues.live.oco import oco_params, oco_refusal
from tradewind.venues.live.requests import RequestGate

_log = logging.getLogger(__name__)

DEFAULT_VISIBILITY_S = 10.0
"""How long a new order may stay invisible to lookups before "absent" can mean "lost"."""


@dataclass(slots=True)
class _Record:
    """What the port knows of one order it sent, and which of its events it has delivered."""

    order: Order
    venue_id: str = ""
    accepted: bool = False
    triggered: bool = False
    ended: bool = False
    status: OrderStatus = OrderStatus.SUBMITTED
    reason: str = ""
    unknown_since: float | None = None
    """Monotonic time the outcome of a command became ambiguous (None: it is not)."""
    absent_lookups: int = 0
    trade_ids: set[str] = field(default_factory=set)
    fills: list[Fill] = field(default_factory=list)
    """Every fill of the order this port delivered."""
    filled: Decimal = ZERO
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class LiveVenuePort:
    """:class:`tradewind.core.ports.Venue` over an async ccxt client (``ccxt.pro`` or
    ``ccxt.async_support``) with loaded markets.

    Parameters
    ----------
    client
        The ccxt client, built by :func:`tradewind.connectors.client.create_async_client`.
    instruments
        The traded instruments by symbol (from the exchange's markets:
        :func:`tradewind.connectors.instruments.instruments_from_markets`).
    poll_s
        Seconds between lookups of open orders.
    visibility_s
        The visibility window after which two absent lookups mean the order is lost.
    clock
        Wall clock in UTC ms (event timestamps when the exchange gives none).
    budget
        The request-weight budget shared by every process on this account and IP: each request
        takes its weight first, the exchange's weight header corrects it after, and a 429, 418
        or maintenance answer holds every process back (:mod:`~tradewind.venues.live.requests`).
    stream
        Watch the user-data stream (``ccxt.pro`` ``watch_orders``) once :meth:`start` is
        awaited: an order update wakes an immediate lookup of that order, so changes arrive at
        stream speed; the polling stays on underneath, so a dropped stream event or a dead stream
        delays a fill by at most ``poll_s`` and never loses it.
    """

    def __init__(
        self,
        client: Any,
        instruments: Mapping[str, Instrument],
        *,
        poll_s: float = 0.5,
        visibility_s: float = DEFAULT_VISIBILITY_S,
        clock: Callable[[], int] | None = None,
        stream: bool = False,
        budget: SharedRateBudget | None = None,
    ) -> None:
        for instrument in instruments.values():
            if instrument.is_derivative and not instrument.linear:
                raise ValueError(f"{instrument.symbol}: only linear (USDT-M) contracts are traded")
        # Look up, never resend: a retry inside ccxt could place a second order.
        client.options["maxRetriesOnFailure"] = 0
        self.client = client
        self.instruments = dict(instruments)
        self.poll_s = poll_s
        self.visibility_s = visibility_s
        self._clock = clock or (lambda: int(time.time() * 1000))
        self._sink: EventSink | None = None
        self._records: dict[str, _Record] = {}
        self._by_venue_id: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self.stream = stream
        self.requests = RequestGate(client, budget, clock=self._clock)
        """Every REST request goes through it: the shared budget, the exchange's holds (429,
        418, maintenance) as named conditions, each failure classified."""
        self._watcher: asyncio.Task[None] | None = None
        self.stream_updates = 0
        """Order updates received over the user-data stream."""
        self.stream_errors = 0
        """Times the user-data stream failed (it is watched again after a pause)."""
        self.failures: list[CommandFailure] = []
        """Every classified command failure, oldest first (for the operator and the tests)."""
        self.on_stream_reconnect: Callable[[], None] | None = None
        """Called each time the user-data stream is watched again after it failed (the running
        reconcile checks what the gap may have hidden)."""

    @property
    def budget(self) -> SharedRateBudget | None:
        """The request-weight budget shared by every process on this account and IP."""
        return self.requests.budget

    @property
    def on_request_failure(self) -> Callable[[CommandFailure], None] | None:
        """Told of every failed REST request (lookups included), classified: the session's
        venue-error window (:mod:`tradewind.ops.venue_errors`) counts them."""
        return self.requests.on_failure

    @on_request_failure.setter
    def on_request_failure(self, listener: Callable[[CommandFailure], None] | None) -> None:
        self.requests.on_failure = listener

    # -- commands in, events out ------------------------------------------------------------------

    def subscribe(self, sink: EventSink) -> None:
        """Deliver every event from now on to ``sink``."""
        self._sink = sink

    def submit(self, order: Order, ts: int) -> None:
        """Send ``order`` (a task); its events follow through the sink."""
        record = self._records.setdefault(order.client_id, _Record(order))
        self._spawn(self._submit(record))

    def cancel(self, client_id: str, ts: int) -> None:
        """Ask the exchange to cancel an order by client id."""
        self._spawn(self._cancel(client_id))

    def cancel_replace(self, client_id: str, order: Order, ts: int) -> None:
        """Cancel ``client_id``, then send ``order`` only once the cancel is confirmed."""
        record = self._records.setdefault(order.client_id, _Record(order))
        self._spawn(self._cancel_replace(client_id, record))

    def submit_oco(self, take_profit: Order, stop: Order, ts: int) -> None:
        """Send a spot take-profit and stop as one OCO list (:mod:`~tradewind.venues.live.oco`);
        each leg's events follow through the sink as for any order."""
        legs = [self._records.setdefault(o.client_id, _Record(o)) for o in (take_profit, stop)]
        self._spawn(self._submit_oco(legs[0], legs[1]))

    async def start(self) -> None:
        """Start watching the user-data stream (when ``stream``)."""
        if self.stream and self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def close(self) -> None:
        """Stop polling and wait for the commands in flight (the client is the caller's)."""
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        if self._poller is not None:
            self._poller.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(
            *self._tasks, *(t for t in [self._poller] if t), return_exceptions=True
        )

    # -- queries ------------------------------------------------------------------------------------

    async def order(self, client_id: str) -> VenueOrder | None:
        """What the exchange knows of ``client_id`` (refusals: what this port was told)."""
        record = self._records.get(client_id)
        if record is not None and record.status is OrderStatus.REJECTED:
            return wire.rejected(record.order, record.reason)
        if record is not None:
            found = await self._lookup(client_id, record.order.symbol, self._conditional(record))
            return self._venue_order(found) if isinstance(found, dict) else None
        # Not sent by this port (a restart): its kind unknown, look on both sides of a perpetual.
        for symbol, instrument in self.instruments.items():
            for algo in (False, True) if instrument.is_derivative else (False,):
                found = await self._lookup(client_id, symbol, algo)
                if isinstance(found, dict):
                    return self._venue_order(found)
        return None

    async def open_orders(self) -> list[VenueOrder]:
        """Every order still working on the exchange, in the traded symbols."""
        found: list[VenueOrder] = []
        for symbol, instrument in self.instruments.items():
            for raw in await self._call(6, "fetch_open_orders", symbol):
                found.append(self._venue_order(raw))
            if instrument.is_derivative:  # stops waiting for their trigger are listed apart
                for raw in await conditional.open_orders(self._call, symbol):
                    found.append(self._venue_order(raw))
        return found

    async def fills(self, since: int) -> list[Fill]:
        """Every fill of the account at or after ``since`` in the traded symbols, oldest first."""
        fills: list[Fill] = []
        for symbol in self.instruments:
            for trade in await self._call(20, "fetch_my_trades", symbol, since):
                client_id = await self._client_id_of(trade, symbol)
                fill = wire.fill_of(trade, client_id, self.client.safe_currency_code)
                if fill.ts >= since:
                    fills.append(fill)
        fills.sort(key=lambda f: (f.ts, f.trade_id))
        return fills

    async def positions(self) -> dict[str, Decimal]:
        """Signed open position per USDT-M symbol (one-way mode; hedge mode refused by name)."""
        return await account.positions(self._call, self.instruments)

    async def balances(self) -> dict[str, Decimal]:
        """Wallet balance (free plus locked) of every asset held: the spot wallet when any spot
        symbol is traded, else the USDT-M wallet."""
        return await account.balances(self._call, self.client, self.instruments)

    async def configure_futures(
        self, symbol: str, *, leverage: int, margin_mode: str = "isolated"
    ) -> None:
        """Set a USDT-M symbol's margin mode (``isolated``/``cross``) and leverage, and check the
        account is in one-way position mode (hedge mode is refused by name)."""
        await account.configure_futures(self._call, self.instruments, symbol, leverage, margin_mode)

    def adopt(self, order: Order) -> None:
        """Follow a working order an earlier session of the bot sent (a restart adopts the
        resting child of a parent it resumes): its events from now on come through the sink as
        for an order sent here. ``order`` carries what the bot booked of it (its fills, by trade
        id): only fills beyond those are delivered, so none is booked twice."""
        record = self._records.setdefault(order.client_id, _Record(order))
        record.venue_id = order.venue_order_id or record.venue_id
        if record.venue_id:
            self._by_venue_id[record.venue_id] = order.client_id
        record.accepted = True
        record.status = order.status
        record.trade_ids.update(f.trade_id for f in order.fills)
        record.filled = max(record.filled, order.filled_quantity)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    def knows(self, client_id: str) -> bool:
        """True when ``client_id`` was sent (or refused) through this port."""
        return client_id in self._records

    def following(self) -> frozenset[str]:
        """Client ids of the orders this port sent and still follows (not yet ended)."""
        return frozenset(c for c, r in self._records.items() if not r.ended)

    def booked_fills(self) -> list[Fill]:
        """Every fill this port delivered, oldest first."""
        fills = [f for r in self._records.values() for f in r.fills]
        fills.sort(key=lambda f: (f.ts, f.trade_id))
        return fills

    async def book_missed(self, fill: Fill) -> bool:
        """Deliver a fill a reconcile found that this port never delivered (each trade id once,
        in turn with the order's own lookups); False when it was delivered already or the order
        was not sent through this port."""
        record = self._records.get(fill.client_id)
        if record is None:
            return False
        async with record.lock:
            if fill.trade_id in record.trade_ids:
                return False
            quantity = record.order.quantity
            if not quantity:  # a quote-sized order: its quantity as the exchange states it
                found = await self._lookup(
                    record.order.client_id, record.order.symbol, self._conditional(record)
                )
                quantity = wire.quantity_of(found) if isinstance(found, dict) else fill.quantity
            self._emit(self._booked(record, fill, quantity))
            return True

    # -- the command tasks ----------------------------------------------------------------------

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("live venue command failed: %r", task.exception())

    async def _submit(self, record: _Record) -> None:
        order = record.order
        instrument = self.instruments.get(order.symbol)
        async with record.lock:
            denied = wire.denied(order, instrument)
            if denied:
                self._reject(record, f"denied locally: {denied}")
                return
            assert instrument is not None
            kind, side, amount, price, params = wire.create_args(order, instrument)
            if "quoteOrderQty" in params and instrument.is_derivative:
                # USDT-M takes no quote-sized market order: the amount the quote buys at the
                # touch now (the fill states the quantity, which the order then takes).
                try:
                    amount = await self._amount_for_quote(order, instrument)
                except Exception as exc:  # nothing was sent: the order is refused here
                    self._reject(record, f"denied locally: no price to size it ({exc})")
                    return
                if amount <= 0:
                    self._reject(record, "denied locally: the quote amount buys less than a lot")
                    return
                del params["quoteOrderQty"]
            try:
                answer = await self._call(
                    1, "create_order", order.symbol, kind, side,
                    float(amount) if amount else None,
                    float(price) if price is not None else None, params,
                )  # fmt: skip
            except Exception as exc:
                await self._failed(record, classify_command_failure(exc))
                return
            crash_point("after_send_before_answer")
            if not isinstance(answer, dict) or not wire.client_id_of(answer):
                # A 200 without a usable order (ccxt-loopback.md P6) proves nothing.
                self._unknown(record, "malformed answer to create_order")
                return
            await self._absorb(record, answer)

    async def _amount_for_quote(self, order: Order, instrument: Instrument) -> Decimal:
        """The lots ``order``'s quote amount buys (sells) at the best ask (bid) now."""
        assert order.quote_quantity is not None
        book = await self._call(2, "fetch_order_book", order.symbol, 5)
        side = book["asks"] if order.side.value == "buy" else book["bids"]
        touch = wire.dec(side[0][0])
        return floor_to_step(order.quote_quantity / touch, instrument.amount_step)

    async def _submit_oco(self, take_profit: _Record, stop: _Record) -> None:
        symbol = take_profit.order.symbol
        instrument = self.instruments.get(symbol)
        async with take_profit.lock, stop.lock:
            denied = oco_refusal(take_profit.order, stop.order, instrument) or wire.denied(
                take_profit.order, instrument) or wire.denied(stop.order, instrument)  # fmt: skip
            if denied:
                for leg in (take_profit, stop):
                    self._reject(leg, f"denied locally: {denied}")
                return
            market = self.client.market(symbol)
            params = oco_params(take_profit.order, stop.order, market["id"])
            try:
                answer = await self._call(2, "private_post_orderlist_oco", params)
            except Exception as exc:
                failure = classify_command_failure(exc)
                for leg in (take_profit, stop):
                    await self._failed(leg, failure)
                return
            crash_point("after_send_before_answer")
            reports = {
                wire.client_id_of(r): r
                for r in (answer.get("orderReports") or [] if isinstance(answer, dict) else [])
            }
            for leg in (take_profit, stop):
                raw = reports.get(leg.order.client_id)
                if raw is None:  # an answer without the leg proves nothing: look it up
                    self._unknown(leg, "malformed answer to orderList/oco")
                else:
                    await self._absorb(leg, self.client.parse_order(raw, market))

    async def _failed(self, record: _Record, failure: CommandFailure) -> None:
        self.failures.append(failure)
        if failure.outcome is Outcome.AMBIGUOUS:
            self._unknown(record, failure.message)
            return
        if failure.refusal is Refusal.CLOCK:
            await self._resync_clock()
        self._reject(record, failure.reason)

    def _unknown(self, record: _Record, why: str) -> None:
        _log.warning("order %s: outcome unknown (%s); looking it up", record.order.client_id, why)
        if record.unknown_since is None:
            record.unknown_since = time.monotonic()
            record.absent_lookups = 0

    def _reject(self, record: _Record, reason: str) -> None:
        record.status = OrderStatus.REJECTED
        record.reason = reason
        record.ended = True
        self._emit([OrderRejected(record.order.client_id, self._clock(), reason)])

    async def _cancel(self, client_id: str) -> bool:
        """Cancel; True when the exchange confirmed it (or the order was already canceled)."""
        record = self._records.get(client_id)
        if record is None:
            self._emit([CancelRejected(client_id, self._clock(), "unknown order: never sent here")])
            return False
        async with record.lock:
            if record.status is OrderStatus.REJECTED:
                self._emit(
                    [CancelRejected(client_id, self._clock(), f"order ended: {record.reason}")]
                )
                return False
            algo = self._conditional(record)
            if algo and record.triggered and record.venue_id:
                # Triggered: it is the regular order it became that still works.
                args: tuple[Any, ...] = (record.venue_id, record.order.symbol, {})
            elif algo:
                args = (
                    None,
                    record.order.symbol,
                    {"origClientOrderId": client_id, **conditional.TRIGGER},
                )
            else:
                args = (None, record.order.symbol, {"origClientOrderId": client_id})
            try:
                answer = await self._call(1, "cancel_order", *args)
            except Exception as exc:
                failure = classify_command_failure(exc)
                self.failures.append(failure)
                if failure.outcome is Outcome.AMBIGUOUS:
                    return await self._resolve_cancel(record, failure.reason)
                self._emit([CancelRejected(client_id, self._clock(), failure.reason)])
                await self._refresh(record)
                return False
            if algo and isinstance(answer, dict) and not record.triggered:
                # The algo API answers a cancel with a bare acknowledgement: read the order back.
                await self._refresh(record)
                if record.status is OrderStatus.CANCELED:
                    return True
                return await self._resolve_cancel(record, "algo cancel acknowledged")
            if isinstance(answer, dict) and wire.client_id_of(answer):
                await self._absorb(record, answer)
                return record.status is OrderStatus.CANCELED
            return await self._resolve_cancel(record, "malformed answer to cancel_order")

    async def _resolve_cancel(self, record: _Record, why: str) -> bool:
        """A cancel without an answer: look the order up, never cancel again, until it shows an
        end, or still works past the visibility window and two lookups: then the cancel was not
        processed (``CancelRejected``) and the engine decides again. True when canceled."""
        client_id = record.order.client_id
        _log.warning("cancel of %s: outcome unknown (%s); looking it up", client_id, why)
        since = time.monotonic()
        working = 0
        while not record.ended and not record.status.is_terminal:
            await asyncio.sleep(min(self.poll_s, 0.25))
            found = await self._refresh(record)
            if not isinstance(found, dict) or record.status.is_terminal:
                continue
            working += 1
            if working >= 2 and time.monotonic() - since >= self.visibility_s:
                reason = f"cancel not processed ({why}): the order still works"
                self._emit([CancelRejected(client_id, self._clock(), reason)])
                return False
        return record.status is OrderStatus.CANCELED

    async def _cancel_replace(self, client_id: str, replacement: _Record) -> None:
        if await self._cancel(client_id):
            await self._submit(replacement)
            return
        old = self._records.get(client_id)
        why = old.reason if old is not None and old.reason else "the cancel was not confirmed"
        self._reject(replacement, f"not sent: cancel of {client_id} refused ({why})")

    async def _call(self, weight: int, method: str, *args: Any) -> Any:
        """One REST request through the request gate (budget, holds, classified failures)."""
        return await self.requests.call(weight, method, *args)

    async def _watch(self) -> None:
        pause = 0.1
        while True:
            try:
                updates = await self.client.watch_orders()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the stream is watched, not trusted
                self.stream_errors += 1
                _log.warning("user-data stream failed (%s); polling covers it", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                if self.on_stream_reconnect is not None:
                    self.on_stream_reconnect()
                continue
            pause = 0.1
            for raw in updates:
                self.stream_updates += 1
                record = self._records.get(wire.client_id_of(raw))
                if record is None or record.ended or record.lock.locked():
                    continue
                async with record.lock:
                    await self._refresh(record)

    # -- lookups --------------------------------------------------------------------------------

    async def _poll(self) -> None:
        while any(not r.ended for r in self._records.values()) or self._tasks:
            await asyncio.sleep(self.poll_s)
            for record in list(self._records.values()):
                if record.ended or record.lock.locked():
                    continue
                async with record.lock:
                    await self._refresh(record)

    async def _refresh(self, record: _Record) -> dict[str, Any] | CommandFailure | None:
        """Look the order up by client id and deliver what changed; return what the lookup
        found (as :meth:`_lookup`)."""
        found = await self._lookup(
            record.order.client_id, record.order.symbol, self._conditional(record)
        )
        if isinstance(found, dict):
            record.absent_lookups = 0
            record.unknown_since = None
            await self._absorb(record, found)
            return found
        if found is None and record.unknown_since is not None:
            record.absent_lookups += 1
            waited = time.monotonic() - record.unknown_since
            if record.absent_lookups >= 2 and waited >= self.visibility_s:
                self._reject(record, f"lost: not on the exchange {waited:.1f}s after sending")
        return found

    def _conditional(self, record: _Record) -> bool:
        return conditional.is_conditional(record.order, self.instruments.get(record.order.symbol))

    async def _lookup(
        self, client_id: str, symbol: str, algo: bool = False
    ) -> dict[str, Any] | CommandFailure | None:
        """The exchange's order dict, None when it says absent, or the failure (ambiguous);
        ``algo``: a USDT-M conditional order (:func:`.conditional.lookup`)."""
        try:
            if algo:
                found = await conditional.lookup(self._call, client_id, symbol)
            else:
                found = await self._call(
                    4, "fetch_order", None, symbol, {"origClientOrderId": client_id}
                )
        except Exception as exc:
            failure = classify_command_failure(exc)
            if failure.outcome is Outcome.NOT_FOUND:
                return None
            return failure
        return found if isinstance(found, dict) else None

    async def _absorb(self, record: _Record, raw: Mapping[str, Any]) -> None:
        """Deliver the events that take the port's view of the order to ``raw``."""
        order = record.order
        events: list[VenueEvent] = []
        now = int(raw.get("lastUpdateTimestamp") or raw.get("timestamp") or self._clock())
        status = wire.status_of(raw)
        record.unknown_since = None
        if raw.get("id") and (not record.venue_id or raw.get(wire.TRIGGERED_FROM)):
            # A triggered conditional order's fills carry the regular order's id, not the algo id.
            record.venue_id = str(raw["id"])
            self._by_venue_id[record.venue_id] = order.client_id
        if status is not OrderStatus.REJECTED and not record.accepted:
            record.accepted = True
            events.append(OrderAccepted(order.client_id, now, record.venue_id))
        if order.type in wire.STOP_TYPES and not record.triggered and wire.triggered(raw):
            record.triggered = True
            events.append(OrderTriggered(order.client_id, now))
        filled = wire.filled_of(raw)
        if filled > record.filled:
            events.extend(await self._new_fills(record, wire.quantity_of(raw)))
        if status is OrderStatus.CANCELED:
            events.append(OrderCanceled(order.client_id, now))
        elif status is OrderStatus.EXPIRED:
            events.append(OrderExpired(order.client_id, now, "time in force ran out"))
        elif status is OrderStatus.REJECTED:
            record.reason = record.reason or "rejected by the exchange"
            events.append(OrderRejected(order.client_id, now, record.reason))
        if status.is_terminal and record.filled >= filled:
            record.ended = True
        record.status = status
        self._emit(events)

    async def _new_fills(self, record: _Record, quantity: Decimal) -> list[VenueEvent]:
        events: list[VenueEvent] = []
        since = record.order.created_ts - 60_000 if record.order.created_ts else None
        trades = await self._call(20, "fetch_my_trades", record.order.symbol, since)
        for trade in trades:
            info = trade.get("info") or {}
            if str(info.get("orderId", trade.get("order"))) != record.venue_id:
                continue
            fill = wire.fill_of(trade, record.order.client_id, self.client.safe_currency_code)
            if fill.trade_id in record.trade_ids:
                continue
            events.extend(self._booked(record, fill, quantity))
        return events

    @staticmethod
    def _booked(record: _Record, fill: Fill, quantity: Decimal) -> list[VenueEvent]:
        record.trade_ids.add(fill.trade_id)
        record.fills.append(fill)
        record.filled += fill.quantity
        return [OrderFilled(fill, quantity)]

    async def _client_id_of(self, trade: Mapping[str, Any], symbol: str) -> str:
        info = trade.get("info") or {}
        venue_id = str(info.get("orderId", trade.get("order")))
        known = self._by_venue_id.get(venue_id)
        if known is not None:
            return known
        raw = await self._call(4, "fetch_order", venue_id, symbol)
        client_id = wire.client_id_of(raw)
        self._by_venue_id[venue_id] = client_id
        return client_id

    def _venue_order(self, raw: Mapping[str, Any]) -> VenueOrder:
        client_id = wire.client_id_of(raw)
        record = self._records.get(client_id)
        if raw.get("id") and client_id:
            # Remembered so a trade of this order needs no lookup of its own (reconcile's fills).
            self._by_venue_id[str(raw["id"])] = client_id
        return VenueOrder(
            client_id=client_id,
            symbol=str(raw["symbol"]),
            status=wire.status_of(raw),
            quantity=wire.quantity_of(raw),
            filled=wire.filled_of(raw),
            average_price=wire.average_of(raw),
            venue_order_id=str(raw.get("id") or ""),
            reason=record.reason if record is not None else "",
        )

    async def _resync_clock(self) -> None:
        # -1021: the request's timestamp fell outside the receive window; measure the offset again.
        try:
            await self.client.load_time_difference()
        except Exception as exc:
            _log.warning("could not measure the exchange clock offset: %s", exc)

    def _emit(self, events: list[VenueEvent]) -> None:
        if events and self._sink is not None:
            self._sink(events)
