"""The repository port: where the order manager and the account state keep what happened.

Paper and live trading write every order before it is sent, every status change with its time and
source, every fill (once: fills are unique by the exchange's trade id), and snapshots of positions,
balances and equity, so that a restarted bot reads back the state it left. Backtests use an
in-memory implementation; the SQL one lives in ``persistence`` (the only package that knows SQL).

Everything here is stdlib only: the records are plain frozen dataclasses with ``Decimal`` money and
UTC millisecond times, so the engine can depend on the port without knowing any database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from tradewind.core.money import ZERO
from tradewind.core.orders import Fill, Order, OrderStatus


class TransitionSource(StrEnum):
    """Who moved an order to a new status."""

    ENGINE = "engine"
    """The order manager itself (made, sent, locally rejected)."""
    VENUE = "venue"
    """An event from the venue (acknowledgement, fill, cancel, reject, expiry)."""
    RECONCILE = "reconcile"
    """A lookup against the venue after a restart or an ambiguous outcome."""
    OPERATOR = "operator"
    """A person, through the control facade."""


@dataclass(frozen=True, slots=True)
class OrderTransition:
    """An order reached ``status`` at ``ts`` (UTC ms) because of ``source``.

    ``filled_quantity`` and ``average_price`` are the order's totals after the change (None when
    the change did not touch them); ``quantity`` is the order's quantity when a fill fixed it (an
    order placed by quote amount); ``detail`` carries a reject or expiry reason.
    """

    client_id: str
    status: OrderStatus
    ts: int
    source: TransitionSource
    detail: str = ""
    venue_order_id: str | None = None
    filled_quantity: Decimal | None = None
    average_price: Decimal | None = None
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PositionState:
    """One strategy's position in one symbol as the portfolio holds it (signed quantity)."""

    strategy_id: str
    symbol: str
    quantity: Decimal
    average_price: Decimal = ZERO
    entry_ts: int = 0
    realized_pnl: Decimal = ZERO
    open_fees: Decimal = ZERO
    open_funding: Decimal = ZERO
    dust: Decimal = ZERO
    """Base left by a spot exit, less than one lot, which joins the next entry."""


@dataclass(frozen=True, slots=True)
class RiskEvent:
    """Something the risk engine did: a denial, a breaker trip or reset, a kill switch."""

    ts: int
    kind: str
    reason: str
    strategy_id: str = ""
    symbol: str = ""
    action: str = ""
    code: str = ""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The account as last checkpointed, and the fills recorded after it.

    ``positions`` and ``balances`` include the first ``fills`` fills of the bot (in recording
    order); ``later`` holds every fill recorded after those, with its strategy, in recording
    order: a process killed between recording a fill and writing the next checkpoint left them.
    """

    positions: tuple[PositionState, ...]
    balances: Mapping[str, Decimal]
    fills: int
    later: tuple[tuple[Fill, str], ...]


@runtime_checkable
class TradingRepository(Protocol):
    """What the order manager and the account state write and read back.

    Implementations must make each call durable before it returns (the SQL one commits), so that
    an order recorded here before it is sent survives a crash of the process.
    """

    def record_order(self, order: Order, ts: int, source: TransitionSource) -> None:
        """Store a new order with its current status as its first transition."""
        ...

    def record_transition(self, transition: OrderTransition) -> None:
        """Store a status change and update the order's current state."""
        ...

    def record_fill(
        self, fill: Fill, strategy_id: str, transition: OrderTransition | None = None
    ) -> bool:
        """Store a fill and the status change it caused, together; False (and nothing stored)
        when its trade id was stored before."""
        ...

    def record_funding(
        self, symbol: str, ts: int, amount: Decimal, currency: str, rate: Decimal
    ) -> None:
        """Store a perpetual's funding payment (negative when paid)."""
        ...

    def save_positions(self, positions: Sequence[PositionState], ts: int) -> None:
        """Replace the stored state of these (strategy, symbol) positions."""
        ...

    def save_balances(self, balances: Mapping[str, Decimal], ts: int) -> None:
        """Replace the stored balance of each of these assets."""
        ...

    def save_checkpoint(
        self,
        positions: Sequence[PositionState],
        balances: Mapping[str, Decimal],
        fills: int,
        ts: int,
    ) -> None:
        """Replace these positions and balances and note that they include the bot's first
        ``fills`` fills, all in one transaction."""
        ...

    def load_checkpoint(self) -> Checkpoint | None:
        """The last checkpoint with the fills recorded after it; None when there is none."""
        ...

    def record_equity(self, ts: int, equity: Decimal, currency: str) -> None:
        """Store one point of the account's equity curve."""
        ...

    def record_risk_event(self, event: RiskEvent) -> None:
        """Store a denial, breaker transition or kill switch."""
        ...

    def load_orders(self, *, open_only: bool = False) -> list[Order]:
        """Read orders back (with their fills), oldest first; only working ones if asked."""
        ...

    def load_transitions(self, client_id: str) -> list[OrderTransition]:
        """Every status change of one order, in the order they were recorded."""
        ...

    def load_positions(self) -> list[PositionState]:
        """Every stored position, open or flat."""
        ...

    def load_balances(self) -> dict[str, Decimal]:
        """The stored balance of every asset."""
        ...
