"""The Node: one kernel for every mode.

Life of a bar: the runner (backtest) or the live feed tells the Node that bar ``i`` of a symbol has
closed -> each strategy bound to that symbol turns its signal at ``i`` (or its ``on_bar`` hook) into
intents -> the risk gate sizes or denies each intent -> execution makes an order with a client id
-> the order is recorded, then sent to the venue -> the venue's events come back.

Life of an order: ``NEW`` (made, recorded) -> ``SUBMITTED`` (sent) -> venue events applied by the
order manager here (accepted, triggered, filled, canceled, rejected, expired) -> each fill is
booked by the portfolio and shown to the strategy's ``on_fill``.

The Node never reads a wall clock, sleeps or does I/O: time comes in with each call, and every
effect goes through the venue port. The same Node runs backtests, paper and live trading.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from tradewind.bars import BarSeries, BoolArray
from tradewind.book.book import OrderBook
from tradewind.core.events import (
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    PositionLiquidated,
    VenueEvent,
)
from tradewind.core.instrument import Instrument
from tradewind.core.intents import Decision, Intent, IntentAction, PriceType
from tradewind.core.money import ZERO
from tradewind.core.orders import TERMINAL, ClientIdFactory, Fill, Order, OrderStatus
from tradewind.core.ports import RiskGate, RiskObserver, Venue
from tradewind.core.records import Side, Trade
from tradewind.engine.bus import MessageBus
from tradewind.engine.portfolio import Portfolio
from tradewind.execution.orders import order_for
from tradewind.risk.exits import ProtectionBook
from tradewind.sim import stops
from tradewind.strategies.base import Strategy
from tradewind.strategies.guard import reraise_from_strategy

log = logging.getLogger(__name__)

_EXITS = frozenset({IntentAction.EXIT_LONG, IntentAction.EXIT_SHORT})
"""The actions that only reduce a position (``IntentAction.is_exit``, without a property call)."""


@dataclass(eq=False)
class Binding:
    """One strategy trading one symbol, with its precomputed signal arrays.

    ``start`` is the first bar on which it may act (warm-up and ``--from`` before it are history
    only).
    """

    strategy: Strategy
    strategy_id: str
    bars: BarSeries
    entry_long: BoolArray
    exit_long: BoolArray
    entry_short: BoolArray
    exit_short: BoolArray
    start: int = 0
    callback: bool = False

    @property
    def symbol(self) -> str:
        """The symbol this binding trades."""
        return self.bars.symbol

    def signal_bars(self) -> np.ndarray:
        """Indices of the bars at which a signal can produce an intent (or every bar, for hooks)."""
        n = len(self.bars)
        if self.callback:
            return np.arange(self.start, n, dtype=np.int64)
        any_signal = self.entry_long | self.exit_long | self.entry_short | self.exit_short
        hits = np.flatnonzero(any_signal)
        return hits[hits >= self.start].astype(np.int64)


@dataclass
class DenialRecord:
    """An intent the gate denied, kept for the report."""

    ts: int
    strategy_id: str
    symbol: str
    action: IntentAction
    reason: str
    code: str = ""


class _Context:
    """What a strategy hook sees: time, its positions, and a way to emit intents."""

    def __init__(self, node: Node, binding: Binding, ts: int) -> None:
        self.node = node
        self.binding = binding
        self.ts = ts
        self.intents: list[Intent] = []
        # A per-bar hook asks for its position at every bar: look it up without the detour.
        self._positions = node.portfolio.positions
        self._strategy_id = binding.strategy_id

    def position(self, symbol: str) -> Decimal:
        found = self._positions.get((self._strategy_id, symbol))
        if found is None:  # first use: the portfolio makes the flat position, as it always does
            found = self.node.portfolio.position(self._strategy_id, symbol)
        return found.quantity

    def set_timer(self, at_ms: int, name: str) -> None:
        self.node.set_timer(self.binding, at_ms, name)

    def emit(
        self,
        symbol: str,
        action: IntentAction,
        *,
        price_type: PriceType = PriceType.MARKET,
        limit_price: Decimal | None = None,
        reason: str = "",
        size_hint: Decimal | None = None,
    ) -> None:
        self.intents.append(
            Intent(
                strategy_id=self.binding.strategy_id,
                symbol=symbol,
                action=action,
                ts=self.ts,
                price_type=price_type,
                limit_price=limit_price,
                reason=reason,
                size_hint=size_hint,
            )
        )


_TOPICS: dict[type, str] = {
    OrderAccepted: "order.accepted",
    OrderRejected: "order.rejected",
    OrderTriggered: "order.triggered",
    OrderFilled: "order.filled",
    OrderCanceled: "order.canceled",
    OrderExpired: "order.expired",
    FundingPaid: "account.funding",
    PositionLiquidated: "account.liquidated",
}
"""The bus topic of each venue event."""


class Node:
    """Strategies -> risk gate -> execution -> venue -> order manager -> portfolio.

    Everything that happens is also published on :attr:`bus` (order.*, account.*, risk.denied)
    for adapters that record or report it.
    """

    def __init__(
        self,
        *,
        bindings: list[Binding],
        gate: RiskGate,
        venue: Venue,
        portfolio: Portfolio,
        instruments: dict[str, Instrument],
        ids: ClientIdFactory,
        protection: ProtectionBook | None = None,
        bus: MessageBus | None = None,
    ) -> None:
        self.bindings = bindings
        self.bus = bus or MessageBus()
        self.gate = gate
        self.observer: RiskObserver | None = gate if isinstance(gate, RiskObserver) else None
        self.protection = protection
        self.venue = venue
        self.portfolio = portfolio
        self.instruments = instruments
        self.ids = ids
        self.orders: dict[str, Order] = {}
        self.denials: list[DenialRecord] = []
        self.now = 0
        self._working: dict[tuple[str, str], set[str]] = {}
        self._reserved: dict[str, Decimal] = {}
        self._bars = {b.symbol: b.bars for b in bindings}
        self._strategy_of: dict[str, Binding] = {}
        self._binding_of = {(b.strategy_id, b.symbol): b for b in bindings}
        self._protective: dict[str, tuple[str, str]] = {}
        self._after_exit: dict[tuple[str, str], Intent] = {}
        self._contexts: dict[int, _Context] = {}
        self._timers: list[tuple[int, int, int, str]] = []
        self._timer_seq = 0
        self._binding_by_id = {id(b): b for b in bindings}
        self._trade_listeners: dict[str, list[Binding]] = {}
        self._book_listeners: dict[str, list[Binding]] = {}
        for binding in bindings:
            if binding.strategy.wants_trade_callback():
                self._trade_listeners.setdefault(binding.symbol, []).append(binding)
            if binding.strategy.wants_book_callback():
                self._book_listeners.setdefault(binding.symbol, []).append(binding)

    # -- AccountView, for the risk gate -----------------------------------------------------------

    def free(self, asset: str) -> Decimal:
        """Ledger balance minus perpetual margin in use and what working entries reserved."""
        return (
            self.portfolio.balance(asset)
            - self.portfolio.margin_in_use(asset)
            - self._reserved.get(asset, ZERO)
        )

    def position(self, strategy_id: str, symbol: str) -> Decimal:
        """Signed position of one strategy in one symbol."""
        return self.portfolio.position(strategy_id, symbol).quantity

    def last_price(self, symbol: str) -> Decimal:
        """Close of the latest bar of ``symbol`` complete at the Node's current time."""
        bars = self._bars[symbol]
        index = int(np.searchsorted(bars.close_time, self.now, side="right")) - 1
        return bars.price(max(index, 0))

    def clock(self) -> int:
        """The Node's current time (UTC ms)."""
        return self.now

    def open_positions(self) -> list[tuple[str, str, Decimal]]:
        """``(strategy_id, symbol, signed quantity)`` of every open position."""
        return [
            (p.strategy_id, p.symbol, p.quantity)
            for p in self.portfolio.positions.values()
            if p.quantity != 0
        ]

    def balances(self) -> dict[str, Decimal]:
        """Ledger balance of every asset."""
        return dict(self.portfolio.cash)

    def equity(self) -> Decimal:
        """Every balance valued in the account currency at the latest complete bar's close,
        plus the open PnL of perpetual positions."""
        total = ZERO
        quotes = {
            i.settle_currency if i.is_derivative else i.quote for i in self.instruments.values()
        }
        for asset, amount in self.portfolio.cash.items():
            if asset in quotes:
                total += amount
                continue
            for symbol, instrument in self.instruments.items():
                if instrument.is_spot and instrument.base == asset and symbol in self._bars:
                    total += amount * self.last_price(symbol)
                    break
        for symbol, instrument in self.instruments.items():
            if instrument.is_derivative and symbol in self._bars:
                total += self.portfolio.unrealized(symbol, self.last_price(symbol))
        return total

    # -- market data beyond bars -------------------------------------------------------------------

    def on_trade(self, symbol: str, trade: Trade) -> None:
        """A public trade of ``symbol``: show it to the strategies that asked for trades."""
        self.now = max(self.now, trade.ts)
        for binding in self._trade_listeners.get(symbol, ()):
            self._hook(binding, lambda ctx, b=binding: b.strategy.on_trade(ctx, trade))

    def on_book(self, symbol: str, book: OrderBook) -> None:
        """The book of ``symbol`` changed: show it to the strategies that asked for books."""
        self.now = max(self.now, book.ts)
        for binding in self._book_listeners.get(symbol, ()):
            self._hook(binding, lambda ctx, b=binding: b.strategy.on_book(ctx, book))

    def _hook(self, binding: Binding, call: Callable[[_Context], None]) -> None:
        context = _Context(self, binding, self.now)
        try:
            call(context)
        except Exception as exc:
            reraise_from_strategy(binding.strategy, "event hook", exc)
        if not context.intents:
            return
        bars = binding.bars
        index = max(int(np.searchsorted(bars.close_time, self.now, side="right")) - 1, 0)
        key = (binding.strategy_id, binding.symbol)
        for intent in context.intents:
            if self._working.get(key) and not intent.action.is_exit:
                continue  # an entry is already on its way
            self._route(intent, binding, index)

    # -- timers -----------------------------------------------------------------------------------

    def set_timer(self, binding: Binding, at_ms: int, name: str) -> None:
        """Call ``binding.strategy.on_timer(ctx, name)`` at ``at_ms`` (not before now)."""
        heapq.heappush(self._timers, (max(at_ms, self.now), self._timer_seq, id(binding), name))
        self._timer_seq += 1

    def next_timer(self) -> int | None:
        """Time of the earliest pending timer, or None."""
        return self._timers[0][0] if self._timers else None

    def on_timer(self, now: int) -> None:
        """Fire every timer due at ``now`` (in the order they were set) and route their intents."""
        self.now = max(self.now, now)
        while self._timers and self._timers[0][0] <= now:
            _, _, binding_id, name = heapq.heappop(self._timers)
            binding = self._binding_by_id[binding_id]
            context = _Context(self, binding, self.now)
            try:
                binding.strategy.on_timer(context, name)
            except Exception as exc:
                reraise_from_strategy(binding.strategy, "on_timer", exc)
            bars = binding.bars
            index = max(int(np.searchsorted(bars.close_time, self.now, side="right")) - 1, 0)
            for intent in context.intents:
                self._route(intent, binding, index)

    # -- events in --------------------------------------------------------------------------------

    def on_bar_close(self, binding: Binding, index: int) -> None:
        """Bar ``index`` of the binding's symbol has closed: act on its signal or hook."""
        bars = binding.bars
        self.now = int(bars.ts[index]) + bars.timeframe.ms
        if binding.callback:
            # One context per binding, reused bar after bar: a hook runs at every bar.
            context = self._contexts.get(id(binding))
            if context is None:
                context = self._contexts[id(binding)] = _Context(self, binding, self.now)
            context.ts = self.now
            context.intents = []
            try:
                binding.strategy.on_bar(context, bars, index)
            except Exception as exc:
                reraise_from_strategy(binding.strategy, "on_bar", exc)
            intents = context.intents
        else:
            intents = self._signal_intents(binding, index)
        if not intents:
            return
        key = (binding.strategy_id, bars.symbol)
        for intent in intents:
            working = self._working.get(key)
            if working and intent.action not in _EXITS:
                if any(self.orders[c].reduce_only for c in working):
                    # A reversal: the entry waits until the exit has filled, so it is sized from
                    # the account as it is after the exit, and fills right after it.
                    self._after_exit[key] = intent
                continue  # otherwise an entry is already on its way
            self._route(intent, binding, index)

    def on_venue_events(self, events: list[VenueEvent], bar_index: int) -> None:
        """Apply venue events: order states, then fills into the portfolio and the strategy;
        funding and liquidations into the portfolio."""
        publish = self.bus.publish
        for event in events:
            publish(_TOPICS[type(event)], self.now, event)
            if isinstance(event, FundingPaid):
                self.portfolio.apply_funding(event.symbol, event.amount, event.currency, bar_index)
                continue
            if isinstance(event, PositionLiquidated):
                self._liquidated(event, bar_index)
                continue
            order = self.orders.get(event.client_id)
            if order is None:
                log.error("venue reported an unknown order %s", event.client_id)
                continue
            # Order events are exact classes: an identity test on the type, not isinstance.
            if type(event) is OrderFilled:
                fill = event.fill
                if order.quote_quantity is not None and order.quantity == 0:
                    order.resolve_quantity(event.order_quantity)
                if not order.record_fill(fill):
                    continue  # the same trade again (same trade id): booked once already
                binding = self._strategy_of[order.client_id]
                closed = len(self.portfolio.trades)
                self.portfolio.apply_fill(fill, binding.strategy_id, bar_index, order.tag)
                if self.observer is not None or self.protection is not None:
                    self._after_fill(binding, fill, bar_index, closed)
                if self._after_exit:
                    waiting = self._after_exit.get((binding.strategy_id, order.symbol))
                    if waiting is not None and order.reduce_only and order.status in TERMINAL:
                        del self._after_exit[(binding.strategy_id, order.symbol)]
                        if self.position(binding.strategy_id, order.symbol) == 0:
                            self.now = max(self.now, fill.ts)
                            self._route(replace(waiting, ts=self.now), binding, bar_index)
                strategy = binding.strategy
                if type(strategy).on_fill is not Strategy.on_fill or "on_fill" in vars(strategy):
                    # Only a strategy with its own on_fill can emit here: others skip the context.
                    context = _Context(self, binding, fill.ts)
                    try:
                        strategy.on_fill(context, fill)
                    except Exception as exc:
                        reraise_from_strategy(strategy, "on_fill", exc)
                    for intent in context.intents:
                        self._route(intent, binding, bar_index)
            # Status reports tolerate the wire: one the order has passed changes nothing.
            elif type(event) is OrderAccepted:
                if order.report(OrderStatus.ACCEPTED):
                    order.venue_order_id = event.venue_order_id or order.venue_order_id
                    if self.observer is not None:
                        self.observer.on_order_result(False, event.ts)
            elif type(event) is OrderTriggered:
                order.report(OrderStatus.TRIGGERED)
            elif type(event) is OrderRejected:
                if order.report(OrderStatus.REJECTED, event.reason):
                    log.info("order %s rejected: %s", order.client_id, event.reason)
                    if self.observer is not None:
                        self.observer.on_order_result(True, event.ts)
            elif type(event) is OrderCanceled:
                order.report(OrderStatus.CANCELED)
            elif (
                type(event) is OrderExpired
                and order.report(OrderStatus.EXPIRED, event.reason)
                and event.reason
            ):
                log.info("order %s expired: %s", order.client_id, event.reason)
            if order.status in TERMINAL:
                self._release(order)
                if self._protective:
                    key = self._protective.pop(order.client_id, None)
                    if (
                        key is not None
                        and order.filled_quantity == 0
                        and self.protection is not None
                    ):
                        self.protection.failed(key)

    def _liquidated(self, event: PositionLiquidated, bar_index: int) -> None:
        log.warning(
            "%s liquidated at %s: %s %s of margin lost",
            event.symbol,
            event.price,
            event.margin_lost,
            event.currency,
        )
        closed = len(self.portfolio.trades)
        holders = [
            k for k, p in self.portfolio.positions.items() if k[1] == event.symbol and p.quantity
        ]
        self.portfolio.apply_liquidation(
            event.symbol, event.price, event.margin_lost, event.currency, event.ts, bar_index
        )
        for key in holders:
            if self.protection is not None:
                self.protection.drop(key)
        if self.observer is not None:
            for trade in self.portfolio.trades[closed:]:
                self.observer.on_trade_closed(
                    trade.strategy_id, trade.pnl, trade.entry_price * trade.quantity,
                    event.ts, bar_index, event.symbol,
                )  # fmt: skip
            self.observer.on_fill(self, event.symbol, bar_index)

    # -- protective exits and breakers (driven by the runner) -------------------------------------

    def next_protective(self, symbol: str) -> int | None:
        """Time (ms) of the next protective event (stop, take-profit, trail...) of ``symbol``."""
        if self.protection is None or not self.protection.guards:
            return None
        found = self.protection.next_event(symbol)
        return None if found is None else found[0]

    def on_protective(self, symbol: str) -> None:
        """Send the due protective exit of ``symbol`` through the gate (exits always pass)."""
        assert self.protection is not None
        found = self.protection.next_event(symbol)
        if found is None:
            return
        key = found[1]
        action = self.protection.take(key, self.position(*key))
        if action is None:
            return
        self.now = action.ts
        binding = self._binding_of[key]
        working = self._working.get(key, set())
        if action.kind != stops.PYRAMID_ADD and any(self.orders[c].reduce_only for c in working):
            return  # an exit is already on its way (it fills at this bar's open, first)
        is_long = self.position(*key) > 0
        if action.kind == stops.PYRAMID_ADD:
            intent_action = IntentAction.ENTER_LONG if is_long else IntentAction.ENTER_SHORT
            price_type = PriceType.MARKET
        else:
            intent_action = IntentAction.EXIT_LONG if is_long else IntentAction.EXIT_SHORT
            price_type = {
                stops.STOP: PriceType.STOP,
                stops.TRAILING: PriceType.STOP,
                stops.BREAKEVEN: PriceType.STOP,
                stops.TAKE_PROFIT: PriceType.TAKE_PROFIT,
                stops.SCALE_OUT: PriceType.TAKE_PROFIT,
            }.get(action.kind, PriceType.MARKET)
        intent = Intent(
            strategy_id=key[0],
            symbol=key[1],
            action=intent_action,
            ts=self.now,
            price_type=price_type,
            trigger_price=action.trigger,
            quantity=action.quantity,
            reason=action.reason,
        )
        client_id = self._route(intent, binding, action.bar)
        if client_id is None:
            self.protection.failed(key)
        elif client_id in self.orders and not self.orders[client_id].status.is_terminal:
            self._protective[client_id] = key

    def next_breaker(self) -> int | None:
        """Time (ms) of the next possible breaker trip, or None."""
        return None if self.observer is None else self.observer.next_event()

    def on_breaker(self, now: int) -> None:
        """Let the breakers trip at ``now``; flatten when one asks for it."""
        assert self.observer is not None
        self.now = max(self.now, now)
        if self.observer.fire(now):
            self.kill_switch("drawdown limit reached: flattening", halt=False)

    def kill_switch(self, reason: str = "kill switch", *, halt: bool = True) -> None:
        """Cancel every working order and flatten every position with reduce-only orders.

        The gate is HALTED first (no new exposure until a person resumes); the flattening exits
        pass it as every exit does. In a backtest the exits fill at the next bar's open.
        """
        if halt and self.observer is not None:
            self.observer.kill_switch(self.now, reason)
        for client_id, order in list(self.orders.items()):
            if order.status.is_open:
                self.on_venue_events(self.venue.cancel(client_id, self.now), -1)
        for strategy_id, symbol, quantity in self.open_positions():
            if self.protection is not None:
                self.protection.drop((strategy_id, symbol))
            binding = self._binding_of[(strategy_id, symbol)]
            bars = binding.bars
            index = max(int(np.searchsorted(bars.close_time, self.now, side="right")) - 1, 0)
            action = IntentAction.EXIT_LONG if quantity > 0 else IntentAction.EXIT_SHORT
            intent = Intent(
                strategy_id=strategy_id,
                symbol=symbol,
                action=action,
                ts=self.now,
                reason="kill_switch",
            )
            self._route(intent, binding, index)

    def _after_fill(self, binding: Binding, fill: Fill, bar_index: int, closed_before: int) -> None:
        key = (binding.strategy_id, fill.symbol)
        if self.observer is not None:
            for trade in self.portfolio.trades[closed_before:]:
                self.observer.on_trade_closed(
                    trade.strategy_id, trade.pnl, trade.entry_price * trade.quantity,
                    fill.ts, bar_index, fill.symbol,
                )  # fmt: skip
            self.observer.on_fill(self, fill.symbol, bar_index)
        if self.protection is not None:
            position = self.portfolio.position(*key)
            bars = self._bars[fill.symbol]
            # A fill at a bar's open is exposed to that bar; a fill at a close, from the next.
            start = bar_index if fill.ts <= int(bars.ts[bar_index]) else bar_index + 1
            self.protection.on_position(
                key[0], key[1], position.quantity, position.average_price, fill.price, start
            )

    # -- internals --------------------------------------------------------------------------------

    def _signal_intents(self, binding: Binding, i: int) -> list[Intent]:
        held = self.portfolio.position(binding.strategy_id, binding.symbol).quantity
        exit_long = bool(binding.exit_long[i])
        enter_long = bool(binding.entry_long[i]) and not exit_long
        enter_short = bool(binding.entry_short[i] and not binding.exit_short[i])
        actions: list[IntentAction] = []
        if held > 0 and exit_long:
            actions.append(IntentAction.EXIT_LONG)
            if enter_short:
                actions.append(IntentAction.ENTER_SHORT)  # a reversal, after the exit fills
        elif held < 0 and binding.exit_short[i]:
            actions.append(IntentAction.EXIT_SHORT)
            if enter_long:
                actions.append(IntentAction.ENTER_LONG)
        elif held == 0:
            if enter_long:
                actions.append(IntentAction.ENTER_LONG)
            elif enter_short:
                actions.append(IntentAction.ENTER_SHORT)
        return [
            Intent(
                strategy_id=binding.strategy_id,
                symbol=binding.symbol,
                action=action,
                ts=self.now,
                reason="signal",
            )
            for action in actions
        ]

    def _route(self, intent: Intent, binding: Binding, bar_index: int) -> str | None:
        if intent.action in _EXITS and intent.quantity is None:
            working = self._working.get((intent.strategy_id, intent.symbol))
            if working and any(self.orders[c].reduce_only for c in working):
                # An exit of the whole position is on its way already (a cap fills it in parts,
                # or a timer or hook asked twice): a second one would sell what is not there.
                return None
        decision: Decision = self.gate.decide(intent, self)
        if not decision.approved:
            self.bus.publish("risk.denied", self.now, decision)
            self.denials.append(
                DenialRecord(
                    intent.ts,
                    intent.strategy_id,
                    intent.symbol,
                    intent.action,
                    decision.reason,
                    decision.code,
                )
            )
            return None
        order = order_for(decision, self.ids, self.now)
        client_id = order.client_id
        self.orders[client_id] = order
        self._strategy_of[client_id] = binding
        key = (binding.strategy_id, order.symbol)
        working = self._working.get(key)
        if working is None:
            working = self._working[key] = set()
        working.add(client_id)
        reserve = order.quote_quantity or (
            order.quantity * order.price if order.price and not order.reduce_only else ZERO
        )
        if reserve and order.side is Side.BUY:
            quote = self.instruments[order.symbol].quote
            self._reserved[quote] = self._reserved.get(quote, ZERO) + reserve
        # The order is recorded (self.orders) before it is sent: a crash can be reconciled by id.
        order.submit()
        self.bus.publish("order.submitted", self.now, order)
        self.on_venue_events(self.venue.submit(order, self.now), bar_index)
        return order.client_id

    def _release(self, order: Order) -> None:
        working = self._working.get((order.strategy_id, order.symbol))
        if working is None or order.client_id not in working:
            return  # released already (a late fill on a canceled order ends it again)
        working.discard(order.client_id)
        reserve = order.quote_quantity or (
            order.quantity * order.price if order.price and not order.reduce_only else ZERO
        )
        if reserve and order.side is Side.BUY:
            quote = self.instruments[order.symbol].quote
            self._reserved[quote] = self._reserved.get(quote, ZERO) - reserve
