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

A real venue's events arrive late, twice, out of order, or never. ``UNKNOWN`` is an order whose
request was sent but whose outcome is ambiguous (a timeout, a lost connection); a lookup by client
id moves it to whatever the venue knows. Venue events go through the tolerant methods
:meth:`Order.record_fill` and :meth:`Order.report`: a fill seen before (same trade id) is not booked
again, a fill after a cancel or expiry is booked (it raced the cancel: the money moved), and a status
the order has already passed (an acknowledgement after a fill) changes nothing. The strict methods
(:meth:`Order.fill`, :meth:`Order.accept`...) keep raising on any move the table does not allow.
"""

from __future__ import annotations

import itertools
import os
import re
import time
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
    UNKNOWN = "unknown"
    """Sent, outcome ambiguous (no answer in time): a lookup by client id resolves it."""
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
    # A trigger may overtake the acknowledgement on the wire, as a fill may.
    S.SUBMITTED: frozenset(
        {S.ACCEPTED, S.TRIGGERED, S.REJECTED, S.CANCELED, S.EXPIRED, S.CANCEL_PENDING, S.UNKNOWN}
    )
    | _FILLABLE,
    # Whatever a lookup by client id can reveal about an order that was sent.
    S.UNKNOWN: frozenset(
        {S.ACCEPTED, S.TRIGGERED, S.CANCEL_PENDING, S.CANCELED, S.REJECTED, S.EXPIRED}
    )
    | _FILLABLE,
    S.ACCEPTED: frozenset({S.TRIGGERED, S.CANCEL_PENDING, S.CANCELED, S.EXPIRED}) | _FILLABLE,
    S.TRIGGERED: frozenset({S.CANCEL_PENDING, S.CANCELED, S.EXPIRED}) | _FILLABLE,
    S.PARTIALLY_FILLED: frozenset({S.CANCEL_PENDING, S.CANCELED, S.EXPIRED}) | _FILLABLE,
    # A cancel can be refused (the order goes back to resting) or lose a race with a fill; a
    # cancel request without an answer leaves the order UNKNOWN; a cancel sent before the submit's
    # answer may meet a rejection.
    S.CANCEL_PENDING: frozenset(
        {S.CANCELED, S.EXPIRED, S.REJECTED, S.ACCEPTED, S.TRIGGERED, S.UNKNOWN}
    )
    | _FILLABLE,
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}
"""Legal moves: ``TRANSITIONS[current]`` is the set of statuses an order may move to."""

_PROGRESS: dict[OrderStatus, int] = {
    S.NEW: 0,
    S.SUBMITTED: 1,
    S.UNKNOWN: 2,
    S.ACCEPTED: 3,
    S.TRIGGERED: 4,
    S.PARTIALLY_FILLED: 5,
    S.CANCEL_PENDING: 6,
    S.FILLED: 7,
    S.CANCELED: 7,
    S.REJECTED: 7,
    S.EXPIRED: 7,
}
"""How far along its life a status is: a venue report of a status behind the order's own is stale
(it was overtaken on the wire) and changes nothing."""


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

    def mark_unknown(self) -> None:
        """The request (submit or cancel) got no clear answer: the outcome is ambiguous until a
        lookup by client id says what the venue knows."""
        self._move(OrderStatus.UNKNOWN)

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

    def report(self, status: OrderStatus, reason: str = "") -> bool:
        """Apply a status the venue reported (an event or a lookup), tolerating the wire.

        Returns True when the order moved. A status the order has already passed (an
        acknowledgement that arrives after a fill, anything after the order ended) is stale and
        changes nothing. Filled statuses come only from fills (:meth:`record_fill`).

        Raises
        ------
        IllegalTransitionError
            If the report asks for a move that no reordering explains (a rejection of an order
            that is resting, a trigger of a market order), or a filled status without its fills.
        """
        if status in _FILLABLE or status is OrderStatus.NEW:
            raise IllegalTransitionError(
                f"order {self.client_id}: a venue cannot report {status} without its fills"
            )
        current = self.status
        if current in TERMINAL or status is current:
            return False
        if status is OrderStatus.ACCEPTED or status is OrderStatus.TRIGGERED:
            if current is OrderStatus.CANCEL_PENDING:
                return False  # still resting, the cancel still pending (a refusal: cancel_refused)
            if self.filled_quantity > 0 and current is OrderStatus.UNKNOWN:
                self._move(OrderStatus.PARTIALLY_FILLED)  # resting, with the fills booked
                return True
        if status not in TRANSITIONS[current]:
            if _PROGRESS[status] <= _PROGRESS[current]:
                return False
            raise IllegalTransitionError(
                f"order {self.client_id}: the venue reported {status} after {current}"
            )
        if status is OrderStatus.TRIGGERED:
            self.trigger()
        elif status is OrderStatus.REJECTED:
            self.reject(reason)
        else:
            self._move(status)
            if reason and status is OrderStatus.EXPIRED:
                self.reject_reason = reason
        return True

    def record_fill(self, fill: Fill) -> bool:
        """Book a fill as a venue reports it; True when booked, False for a duplicate.

        A fill whose trade id the order has already booked is a duplicate (the venue sent it
        twice, or a lookup found it again) and changes nothing. A fill on a canceled, expired or
        rejected order raced the cancel (or the venue's own end of the order): the money moved,
        so it is booked and the order keeps its final status.

        Raises
        ------
        OverFillError
            If the fill would exceed the order's quantity.
        """
        if fill.trade_id and any(f.trade_id == fill.trade_id for f in self.fills):
            return False
        if self.status in TERMINAL and self.status is not OrderStatus.FILLED:
            self._book(fill, self._checked(fill))
            return True
        self.fill(fill)
        return True

    def _checked(self, fill: Fill) -> Decimal:
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
        return new_filled

    def _book(self, fill: Fill, new_filled: Decimal) -> None:
        previous = self.average_price or ZERO
        self.average_price = (
            previous * self.filled_quantity + fill.price * fill.quantity
        ) / new_filled
        self.filled_quantity = new_filled
        self.fills.append(fill)

    def fill(self, fill: Fill) -> None:
        """Apply one fill: quantity, average price, and the status that follows.

        Raises
        ------
        OverFillError
            If the fill would exceed the order's quantity.
        IllegalTransitionError
            If the order cannot fill in its current status.
        """
        new_filled = self._checked(fill)
        target = OrderStatus.FILLED if new_filled == self.quantity else OrderStatus.PARTIALLY_FILLED
        self._move(target)
        self._book(fill, new_filled)


CLIENT_ID_MAX = 36
"""The longest client order id every venue we target accepts (Binance allows 36)."""

CLIENT_ID_PATTERN = re.compile(r"[A-Za-z0-9._:/-]{1,36}")
"""The characters every venue we target accepts in a client order id."""

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_COUNTER_DIGITS = 8
"""Room kept for the counter: ids stay within 36 characters up to 10^8 orders in one session."""


def _base36(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        digits.append(_BASE36[digit])
    return "".join(reversed(digits))


def new_session_id() -> str:
    """A session token for :class:`ClientIdFactory`: unique across restarts of the same bot.

    Six base-36 digits of the start time in seconds (they repeat only after about 69 years) and
    four random ones: two starts in the same second collide with a chance of one in 1.7 million.
    Read from the wall clock and the OS's random source, so only composition roots call it.
    """
    seconds = time.time_ns() // 1_000_000_000
    return _base36(seconds, 6) + _base36(int.from_bytes(os.urandom(4), "big"), 4)


class ClientIdFactory:
    """Client order ids: ``<prefix>-<run>-<session>-<n>``, at most 36 characters of
    ``[A-Za-z0-9._:/-]`` (what every venue we target accepts).

    The id is assigned before the order is written and sent, so a crash can be reconciled against
    the venue by client id without sending a duplicate. ``session`` makes ids unique across
    restarts of the same bot: by default a fresh :func:`new_session_id` (time and randomness); a
    backtest passes a fixed one, so that its results are reproducible (it is not a bot: its ids need
    only be unique within the run).

    Raises
    ------
    UserError
        If the run id or session is not alphanumeric, or the ids could grow past 36 characters.
    """

    def __init__(self, run_id: str, prefix: str = "tw", *, session: str | None = None) -> None:
        if not run_id.isalnum():
            raise UserError(f"run id must be alphanumeric, got {run_id!r}")
        chosen = new_session_id() if session is None else session
        if not chosen.isalnum() or not chosen.isascii():
            raise UserError(f"client id session must be alphanumeric, got {chosen!r}")
        self._prefix = f"{prefix}-{run_id}-{chosen}-"
        if not CLIENT_ID_PATTERN.fullmatch(self._prefix):
            raise UserError(f"client id prefix {self._prefix!r} has characters venues refuse")
        if len(self._prefix) + _COUNTER_DIGITS > CLIENT_ID_MAX:
            room = CLIENT_ID_MAX - _COUNTER_DIGITS - len(prefix) - len(chosen) - 3
            raise UserError(
                f"run id {run_id!r} is too long: client ids must fit {CLIENT_ID_MAX} characters "
                f"(at most {max(room, 0)} characters here)"
            )
        self._counter = itertools.count(1)

    @property
    def prefix(self) -> str:
        """What every id of this factory starts with (reconciliation finds this bot's orders by
        it)."""
        return self._prefix

    def next(self) -> str:
        """Return a new id."""
        return f"{self._prefix}{next(self._counter)}"
