"""Orders, their legal lifecycle, and fills.

An order moves through a fixed table of legal transitions (:data:`TRANSITIONS`); any other
move raises :class:`IllegalTransitionError`, and a fill that would take the filled quantity past
the order's quantity raises :class:`OverFillError`. Both are bugs in a venue or adapter, never user
mistakes, so they stop the engine rather than guessing (DESIGN, fail safe).

Life of an order: ``NEW`` (created, written to the repository) -> ``SUBMITTED`` (sent) ->
``ACCEPTED`` (resting on the venue) -> ``TRIGGERED`` (stop orders, when the trigger price is hit) ->
``PARTIALLY_FILLED`` -> ``FILLED``; or ``CANCEL_PENDING`` -> ``CANCELED``; or ``REJECTED`` /
``EXPIRED``. Fills may arrive before the acknowledgement on a real exchange, so ``SUBMITTED`` may go
straight to a fill, and a fill may race a cancel request.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from tradewind.core.errors import TradewindError, UserError
from tradewind.core.money import ZERO
from tradewind.core.records import Side


class OrderType(StrEnum):
    """How an order executes."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT = "take_profit"
    """A market order released when the price reaches a favourable trigger."""


class TimeInForce(StrEnum):
    """How long an order may rest."""

    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(StrEnum):
    """Where an order is in its lifecycle."""

    NEW = "new"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    TRIGGERED = "triggered"
    PARTIALLY_FILLED = "partially_filled"
    CANCEL_PENDING = "cancel_pending"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """True once nothing more can happen to the order."""
        return self in TERMINAL

    @property
    def is_open(self) -> bool:
        """True while the order can still fill."""
        return self not in TERMINAL and self is not OrderStatus.NEW


class Liquidity(StrEnum):
    """Whether a fill added liquidity (maker) or took it (taker)."""

    MAKER = "maker"
    TAKER = "taker"


S = OrderStatus
TERMINAL = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED})
_FILLABLE = frozenset({S.PARTIALLY_FILLED, S.FILLED})

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.NEW: frozenset({S.SUBMITTED, S.REJECTED, S.CANCELED}),
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED, S.CANCELED, S.EXPIRED, S.CANCEL_PENDING})
    | _FILLABLE,
    S.ACCEPTED: frozenset({S.TRIGGERED, S.CANCEL_PENDING, S.CANCELED, S.EXPIRED}) | _FILLABLE,
    S.TRIGGERED: frozenset({S.CANCEL_PENDING, S.CANCELED, S.EXPIRED}) | _FILLABLE,
    S.PARTIALLY_FILLED: frozenset({S.CANCEL_PENDING, S.CANCELED, S.EXPIRED}) | _FILLABLE,
    # A cancel can be refused (the order goes back to resting) or lose a race with a fill.
    S.CANCEL_PENDING: frozenset({S.CANCELED, S.EXPIRED, S.ACCEPTED, S.TRIGGERED}) | _FILLABLE,
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}
"""Legal moves: ``TRANSITIONS[current]`` is the set of statuses an order may move to."""


class IllegalTransitionError(TradewindError):
    """An event tried to move an order along a transition the table does not allow."""


class OverFillError(TradewindError):
    """A fill would take an order's filled quantity past its quantity."""


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of (part of) an order. ``fee`` is in ``fee_currency``, always >= 0 here;
    a rebate is a negative fee."""

    client_id: str
    symbol: str
    side: Side
    ts: int
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity
    trade_id: str = ""

    @property
    def notional(self) -> Decimal:
        """Price times quantity (contract size 1)."""
        return self.price * self.quantity


@dataclass(slots=True)
class Order:
    """An order and its state. Build with the constructor; change only through its methods.

    ``quantity`` is in base units (contracts for derivatives). ``price`` is the limit price (limit
    and stop-limit), ``trigger_price`` the stop or take-profit trigger. A market buy may instead
    give ``quote_quantity`` (spend this much quote currency, Binance's ``quoteOrderQty``) with
    ``quantity`` zero; the venue fixes the quantity at the fill price with :meth:`resolve_quantity`.
    """

    client_id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    quote_quantity: Decimal | None = None
    strategy_id: str = ""
    tag: str = ""
    created_ts: int = 0
    status: OrderStatus = OrderStatus.NEW
    filled_quantity: Decimal = ZERO
    average_price: Decimal | None = None
    venue_order_id: str | None = None
    reject_reason: str = ""
    fills: list[Fill] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.quote_quantity is not None:
            if self.type is not OrderType.MARKET or self.quote_quantity <= 0 or self.quantity != 0:
                raise UserError(
                    f"order {self.client_id}: a quote quantity needs a market order, a positive "
                    "amount, and a zero base quantity"
                )
        elif self.quantity <= 0:
            raise UserError(
                f"order {self.client_id}: quantity must be positive, got {self.quantity}"
            )
        needs_price = self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        if needs_price and (self.price is None or self.price <= 0):
            raise UserError(f"order {self.client_id}: a {self.type} order needs a positive price")
        if not needs_price and self.price is not None:
            raise UserError(f"order {self.client_id}: a {self.type} order takes no limit price")
        needs_trigger = self.type in (
            OrderType.STOP_MARKET,
            OrderType.STOP_LIMIT,
            OrderType.TAKE_PROFIT,
        )
        if needs_trigger and (self.trigger_price is None or self.trigger_price <= 0):
            raise UserError(f"order {self.client_id}: a {self.type} order needs a trigger price")
        if not needs_trigger and self.trigger_price is not None:
            raise UserError(f"order {self.client_id}: a {self.type} order takes no trigger price")
        if self.post_only and self.type is not OrderType.LIMIT:
            raise UserError(f"order {self.client_id}: post-only applies to limit orders only")
        if self.post_only and self.time_in_force is not TimeInForce.GTC:
            raise UserError(f"order {self.client_id}: a post-only order must be GTC")

    def resolve_quantity(self, quantity: Decimal) -> None:
        """Fix the base quantity of a quote-quantity order at its fill price (venue only)."""
        if self.quote_quantity is None or self.quantity != 0 or quantity <= 0:
            raise IllegalTransitionError(f"order {self.client_id}: quantity cannot be resolved")
        self.quantity = quantity

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill."""
        return self.quantity - self.filled_quantity

    @property
    def is_open(self) -> bool:
        """True while the order can still fill."""
        return self.status.is_open

    def _move(self, to: OrderStatus) -> None:
        if to not in TRANSITIONS[self.status]:
            raise IllegalTransitionError(
                f"order {self.client_id}: illegal transition {self.status} -> {to}"
            )
        self.status = to

    def submit(self) -> None:
        """Mark the order as sent to the venue."""
        self._move(OrderStatus.SUBMITTED)

    def accept(self, venue_order_id: str | None = None) -> None:
        """Mark the order as acknowledged by the venue (resting)."""
        self._move(OrderStatus.ACCEPTED)
        if venue_order_id is not None:
            self.venue_order_id = venue_order_id

    def trigger(self) -> None:
        """Mark a stop or take-profit order as triggered."""
        if self.type not in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT):
            raise IllegalTransitionError(
                f"order {self.client_id}: a {self.type} order cannot trigger"
            )
        self._move(OrderStatus.TRIGGERED)

    def request_cancel(self) -> None:
        """Mark that a cancel was sent and not yet confirmed."""
        self._move(OrderStatus.CANCEL_PENDING)

    def cancel_refused(self) -> None:
        """The venue refused the cancel: the order rests again."""
        if self.status is not OrderStatus.CANCEL_PENDING:
            raise IllegalTransitionError(f"order {self.client_id}: no cancel is pending")
        if self.filled_quantity > 0:
            self.status = OrderStatus.PARTIALLY_FILLED
        else:
            self._move(OrderStatus.ACCEPTED)

    def cancel(self) -> None:
        """Mark the order as canceled (what is filled stays filled)."""
        self._move(OrderStatus.CANCELED)

    def reject(self, reason: str) -> None:
        """Mark the order as refused by the venue or locally."""
        self._move(OrderStatus.REJECTED)
        self.reject_reason = reason

    def expire(self) -> None:
        """Mark the order as expired (IOC/FOK remainder, end of its time in force)."""
        self._move(OrderStatus.EXPIRED)

    def fill(self, fill: Fill) -> None:
        """Apply one fill: quantity, average price, and the status that follows.

        Raises
        ------
        OverFillError
            If the fill would exceed the order's quantity.
        IllegalTransitionError
            If the order cannot fill in its current status.
        """
        if fill.client_id != self.client_id or fill.side is not self.side:
            raise IllegalTransitionError(
                f"fill {fill.trade_id} does not belong to order {self.client_id}"
            )
        if fill.quantity <= 0:
            raise OverFillError(
                f"order {self.client_id}: fill quantity must be positive, got {fill.quantity}"
            )
        new_filled = self.filled_quantity + fill.quantity
        if new_filled > self.quantity:
            raise OverFillError(
                f"order {self.client_id}: fill of {fill.quantity} takes the filled quantity to "
                f"{new_filled}, above the order's {self.quantity}"
            )
        target = OrderStatus.FILLED if new_filled == self.quantity else OrderStatus.PARTIALLY_FILLED
        self._move(target)
        previous = self.average_price or ZERO
        self.average_price = (
            previous * self.filled_quantity + fill.price * fill.quantity
        ) / new_filled
        self.filled_quantity = new_filled
        self.fills.append(fill)


class ClientIdFactory:
    """Client order ids unique within a run: ``<prefix>-<run>-<n>``.

    The id is assigned before the order is written and sent, so a crash can be reconciled against
    the venue by client id without sending a duplicate.
    """

    def __init__(self, run_id: str, prefix: str = "tw") -> None:
        if not run_id.isalnum():
            raise UserError(f"run id must be alphanumeric, got {run_id!r}")
        self._prefix = f"{prefix}-{run_id}-"
        self._counter = itertools.count(1)

    def next(self) -> str:
        """Return a new id."""
        return f"{self._prefix}{next(self._counter)}"
