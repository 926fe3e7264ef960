"""The bar-by-bar driver of a live session: the paper driver's Node and bars, with orders sent to
the exchange through the live venue port.

Bars reach the Node exactly as in a paper session (:class:`~tradewind.session.driver.BarDriver`:
signals recomputed over the bars held, :meth:`Node.replace_bars`, :meth:`Node.on_bar_close`). What
differs is the venue: an order the Node routes goes to :class:`~tradewind.venues.live.
LiveVenuePort`, which sends it as a task and delivers the exchange's answers (acknowledgements,
fills from the user-data stream or polling, cancels) later, whenever they come; the driver hands
them to the Node as they arrive. There are no fills at a bar's open to simulate.

Two guards run here, because only live orders need them:

- **entry timeout**: an entry (an order that is not reduce-only) still open ``entry_timeout_s``
  seconds after it was sent is cancelled (its part filled so far stays, as any fill does);
- **order-rate breaker**: more than ``max_orders_per_minute`` orders sent within 60 seconds pause
  new entries (the Node's pause: exits still pass) until an operator resumes.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from tradewind.backtest.api import PreparedRun
from tradewind.backtest.event import EventEngine, signal_arrays
from tradewind.core.events import OrderFilled, VenueEvent, VenueOrder
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.ports import RiskGate
from tradewind.core.records import Bar
from tradewind.engine.binding import Binding
from tradewind.engine.bus import MessageBus
from tradewind.engine.node import Node
from tradewind.engine.portfolio import Portfolio, Position
from tradewind.risk.config import build_risk
from tradewind.risk.exits import ProtectionBook
from tradewind.risk.gate import StakeGate
from tradewind.session.driver import BarDriver, StepReport
from tradewind.session.native_stops import NativeStops, refuse_non_native
from tradewind.sim import stops
from tradewind.strategies.base import Strategy
from tradewind.venues.live import LiveVenuePort

__all__ = ["LiveDriver"]

log = logging.getLogger(__name__)

LIVE_SETTLE_MS = 5_000
"""How long an ended child of a parent stays committed live: a fill that raced its end may
still be on its way from the exchange (:mod:`tradewind.execution.parent`)."""
_MINUTE_S = 60.0


class LiveDriver(BarDriver):
    """The event engine over the live venue port (see the module docstring).

    Parameters
    ----------
    prepared, strategies, bus, ids
        As for :class:`~tradewind.session.driver.BarDriver`; ``prepared.cash`` is the capital
        the bot may use (the smaller of the exchange balance and the cap).
    port
        The live venue port on the session's exchange client.
    entry_timeout_s
        Seconds an entry may stay unfilled before it is cancelled.
    max_orders_per_minute
        More orders than this within a minute pause new entries.
    monotonic
        The clock of both guards (seconds).
    """

    def __init__(
        self,
        prepared: PreparedRun,
        strategies: Sequence[Strategy],
        port: LiveVenuePort,
        *,
        bus: MessageBus | None = None,
        ids: ClientIdFactory | None = None,
        entry_timeout_s: float = 60.0,
        max_orders_per_minute: int = 20,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if entry_timeout_s <= 0:
            raise ValueError(f"the entry timeout must be positive, got {entry_timeout_s}")
        if max_orders_per_minute < 1:
            raise ValueError(f"the order rate must be at least 1, got {max_orders_per_minute}")
        if prepared.spec.risk is not None:
            refuse_non_native(prepared.spec.risk)
        self.port = port
        self.entry_timeout_s = entry_timeout_s
        self.max_orders_per_minute = max_orders_per_minute
        self._monotonic = monotonic
        self._entries: dict[str, float] = {}
        self._sent: deque[float] = deque()
        self.timed_out: list[str] = []
        """Client ids of the entries cancelled by the entry timeout, oldest first."""
        self.breaker = ""
        """Why the order-rate breaker tripped (empty: it has not)."""
        super().__init__(prepared, strategies, bus=bus, ids=ids)
        self.node.bus.subscribe("order.submitted", self._on_submitted)
        self.stops = NativeStops(self.node) if self.node.protection is not None else None
        """The positions' stops resting on the exchange (with risk rules; None without)."""

    def _wire(
        self, starting: dict[str, Decimal], bus: MessageBus | None, ids: ClientIdFactory | None
    ) -> EventEngine:
        prepared = self.prepared
        instruments = prepared.instruments
        portfolio = Portfolio(
            instruments, cash=dict(starting), leverage=dict.fromkeys(instruments, Decimal(1))
        )
        bindings = [
            Binding(
                strategy=instance,
                strategy_id=instance.id,
                bars=series,
                start=self.first_bar[name],
                callback=instance.wants_bar_callback(),
                **signal_arrays(instance, series),
            )
            for instance in self.strategies
            for name, series in self.bars.items()
        ]
        gate: RiskGate = StakeGate(prepared.stake, instruments)
        protection: ProtectionBook | None = None
        if prepared.spec.risk is not None:
            gate, protection = build_risk(
                prepared.spec.risk,
                strategy_ids={i.id: i.name or type(i).__name__ for i in self.strategies},
                stake=prepared.stake, instruments=instruments, bars=self.bars,
                initial_equity=float(starting.get(prepared.quote, prepared.cash)),
            )  # fmt: skip
        node = Node(
            bindings=bindings, gate=gate, venue=self.port, portfolio=portfolio,
            protection=protection,
            instruments=instruments, ids=ids or ClientIdFactory("lv", session="0"),
            bus=bus or MessageBus(), on_strategy_error=prepared.spec.on_strategy_error,
            execution=prepared.spec.execution, settle_ms=LIVE_SETTLE_MS,
        )  # fmt: skip
        # The port delivers to one sink: this driver's, which dates and indexes the events.
        self.port.subscribe(self._from_venue)
        return EventEngine(node, self.port, portfolio, gate, dict(starting))  # type: ignore[arg-type]

    # -- after a restart ---------------------------------------------------------------------------

    def carry_on(
        self,
        positions: Mapping[tuple[str, str], Position],
        working: Sequence[tuple[Order, VenueOrder]],
    ) -> list[str]:
        """Continue what an earlier session of this bot left on the exchange (after a restart,
        reconciled): its positions, and its orders still working there, each as the exchange
        knows it now. Nothing is sent: the port follows each order by client id from here (its
        later fills booked once each), the Node tracks it as if it had placed it, an entry's
        timeout starts now, and a native stop is the position's stop again
        (:meth:`NativeStops.adopt`), so no second one is placed. Returns the client ids of the
        stops carried on. Call it once, before the first instant.

        Raises
        ------
        UserError
            For a position or order of a strategy, or in a market, this session does not trade.
        """
        self.carry_positions(positions)
        node = self.node
        kept = []
        for order, found in sorted(working, key=lambda w: (w[0].created_ts, w[0].client_id)):
            bars = self.bars.get(order.symbol)
            at = int(bars.ts[-1]) if bars is not None and len(bars) else 0
            node.adopt(order, at, send=False)
            order.venue_order_id = order.venue_order_id or found.venue_order_id
            self.port.adopt(order)
            if not order.reduce_only:
                self._entries[order.client_id] = self._monotonic()
            elif order.type is OrderType.STOP_MARKET and self.stops is not None:
                if self.stops.adopt(order.client_id):
                    kept.append(order.client_id)
                elif node.position(order.strategy_id, order.symbol) == 0:
                    # The bot's fills hold nothing there: the stop protects nothing of its own.
                    log.warning("stop %s rests for no position of the bot's: canceling it",
                                order.client_id)  # fmt: skip
                    node.manager.cancel(order.client_id, node.now)
        return kept

    # -- one instant ------------------------------------------------------------------------------

    def _step(self, close: int, arrived: Mapping[str, Bar]) -> StepReport:
        node = self.node
        orders_before = len(node.orders)
        fills_before = len(self.engine.portfolio.fills)
        index = self._take(arrived)
        # The breakers the new bars trip (equity, crash), before the closes as in the backtest;
        # stops rest on the exchange and fire there (NativeStops).
        while node.observer is not None and (t := node.next_breaker()) is not None and t <= close:
            node.on_breaker(t)
        while (timer := node.next_timer()) is not None and timer < close:
            node.on_timer(timer)
        self._time_stops(close)
        report = self._close(close, index, orders_before, fills_before)
        if self.stops is not None:
            self.stops.sync()  # the trail and the break-even move with the bar just closed
        return report

    def _time_stops(self, close: int) -> None:
        """Fire the time stops due by ``close``, before the closes as the backtest's runner
        orders them at equal times. Only time stops: the stop rules rest on the exchange and
        fire there (a stop level the bars reached is the exchange's to fill, not a second exit)."""
        node, protection = self.node, self.node.protection
        if protection is None:
            return
        for symbol in self.bars:
            while (t := node.next_protective(symbol)) is not None and t <= close:
                due = protection.next_event(symbol)
                if due is None or protection.next_kind(due[1]) != stops.TIME:
                    break
                node.on_protective(symbol)
                if protection.next_event(symbol) == due:
                    break  # not taken (an exit already on its way): looked at again next bar

    # -- venue events in ------------------------------------------------------------------------

    def _from_venue(self, events: list[VenueEvent]) -> None:
        """The port's sink: each event reaches the Node at the latest bar of its symbol."""
        node = self.node
        for event in events:
            if isinstance(event, OrderFilled):
                ts, symbol = event.fill.ts, event.fill.symbol
            else:
                order = node.orders.get(getattr(event, "client_id", ""))
                ts, symbol = getattr(event, "ts", node.now), order.symbol if order else ""
            node.now = max(node.now, ts)
            bars = self.bars.get(symbol)
            node.on_venue_events([event], int(bars.ts[-1]) if bars is not None and len(bars) else 0)
        if self.stops is not None:
            self.stops.sync()  # an entry filled, a stop's cancel confirmed, a stop filled

    # -- the guards -------------------------------------------------------------------------------

    def _on_submitted(self, _topic: str, order: Any) -> None:
        if not isinstance(order, Order):
            return
        now = self._monotonic()
        if not order.reduce_only:
            self._entries[order.client_id] = now
        sent = self._sent
        sent.append(now)
        while sent and now - sent[0] > _MINUTE_S:
            sent.popleft()
        if len(sent) > self.max_orders_per_minute and not self.breaker:
            self.breaker = (
                f"order-rate breaker: {len(sent)} orders within a minute "
                f"(limit {self.max_orders_per_minute}); new entries halted until resumed"
            )
            log.warning(self.breaker)
            self.node.pause(self.breaker)

    def expire_entries(self) -> list[str]:
        """Cancel every entry open longer than the entry timeout; return their client ids."""
        now = self._monotonic()
        expired = []
        for client_id, sent in list(self._entries.items()):
            order = self.node.orders.get(client_id)
            if order is None or not order.is_open:
                del self._entries[client_id]
                continue
            if now - sent < self.entry_timeout_s:
                continue
            del self._entries[client_id]
            if order.status is OrderStatus.CANCEL_PENDING:
                continue
            log.warning("entry %s not filled within %ss: cancelling it", client_id,
                        self.entry_timeout_s)  # fmt: skip
            self.node.manager.cancel(client_id, self.node.now)
            expired.append(client_id)
        self.timed_out.extend(expired)
        return expired

    def open_orders(self) -> list[Order]:
        """The Node's orders not yet ended."""
        return [o for o in self.node.orders.values() if o.is_open]
