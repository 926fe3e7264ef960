"""Ports: the interfaces the engine talks to, implemented by adapters at the edge.

The engine core depends only on these protocols; the composition root picks the implementation
(simulated venue in backtests and paper, an exchange through ccxt live).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol, runtime_checkable

from tradewind.core.events import VenueEvent
from tradewind.core.intents import Decision, Intent
from tradewind.core.orders import Order


class Clock(Protocol):
    """Where time comes from: simulated in backtests, the wall clock in paper and live."""

    def now(self) -> int:
        """Current time, UTC milliseconds."""
        ...


class Venue(Protocol):
    """Where orders go. Every call returns the events it caused, in order."""

    def submit(self, order: Order, ts: int) -> list[VenueEvent]:
        """Send an order; it may be accepted, rejected or (for immediate fills) filled."""
        ...

    def cancel(self, client_id: str, ts: int) -> list[VenueEvent]:
        """Ask to cancel a working order."""
        ...

    def balance(self, asset: str) -> Decimal:
        """Free balance of ``asset`` on the venue."""
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


@runtime_checkable
class RiskObserver(Protocol):
    """A gate that also watches the account (breakers): the Node reports what happens to it and
    asks when its next breaker can trip, so that the runner visits that bar."""

    def on_fill(self, account: RiskAccount, symbol: str, bar_index: int) -> None:
        """A fill at bar ``bar_index`` of ``symbol`` changed the balances."""
        ...

    def on_trade_closed(
        self, strategy_id: str, pnl: Decimal, value: Decimal, ts: int, bar: int, symbol: str
    ) -> None:
        """A round trip (or part of one) closed with ``pnl`` on an entry ``value``."""
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


class BarDrivenVenue(Venue, Protocol):
    """A venue that fills from recorded bars (the simulated venue), driven by a backtest runner.

    The runner asks where the next possible fill is, so that it can skip every bar in between.
    """

    revision: int
    """Changes whenever the venue's state changes, so the runner can cache :meth:`next_bar`."""

    def next_bar(self, symbol: str) -> int | None:
        """Index of the next bar of ``symbol`` on which a working order may fill, or None."""
        ...

    def process_bar(self, symbol: str, index: int) -> list[VenueEvent]:
        """Run bar ``index`` of ``symbol`` against the working orders; return what happened."""
        ...
