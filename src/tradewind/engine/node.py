"""The Node: one kernel for every mode, and the router between its parts.

It composes the account state (:mod:`tradewind.engine.account`), the strategy host
(:mod:`tradewind.engine.strategy_host`), the order manager (:mod:`tradewind.execution.order_manager`)
with the parent desk (:mod:`tradewind.engine.parents`), the handler of venue events
(:mod:`tradewind.engine.venue_events`) and the control port (:mod:`tradewind.engine.control`),
and routes between them: a closed bar, a trade, a book or a timer -> the strategy's intents ->
the risk gate -> an order (or a parent) sent through the venue port; the venue's events come back
through the port whenever it sends them. docs/architecture.md follows a bar and an order through.

The Node never reads a wall clock, sleeps or does I/O: time comes in with each call, and every
effect goes through the venue port. The same Node runs backtests, paper and live trading.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import numpy as np

from tradewind.book.book import OrderBook
from tradewind.core.algo_spec import AlgoSpec
from tradewind.core.errors import UserError
from tradewind.core.events import VenueEvent
from tradewind.core.instrument import Instrument
from tradewind.core.intents import Decision, Intent, IntentAction, PriceType
from tradewind.core.orders import ClientIdFactory, Order
from tradewind.core.ports import RiskGate, RiskObserver, Venue
from tradewind.core.records import Trade
from tradewind.engine.account import AccountState
from tradewind.engine.binding import Binding, DenialRecord
from tradewind.engine.bus import MessageBus
from tradewind.engine.control import ControlPort, StrategyErrorPolicy
from tradewind.engine.parents import ParentDesk
from tradewind.engine.portfolio import Portfolio
from tradewind.engine.protective import ProtectiveDriver
from tradewind.engine.resting_stops import RestingStops
from tradewind.engine.strategy_host import StrategyFault, StrategyHost
from tradewind.engine.venue_events import VenueEventHandler
from tradewind.execution.order_manager import OrderManager
from tradewind.risk.exits import ProtectionBook
from tradewind.series.bars import BarSeries

__all__ = ["Binding", "DenialRecord", "Node", "StrategyErrorPolicy"]

log = logging.getLogger(__name__)

_EXITS = frozenset({IntentAction.EXIT_LONG, IntentAction.EXIT_SHORT})
"""The actions that only reduce a position (``IntentAction.is_exit``, without a property call)."""


class Node:
    """Strategies -> risk gate -> order manager -> venue port -> order manager -> portfolio.

    Everything that happens is also published on :attr:`bus` (order.*, parent.*, account.*,
    risk.denied) for adapters that record or report it. ``on_strategy_error`` is the
    :data:`StrategyErrorPolicy` applied when a strategy faults. ``execution`` is the algorithm of
    every market intent of a strategy that names none (None: plain orders); an intent's own
    ``algo`` always wins. Parents are run by :attr:`desk` (:mod:`tradewind.engine.parents`);
    ``settle_ms`` is how long an ended child may still report a fill there (0 for the simulated
    venue, seconds live).
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
        on_strategy_error: StrategyErrorPolicy = "keep",
        execution: AlgoSpec | None = None,
        settle_ms: int = 0,
    ) -> None:
        self.bindings = bindings
        self.bus = bus or MessageBus()
        self.gate = gate
        self.observer: RiskObserver | None = gate if isinstance(gate, RiskObserver) else None
        self.protection = protection
        self.venue = venue
        self.portfolio = portfolio
        self.instruments = instruments
        self.manager = OrderManager(venue, ids, instruments, self.bus.publish)
        self.orders = self.manager.orders
        self.account = AccountState(
            portfolio, instruments, {b.symbol: b.bars for b in bindings}, self.manager.reserved,
            self.observer,
        )  # fmt: skip
        self.denials: list[DenialRecord] = []
        self._at = 0  # when the events of the current command are booked (the open of their bar)
        self._owner: dict[str, Binding] = {}
        self._binding_of = {(b.strategy_id, b.symbol): b for b in bindings}
        self._bindings_by_symbol: dict[str, list[Binding]] = {}
        for binding in bindings:
            self._bindings_by_symbol.setdefault(binding.symbol, []).append(binding)
        self._bars = {b.symbol: b.bars for b in bindings}
        self.desk = ParentDesk(
            self.manager, instruments, self._bars, self._owner, self.bus.publish,
            default=execution, settle_ms=settle_ms,
        )  # fmt: skip
        self.control = ControlPort(
            manager=self.manager, account=self.account, desk=self.desk, observer=self.observer,
            protection=protection, binding_of=self._binding_of, route=self._route,
            at_of=self._bar_open, on_strategy_error=on_strategy_error,
        )  # fmt: skip
        self.host = StrategyHost(bindings, portfolio.positions, self.position,
                                 lambda: self.account.now, self.control.faulted)  # fmt: skip
        self.events = VenueEventHandler(
            bus=self.bus, manager=self.manager, account=self.account, desk=self.desk,
            host=self.host, observer=self.observer, protection=protection, owner=self._owner,
            bars=self._bars, route=self._route,
        )  # fmt: skip
        self.resting = RestingStops(self.manager)
        """Native stops resting on the exchange as positions' protection (live sessions)."""
        self.protective = ProtectiveDriver(
            protection=protection, account=self.account, manager=self.manager,
            binding_of=self._binding_of, exiting=self._exiting, route=self._route,
            working=self.events.protective, waiting=lambda key: key in self.resting.waiting,
        )  # fmt: skip
        venue.subscribe(lambda events: self.on_venue_events(events, self._at))

    @property
    def now(self) -> int:
        """The engine's current time (UTC ms)."""
        return self.account.now

    @now.setter
    def now(self, value: int) -> None:
        self.account.now = value

    @property
    def faults(self) -> list[StrategyFault]:
        """Every strategy that faulted in this run, in order."""
        return self.host.faults

    def position(self, strategy_id: str, symbol: str) -> Decimal:
        """Signed position of one strategy in one symbol."""
        return self.portfolio.position(strategy_id, symbol).quantity

    # -- market data ------------------------------------------------------------------------------

    def replace_bars(self, symbol: str, bars: BarSeries) -> None:
        """The bars of ``symbol`` are now ``bars`` (live data: the old bars plus those closed
        since). Every part of the Node that reads them sees the new series; the caller brings
        each binding's signal arrays up to date (:attr:`Binding.bars` is replaced here)."""
        for binding in self._bindings_by_symbol.get(symbol, ()):
            binding.bars = bars
        self._bars[symbol] = bars
        self.account.replace_bars(symbol, bars)
        self.host.replace_bars(symbol, bars)

    def on_bar_close(self, binding: Binding, index: int) -> None:
        """Bar ``index`` of the binding's symbol has closed: act on its signal or hook."""
        bars = binding.bars
        at = int(bars.ts[index])  # the bar's events are booked at its open time
        now = self.account.now = at + bars.timeframe.ms
        if binding.callback:
            intents = self.host.on_bar(binding, index, now)
        elif self.host.faulted and binding.strategy_id in self.host.faulted:
            return
        else:
            held = self.portfolio.position(binding.strategy_id, binding.symbol).quantity
            intents = binding.signal_intents(index, held, now)
        if not intents:
            return
        key = (binding.strategy_id, bars.symbol)
        for intent in intents:
            if intent.action not in _EXITS and (self.manager.working.get(key) or (
                    self.desk.working and self.desk.busy(key))):  # fmt: skip
                if self._exiting(key) or key in self.resting.waiting:
                    # A reversal: the entry waits until the exit has filled (an exit waiting for
                    # a resting stop's cancel too), so it is sized from the account as it is
                    # after the exit, and fills right after it.
                    self.events.after_exit[key] = intent
                continue  # otherwise an entry is already on its way
            self._route(intent, binding, at)

    def on_trade(self, symbol: str, trade: Trade) -> None:
        """A public trade of ``symbol``: show it to the strategies that asked for trades."""
        self.now = max(self.now, trade.ts)
        for binding in self.host.trade_listeners.get(symbol, ()):
            self._act(binding, self.host.call(binding, "on_trade", self.now, trade), True)

    def on_book(self, symbol: str, book: OrderBook) -> None:
        """The book of ``symbol`` changed: show it to the strategies that asked for books, and
        to the parents of ``symbol``."""
        self.now = max(self.now, book.ts)
        for binding in self.host.book_listeners.get(symbol, ()):
            self._act(binding, self.host.call(binding, "on_book", self.now, book), True)
        self.desk.on_book(symbol, book, self.now, self._date_for)

    def next_timer(self) -> int | None:
        """The next strategy timer or parent wake-up (UTC ms), or None."""
        timer = self.host.next_timer()
        if not self.desk.working:
            return timer
        wake = self.desk.next_wake(self.now)
        if wake is None or (timer is not None and timer <= wake):
            return timer
        return wake

    def on_timer(self, now: int) -> None:
        """Fire every timer due at ``now`` (in the order they were set) and route their intents;
        then drive the working parents."""
        self.now = max(self.now, now)
        for binding, intents in self.host.due_timers(now):
            self._act(binding, intents, False)
        if self.desk.working:
            self.control.halt_parents()
            self.desk.drive(self.now, self._date_for)

    def _date_for(self, symbol: str) -> None:
        # Events the venue answers while a parent is driven belong to the symbol's latest bar.
        self._at = self._bar_open(symbol)

    def _act(self, binding: Binding, intents: list[Intent], one_entry: bool) -> None:
        if not intents:
            return
        at = self._bar_open(binding.symbol)
        key = (binding.strategy_id, binding.symbol)
        for intent in intents:
            if one_entry and not intent.action.is_exit and (self.manager.working.get(key) or (
                    self.desk.working and self.desk.busy(key))):  # fmt: skip
                continue  # an entry is already on its way
            self._route(intent, binding, at)

    def _bar_open(self, symbol: str) -> int:
        """Open time of the latest bar of ``symbol`` complete at the engine's time."""
        bars = self._bars[symbol]
        return int(bars.ts[max(int(np.searchsorted(bars.close_time, self.now, "right")) - 1, 0)])

    def adopt(self, order: Order, at: int, *, send: bool = True) -> None:
        """Carry on a working order of an earlier session of this bot (after a restart) and hand
        it to the venue again, as of when it was made: a simulated venue that lost it with the
        process fills it where it would have filled. What the venue answers now is booked at
        ``at`` (UTC ms, :meth:`on_venue_events`). With ``send=False`` nothing is sent: the order
        still works on an exchange, which the venue port follows already (a live restart), and
        one filled in part goes on from there. Raises UserError when no strategy of this
        session trades the order's ``(strategy, symbol)``, ValueError for an order to send that
        filled in part (the venue would fill all of it again).
        """
        if send and order.filled_quantity:
            raise ValueError(f"order {order.client_id} filled in part: it cannot be sent again")
        binding = self._binding_of.get((order.strategy_id, order.symbol))
        if binding is None:
            raise UserError(
                f"order {order.client_id} of an earlier session belongs to strategy "
                f"{order.strategy_id!r} in {order.symbol}, which this session does not trade"
            )
        self.manager.adopt(order)
        self._owner[order.client_id] = binding
        self._at = at
        if send:
            self.venue.submit(order, order.created_ts)

    # -- venue events ----------------------------------------------------------------------------

    def on_venue_events(self, events: list[VenueEvent], at: int) -> None:
        """Apply venue events (:class:`tradewind.engine.venue_events.VenueEventHandler`), booked
        at ``at`` (UTC ms: the open time of the bar they belong to; the runner's bar, the latest
        bar live)."""
        self.events.apply(events, at)
        if self.resting.stops:
            self.resting.settle(self._route, self.now)

    # -- protective exits and breakers (driven by the runner) -------------------------------------

    def next_protective(self, symbol: str) -> int | None:
        """Time (ms) of the next protective event of ``symbol`` (:class:`ProtectiveDriver`)."""
        return self.protective.next_time(symbol)

    def on_protective(self, symbol: str) -> None:
        """Send the due protective exit of ``symbol`` through the gate (exits always pass)."""
        self.protective.fire(symbol)

    def next_breaker(self) -> int | None:
        """Time (ms) of the next possible breaker trip, or None."""
        return None if self.observer is None else self.observer.next_event()

    def on_breaker(self, now: int) -> None:
        """Let the breakers trip at ``now``; flatten when one asks for it."""
        self.now = max(self.now, now)
        self.control.on_breaker(now)

    # -- the control port (:class:`tradewind.engine.control.ControlPort`) ------------------------

    @property
    def paused(self) -> str:
        """Why new entries are refused (an operator's pause, ``halt_all``); empty when not."""
        return self.control.paused

    @property
    def stopped_entries(self) -> dict[str, str]:
        """Symbols an operator stopped new entries in, with why (exits still pass)."""
        return self.control.stopped_entries

    def pause(self, reason: str = "paused by operator") -> None:
        """Refuse new entries from every strategy until :meth:`resume`; exits still pass."""
        self.control.pause(reason)

    def resume(self) -> None:
        """Take new entries again: lifts a pause, ``halt_all`` and a kill switch's halt."""
        self.control.resume()

    def stop_entries(self, symbol: str, reason: str = "entries stopped by operator") -> None:
        """Refuse new entries in ``symbol`` (every strategy) until :meth:`allow_entries`."""
        self.control.stop_entries(symbol, reason)

    def allow_entries(self, symbol: str) -> None:
        """Take new entries in ``symbol`` again after :meth:`stop_entries`."""
        self.control.allow_entries(symbol)

    def flatten(
        self, strategy_id: str | None = None, reason: str = "flatten", *, symbol: str | None = None
    ) -> None:
        """Close the positions of one strategy (or all) in one symbol (or all)."""
        self.control.flatten(strategy_id, reason, symbol=symbol)

    def exit_position(
        self, strategy_id: str, symbol: str, quantity: Decimal, reason: str, *,
        trigger_price: Decimal | None = None,
    ) -> str | None:  # fmt: skip
        """A reduce-only exit of ``quantity`` (:meth:`ControlPort.exit_position`)."""
        return self.control.exit_position(
            strategy_id, symbol, quantity, reason, trigger_price=trigger_price
        )

    def kill_switch(self, reason: str = "kill switch", *, halt: bool = True) -> None:
        """Cancel and flatten everything; with ``halt``, no new exposure until resumed."""
        self.control.kill_switch(reason, halt=halt)

    # -- routing ----------------------------------------------------------------------------------

    def rest_stop(
        self, strategy_id: str, symbol: str, quantity: Decimal, trigger_price: Decimal, reason: str
    ) -> str | None:
        """Place a stop that rests on the venue as the position's protection
        (:meth:`RestingStops.rest`); returns its client id, None when refused."""
        return self.resting.rest(self.control.exit_position, strategy_id, symbol, quantity,
                                 trigger_price, reason)  # fmt: skip

    def _exiting(self, key: tuple[str, str]) -> bool:
        """True while a reduce-only order or parent of ``key`` is working (a resting stop is
        protection, not an exit)."""
        orders = self.resting.exiting(key) if self.resting.stops else self.manager.exiting(key)
        return orders or bool(self.desk.working and self.desk.exiting(key))

    def _route(
        self, intent: Intent, binding: Binding, at: int, *, plain: bool = False
    ) -> str | None:
        """Gate ``intent`` and send what it approves: an order, or a parent when the intent
        names an algorithm (or, unless ``plain``, a market intent meets the run's default
        execution). Returns the order's or the parent's id, None when nothing was sent."""
        key = (intent.strategy_id, intent.symbol)
        if intent.action in _EXITS and self.resting.stops and self.resting.defer(
                key, intent, binding, at, plain, self.now):  # fmt: skip
            return None  # sent once the exchange has confirmed the resting stop's cancel
        if intent.action in _EXITS and intent.quantity is None and self._exiting(key):
            # An exit of the whole position is on its way already (a cap fills it in parts, or a
            # timer or hook asked twice): a second one would sell what is not there.
            return None
        if intent.action in _EXITS and self.desk.working:
            # The exit decides: an entry still being worked stops adding to what it closes.
            self.desk.cancel(f"exit: {intent.reason or intent.action.value}", self.now,
                             strategy_id=key[0], symbol=key[1], adding_only=True)  # fmt: skip
        stopped = self.control.refusal(intent.symbol)
        if stopped and intent.action not in _EXITS:
            decision = Decision.deny(intent, stopped, "control.paused")
        else:
            decision = self.gate.decide(intent, self.account)
        if not decision.approved:
            self._deny(decision)
            return None
        spec = intent.algo
        if spec is None and not plain and intent.price_type is PriceType.MARKET:
            spec = self.desk.default
        self._at = at  # what the venue answers this command is booked then
        if spec is not None:
            try:
                return self.desk.start(decision, binding, spec, self.now).parent_id
            except UserError as refused:  # too small for the market, or nothing seen yet
                self._deny(Decision.deny(intent, str(refused), "execution.refused"))
                return None
        order = self.manager.place(decision, self.now)
        self._owner[order.client_id] = binding
        # The order is recorded before it is sent: a crash can be reconciled by its client id.
        self.manager.send(order, self.now)
        return order.client_id

    def _deny(self, decision: Decision) -> None:
        intent = decision.intent
        self.bus.publish("risk.denied", self.now, decision)
        denial = DenialRecord(intent.ts, intent.strategy_id, intent.symbol, intent.action,
                              decision.reason, decision.code)  # fmt: skip
        self.denials.append(denial)
