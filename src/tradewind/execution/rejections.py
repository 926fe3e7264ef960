"""Who caused an order's rejection: the engine (a bug that stops the run) or the user.

A venue refuses an order for a reason (Binance's messages: ``Filter failure: LOT_SIZE``, ...). When
the engine sized or rounded the order itself (every exit, every protective exit, every entry whose
quantity the risk gate computed) a filter failure is the engine's own mistake: it knew the
market's rules and broke them. Such a result would be made up (an exit that never happened, a
position held to the end), so :class:`EngineRejectionError` stops the run instead. Only what the
user chose can be refused legitimately: an explicit price, or too little cash for an entry.

The table, by how the order was sized (rows) and the reason (columns); anything else is the user's:

=====================  ========  ============  ============  =============  ===================
order                  LOT_SIZE  PRICE_FILTER  MIN_NOTIONAL  PERCENT_PRICE  balance shortfall
=====================  ========  ============  ============  =============  ===================
exit (any reduce-only)  engine    engine        engine        engine         engine
entry, quantity sized   engine    engine        engine        engine         user (cash)
entry, user's price     engine    user          user          user           user (cash)
entry by quote amount   user      engine        user          engine         user (cash)
=====================  ========  ============  ============  =============  ===================

An entry by quote amount (the stake) gets its quantity at the fill, from the cash: a lot or
notional failure there means the stake buys less than the market's minimum, too little cash.
"""

from __future__ import annotations

from enum import StrEnum

from tradewind.core.errors import TradewindError
from tradewind.core.orders import Order, OrderType


class RejectionReason(StrEnum):
    """The venue's reason, normalised (Binance's filter names)."""

    LOT_SIZE = "LOT_SIZE"
    PRICE_FILTER = "PRICE_FILTER"
    MIN_NOTIONAL = "MIN_NOTIONAL"
    PERCENT_PRICE = "PERCENT_PRICE"
    BALANCE = "BALANCE"
    OTHER = "OTHER"


class Sizing(StrEnum):
    """How an order's quantity and price were chosen."""

    EXIT = "exit"
    SIZED_ENTRY = "sized_entry"
    USER_PRICE_ENTRY = "user_price_entry"
    QUOTE_ENTRY = "quote_entry"


class Cause(StrEnum):
    """Who is to blame for a rejection."""

    ENGINE = "engine"
    USER = "user"


_FILTERS = (
    RejectionReason.LOT_SIZE,
    RejectionReason.PRICE_FILTER,
    RejectionReason.MIN_NOTIONAL,
    RejectionReason.PERCENT_PRICE,
)

ENGINE_CAUSED: frozenset[tuple[Sizing, RejectionReason]] = frozenset(
    [(Sizing.EXIT, r) for r in (*_FILTERS, RejectionReason.BALANCE)]
    + [(Sizing.SIZED_ENTRY, r) for r in _FILTERS]
    + [
        (Sizing.USER_PRICE_ENTRY, RejectionReason.LOT_SIZE),
        (Sizing.QUOTE_ENTRY, RejectionReason.PRICE_FILTER),
        (Sizing.QUOTE_ENTRY, RejectionReason.PERCENT_PRICE),
    ]
)
"""The (sizing, reason) pairs that are the engine's fault; every other pair is the user's."""

_MESSAGES = (
    ("LOT_SIZE", RejectionReason.LOT_SIZE),
    ("PRICE_FILTER", RejectionReason.PRICE_FILTER),
    ("MIN_NOTIONAL", RejectionReason.MIN_NOTIONAL),
    ("NOTIONAL", RejectionReason.MIN_NOTIONAL),
    ("PERCENT_PRICE", RejectionReason.PERCENT_PRICE),
    ("insufficient balance", RejectionReason.BALANCE),
    ("Margin is insufficient", RejectionReason.BALANCE),
)


class EngineRejectionError(TradewindError):
    """The venue refused an order the engine sized itself: a bug, never a result."""


def reason_of(message: str) -> RejectionReason:
    """Normalise a venue's rejection message (``Filter failure: LOT_SIZE`` -> ``LOT_SIZE``)."""
    for needle, reason in _MESSAGES:
        if needle.lower() in message.lower():
            return reason
    return RejectionReason.OTHER


def sizing_of(order: Order) -> Sizing:
    """How ``order`` was sized (see the module's table)."""
    if order.reduce_only:
        return Sizing.EXIT
    if order.quote_quantity is not None:
        return Sizing.QUOTE_ENTRY
    if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and order.price is not None:
        return Sizing.USER_PRICE_ENTRY
    return Sizing.SIZED_ENTRY


def cause_of(order: Order, message: str) -> Cause:
    """Whether the rejection of ``order`` with ``message`` is the engine's fault or the user's."""
    key = (sizing_of(order), reason_of(message))
    return Cause.ENGINE if key in ENGINE_CAUSED else Cause.USER


def check_rejection(order: Order, message: str) -> None:
    """Raise :class:`EngineRejectionError` when the rejection is the engine's fault.

    Raises
    ------
    EngineRejectionError
        Naming the order, how it was sized and the venue's message.
    """
    if cause_of(order, message) is Cause.ENGINE:
        raise EngineRejectionError(
            f"the venue refused {order.client_id} ({order.side.value} {order.quantity} "
            f"{order.symbol}, {sizing_of(order).value.replace('_', ' ')}, sized by the engine): "
            f"{message!r}. This is a bug in Tradewind, not a result; please report it"
        )
