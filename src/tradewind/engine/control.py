"""The control port: what an operator (or a policy acting for one) does to a running engine.

Pause and resume, stop and allow new entries in one symbol, flatten (one strategy or all, one
symbol or all), exit a given quantity of one position (a session's venue fallback), the kill
switch, what follows a strategy's fault (``on_strategy_error``) and what a circuit breaker asks for
(flatten, or stop the parents adding exposure). It implements :class:`tradewind.core.ports.Control`;
the Node composes it and answers the operations layer through it. Entries it refuses are denied
before the risk gate; exits always pass.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from tradewind.core.errors import UserError
from tradewind.core.intents import Intent, IntentAction, PriceType
from tradewind.core.ports import RiskObserver
from tradewind.engine.account import AccountState
from tradewind.engine.binding import Binding
from tradewind.engine.parents import ParentDesk
from tradewind.engine.strategy_host import StrategyFault
from tradewind.execution.order_manager import OrderManager
from tradewind.risk.breakers import BreakerState
from tradewind.risk.exits import ProtectionBook

StrategyErrorPolicy = Literal["keep", "flatten", "halt_all"]
"""What else happens when a strategy faults (it always stops emitting): ``keep`` its positions
under their protective exits, ``flatten`` them, or ``halt_all`` (no new entries for any strategy
until an operator resumes)."""

POLICIES = ("keep", "flatten", "halt_all")

Route = Callable[..., str | None]
"""The Node's router: ``route(intent, binding, at, plain=True)`` (gate, then send; booked at
``at``)."""


class ControlPort:
    """Operator actions on the orders and positions the order manager and the account hold.

    ``route`` sends a flattening exit through the gate (``plain``: never as an algorithm);
    ``at_of(symbol)`` is the open time of the bar of ``symbol`` current at the engine's time
    (what the flattening order's events are booked at).
    """

    def __init__(
        self,
        *,
        manager: OrderManager,
        account: AccountState,
        desk: ParentDesk,
        observer: RiskObserver | None,
        protection: ProtectionBook | None,
        binding_of: dict[tuple[str, str], Binding],
        route: Route,
        at_of: Callable[[str], int],
        on_strategy_error: StrategyErrorPolicy,
    ) -> None:
        if on_strategy_error not in POLICIES:
            raise UserError(
                f"on_strategy_error must be one of {', '.join(POLICIES)}, got {on_strategy_error!r}"
            )
        self.manager = manager
        self.account = account
        self.desk = desk
        self.observer = observer
        self.protection = protection
        self.on_strategy_error = on_strategy_error
        self._binding_of = binding_of
        self._route = route
        self._at_of = at_of
        self.paused = ""
        """Why new entries are refused (an operator's pause, ``halt_all``); empty when not."""
        self.stopped_entries: dict[str, str] = {}
        """Symbols an operator stopped new entries in, with why (exits still pass)."""

    def refusal(self, symbol: str) -> str:
        """Why a new entry in ``symbol`` is refused now (empty: it is not)."""
        return self.paused or self.stopped_entries.get(symbol, "")

    def pause(self, reason: str = "paused by operator") -> None:
        """Refuse new entries from every strategy until :meth:`resume`; exits still pass."""
        self.paused = reason or "paused"

    def resume(self) -> None:
        """Take new entries again: lifts a pause, ``halt_all`` and a kill switch's halt."""
        self.paused = ""
        resume = getattr(self.observer, "resume", None)
        if resume is not None:
            resume(self.account.now)

    def stop_entries(self, symbol: str, reason: str = "entries stopped by operator") -> None:
        """Refuse new entries in ``symbol`` (every strategy) until :meth:`allow_entries`."""
        self.stopped_entries[symbol] = reason or "entries stopped"

    def allow_entries(self, symbol: str) -> None:
        """Take new entries in ``symbol`` again after :meth:`stop_entries`."""
        self.stopped_entries.pop(symbol, None)

    def flatten(
        self, strategy_id: str | None = None, reason: str = "flatten", *, symbol: str | None = None
    ) -> None:
        """Cancel the working orders and close the positions of ``strategy_id`` (None: all) in
        ``symbol`` (None: every symbol) with reduce-only orders; protective exits of those
        positions are dropped. Their parents are canceled first (the flattening order replaces a
        reduce-only parent's remainder)."""
        now = self.account.now
        if self.desk.working:
            self.desk.cancel(reason, now, strategy_id=strategy_id, symbol=symbol)
        for client_id, order in list(self.manager.orders.items()):
            if not order.status.is_open or strategy_id not in (None, order.strategy_id):
                continue
            if symbol in (None, order.symbol):
                self.manager.cancel(client_id, now)
        for owner, held, quantity in self.account.open_positions():
            if strategy_id not in (None, owner) or symbol not in (None, held):
                continue
            if self.protection is not None:
                self.protection.drop((owner, held))
            action = IntentAction.EXIT_LONG if quantity > 0 else IntentAction.EXIT_SHORT
            intent = Intent(strategy_id=owner, symbol=held, action=action, ts=now, reason=reason)
            self._route(intent, self._binding_of[(owner, held)], self._at_of(held), plain=True)

    def exit_position(
        self,
        strategy_id: str,
        symbol: str,
        quantity: Decimal,
        reason: str,
        *,
        trigger_price: Decimal | None = None,
    ) -> str | None:
        """Send a reduce-only exit of ``quantity`` of ``strategy_id``'s position in ``symbol``:
        at market, or with ``trigger_price`` a stop-market order resting on the venue; through
        the risk gate as every exit. Returns its client id, None when nothing was sent (no
        position, refused, or waiting for the cancel of the position's resting stop, after
        which it goes out: :mod:`tradewind.engine.resting_stops`). The quantity is explicit so
        that an exit already in flight (its outcome unknown) does not hold this one back;
        reduce-only keeps the two from closing more than the position.
        """
        held = self.account.position(strategy_id, symbol)
        if held == 0 or quantity <= 0:
            return None
        action = IntentAction.EXIT_LONG if held > 0 else IntentAction.EXIT_SHORT
        price_type = PriceType.MARKET if trigger_price is None else PriceType.STOP
        intent = Intent(strategy_id=strategy_id, symbol=symbol, action=action,
                        ts=self.account.now, price_type=price_type, trigger_price=trigger_price,
                        quantity=min(quantity, abs(held)), reason=reason)  # fmt: skip
        binding = self._binding_of[(strategy_id, symbol)]
        return self._route(intent, binding, self._at_of(symbol), plain=True)

    def kill_switch(self, reason: str = "kill switch", *, halt: bool = True) -> None:
        """Cancel every working order and flatten every position with reduce-only orders.

        With ``halt``, no new exposure until a person resumes: the risk engine is HALTED (or, with
        the plain stake gate, entries pause); the flattening exits pass as every exit does. In a
        backtest the exits fill at the next bar's open.
        """
        if halt:
            if self.observer is not None:
                self.observer.kill_switch(self.account.now, reason)
            else:
                self.pause(reason)
        self.flatten(None, "kill_switch")

    def on_breaker(self, now: int) -> None:
        """Let the breakers trip at ``now``: flatten (without a halt) when one asks for it,
        else stop the parents a blocking breaker refuses."""
        assert self.observer is not None
        if self.observer.fire(now):
            self.kill_switch("drawdown limit reached: flattening", halt=False)
        elif self.desk.working:
            self.halt_parents()

    def halt_parents(self) -> None:
        """While a breaker refuses new exposure, parents that add it stop (with the breaker's
        name); reduce-only ones go on. Checked when a breaker trips and before parents are
        driven (a trip on a closed trade or a rejection happens outside :meth:`on_breaker`)."""
        board = getattr(self.observer, "board", None)
        if board is None:
            return
        now = self.account.now
        state, name = board.blocking(now)
        if state is not BreakerState.ACTIVE:
            self.desk.cancel(f"breaker {name}: {state}", now, adding_only=True)

    def faulted(self, fault: StrategyFault) -> None:
        """A strategy faulted: it cannot manage a resting entry any more, so those are canceled.
        Its positions (and their exits) stay, unless the policy says otherwise."""
        now = self.account.now
        if self.desk.working:
            self.desk.cancel(f"strategy fault: {fault.describe()}", now,
                             strategy_id=fault.strategy_id, adding_only=True)  # fmt: skip
        for client_id, order in list(self.manager.orders.items()):
            if order.strategy_id == fault.strategy_id and order.is_open and not order.reduce_only:
                self.manager.cancel(client_id, now)
        if self.on_strategy_error == "flatten":
            self.flatten(fault.strategy_id, "strategy_fault")
        elif self.on_strategy_error == "halt_all":
            self.pause(f"halted: {fault.describe()}")
