"""The protective-exit driver: how the runner (or a session's bar driver) reaches the protective
exits through the Node.

The :class:`~tradewind.risk.exits.ProtectionBook` finds with compiled scans when the next stop,
take-profit, trail, break-even, time stop, scale-out rung or pyramiding add of a symbol's positions
fires. The runner asks for that time (:meth:`ProtectiveDriver.next_time`) beside its other events;
at that time the driver takes the action and sends it through the Node's router as a plain order
(exits pass the gate whatever the breakers say). A protective order that ends unfilled is looked
for again from the next bar (:class:`~tradewind.engine.venue_events.VenueEventHandler` tells the
book); one the gate refuses, at once.
"""

from __future__ import annotations

from collections.abc import Callable

from tradewind.engine.account import AccountState
from tradewind.engine.binding import Binding
from tradewind.execution.order_manager import OrderManager
from tradewind.risk.exits import ProtectionBook
from tradewind.sim import stops

Route = Callable[..., str | None]
"""The Node's router: ``route(intent, binding, at, plain=True)`` (gate, then send)."""


class ProtectiveDriver:
    """Sends each due protective action of a :class:`ProtectionBook` through the router.

    ``exiting(key)`` says whether an exit of position ``key`` is on its way already; ``working``
    maps the client id of each protective order still working to its position (the venue-event
    handler's, which reports one that ended unfilled back to the book); ``waiting(key)`` says
    whether an exit of ``key`` waits for the cancel of its resting stop (live: the exit is
    sent once the exchange has confirmed it, so it has not failed).
    """

    def __init__(
        self,
        *,
        protection: ProtectionBook | None,
        account: AccountState,
        manager: OrderManager,
        binding_of: dict[tuple[str, str], Binding],
        exiting: Callable[[tuple[str, str]], bool],
        route: Route,
        working: dict[str, tuple[str, str]],
        waiting: Callable[[tuple[str, str]], bool] | None = None,
    ) -> None:
        self.protection = protection
        self.account = account
        self.manager = manager
        self._binding_of = binding_of
        self._exiting = exiting
        self._route = route
        self._working = working
        self._waiting = waiting

    def next_time(self, symbol: str) -> int | None:
        """Time (ms) of the next protective event (stop, take-profit, trail...) of ``symbol``."""
        if self.protection is None or not self.protection.guards:
            return None
        found = self.protection.next_event(symbol)
        return None if found is None else found[0]

    def fire(self, symbol: str) -> None:
        """Send the due protective action of ``symbol`` through the gate (exits always pass)."""
        assert self.protection is not None
        found = self.protection.next_event(symbol)
        if found is None:
            return
        key = found[1]
        account = self.account
        action = self.protection.take(key, account.position(*key))
        if action is None:
            return
        account.now = action.ts
        binding = self._binding_of[key]
        if action.kind != stops.PYRAMID_ADD and self._exiting(key):
            return  # an exit is already on its way (it fills at this bar's open, first)
        intent = action.intent(account.position(*key) > 0)
        client_id = self._route(intent, binding, action.bar_ts, plain=True)
        if client_id is None:
            if self._waiting is None or not self._waiting(key):
                self.protection.failed(key)
        elif not self.manager.orders[client_id].status.is_terminal:
            self._working[client_id] = key
