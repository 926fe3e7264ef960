"""Ports: the interfaces the engine talks to, implemented by adapters at the edge.

The engine core depends only on these protocols; the composition root picks the implementation
(simulated venue in backtests and paper, an exchange through ccxt live).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol, runtime_checkable

from tradewind.core.events import VenueEvent, VenueOrder
from tradewind.core.intents import Decision, Intent
from tradewind.core.orders import Fill, Order


class Clock(Protocol):
    """Where time comes from: simulated in backtests, the wall clock in paper and live."""

    def now(self) -> int:
        """Current time, UTC milliseconds."""
        ...


EventSink = Callable[[list[VenueEvent]], None]
"""Where a venue delivers its events: called whenever the venue sends them, in the order they
arrived (which need not be the order they happened in)."""


class Venue(Protocol):
    """Where orders go: commands in, events out, and the queries reconciliation needs.

    Commands return nothing: what they cause comes back as events through the sink given to
    :meth:`subscribe`, whenever the venue sends them: late, twice (the same fill with the same
    trade id), out of order (a fill before its acknowledgement), or never (a lookup then says
    what happened). A simulated venue delivers them at once, inside the command.
    """

    def subscribe(self, sink: EventSink) -> None:
        """Deliver every event from now on to ``sink``."""
        ...

    def submit(self, order: Order, ts: int) -> None:
        """Send an order (accepted, rejected or filled: events say which)."""
        ...

    def cancel(self, client_id: str, ts: int) -> None:
        """Ask to cancel a working order (OrderCanceled, or CancelRejected with the reason)."""
        ...

    def cancel_replace(self, client_id: str, order: Order, ts: int) -> None:
        """Cancel a working order and send ``order`` in its place; when the cancel is refused,
        the new order is not sent (it is rejected with the cancel's reason)."""
        ...

    async def order(self, client_id: str) -> VenueOrder | None:
        """What the venue knows of one order, or None if it never saw it."""
        ...

    async def open_orders(self) -> list[VenueOrder]:
        """Every order still working on the venue."""
        ...

    async def fills(self, since: int) -> list[Fill]:
        """Every fill at or after ``since`` (UTC ms), oldest first."""
        ...

    async def positions(self) -> dict[str, Decimal]:
        """Signed open position per derivative symbol (spot holdings are balances)."""
        ...

    async def balances(self) -> dict[str, Decimal]:
        """Wallet balance of every asset."""
        ...


class Control(Protocol):
    """The operator's actions on a running engine (the operations layer's one way in)."""

    def pause(self, reason: str = "paused by operator") -> None:
        """Refuse new entries from every strategy until :meth:`resume`; exits still pass."""
        ...

    def resume(self) -> None:
        """Take new entries again (after a pause, a halt or the kill switch)."""
        ...

    def stop_entries(self, symbol: str, reason: str = "entries stopped by operator") -> None:
        """Refuse new entries in one symbol until :meth:`allow_entries`; exits still pass."""
        ...

    def allow_entries(self, symbol: str) -> None:
        """Take new entries in ``symbol`` again."""
        ...

    def flatten(
        self, strategy_id: str | None = None, reason: str = "flatten", *, symbol: str | None = None
    ) -> None:
        """Cancel the working orders and close the positions of one strategy (or all), in one
        symbol (or all)."""
        ...

    def kill_switch(self, reason: str = "kill switch", *, halt: bool = True) -> None:
        """Cancel everything, flatten everything, and (``halt``) take no new risk until resumed."""
        ...


class AccountView(Protocol):
    """What the risk gate may read about the account when it sizes an intent."""

    def free(self, asset: str) -> Decimal:
        """Free (unreserved) balance of ``asset``."""
        ...

    def equity(self) -> Decimal:
        """Account value in the account currency at the latest known prices."""
        ...

    def position(self, strategy_id: str, symbol: str) -> Decimal:
        """Signed position of one strategy in one symbol."""
        ...

    def last_price(self, symbol: str) -> Decimal:
        """The latest known price of ``symbol`` (the close of the latest complete bar)."""
        ...


EXTERNAL = "external"
"""The pseudo-strategy that owns positions found on the exchange that the bot did not make (made
by hand, adopted by reconciliation): the risk engine counts their exposure, no strategy trades
them."""


@runtime_checkable
class RiskAccount(AccountView, Protocol):
    """What the full risk engine reads beyond :class:`AccountView`: time, positions, balances."""

    def clock(self) -> int:
        """The current time (UTC ms)."""
        ...

    def open_positions(self) -> list[tuple[str, str, Decimal]]:
        """``(strategy_id, symbol, signed quantity)`` of every open position."""
        ...

    def balances(self) -> dict[str, Decimal]:
        """Ledger balance of every asset."""
        ...

    def external_positions(self) -> list[tuple[str, str, Decimal]]:
        """``(EXTERNAL, symbol, signed quantity)`` of every position found on the exchange that
        the bot did not make: counted in exposure, never traded."""
        ...


@runtime_checkable
class RiskObserver(Protocol):
    """A gate that also watches the account (breakers): the Node reports what happens to it and
    asks when its next breaker can trip, so that the runner visits that bar."""

    def on_fill(self, account: RiskAccount, symbol: str, bar_ts: int) -> None:
        """A fill in the bar of ``symbol`` that opened at ``bar_ts`` (UTC ms) changed the
        balances."""
        ...

    def on_trade_closed(
        self, strategy_id: str, pnl: Decimal, value: Decimal, ts: int, bar_ts: int, symbol: str
    ) -> None:
        """A round trip (or part of one) closed at ``ts`` with ``pnl`` on an entry ``value``, in
        the bar of ``symbol`` that opened at ``bar_ts`` (UTC ms)."""
        ...

    def on_order_result(self, rejected: bool, ts: int) -> None:
        """The venue accepted or rejected an order."""
        ...

    def next_event(self) -> int | None:
        """Time (ms) of the next possible breaker trip, or None."""
        ...

    def fire(self, now: int) -> bool:
        """Handle the trips due at ``now``; True when the account must be flattened."""
        ...

    def kill_switch(self, ts: int, reason: str = "kill switch") -> None:
        """Halt: no new exposure until a manual resume."""
        ...


class RiskGate(Protocol):
    """Every intent passes here: approved with a size, or denied with a reason."""

    def decide(self, intent: Intent, account: AccountView) -> Decision:
        """Size or deny ``intent``. Exits are reduce-only and always approved."""
        ...


class BarDrivenVenue(Protocol):
    """A venue that fills from recorded bars (the simulated venue), driven by a backtest runner.

    The runner asks where the next possible fill is, so that it can skip every bar in between,
    and hands the events of each bar it runs to the Node itself (it alone knows bar indices).
    """

    revision: int
    """Changes whenever the venue's state changes, so the runner can cache :meth:`next_bar`."""

    def next_bar(self, symbol: str) -> int | None:
        """Index of the next bar of ``symbol`` on which a working order may fill, or None."""
        ...

    def process_bar(self, symbol: str, index: int) -> list[VenueEvent]:
        """Run bar ``index`` of ``symbol`` against the working orders; return what happened."""
        ...
