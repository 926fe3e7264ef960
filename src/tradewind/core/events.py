"""Events a venue reports about orders, applied by the order manager and the portfolio."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradewind.core.orders import Fill, OrderStatus


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    """The venue acknowledged the order; it rests (or awaits its trigger)."""

    client_id: str
    ts: int
    venue_order_id: str = ""


DATA_ENDED = "No more market data: the backtest has ended."
"""Why the simulated venue refuses an order sent after the last bar: no bar comes to fill it.

A signal on the last bar of a backtest makes such an order; it is a fact of where the data ends,
not a problem of the run (a run's health counts these orders apart)."""


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """The venue refused the order, saying why (as the exchange would)."""

    client_id: str
    ts: int
    reason: str


@dataclass(frozen=True, slots=True)
class OrderTriggered:
    """A stop or take-profit order reached its trigger price."""

    client_id: str
    ts: int


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """All or part of the order executed. ``order_quantity`` is the order's total quantity as the
    venue knows it (it fixes the quantity of an order placed by quote amount, as Binance's
    execution report does with its ``q`` field)."""

    fill: Fill
    order_quantity: Decimal

    @property
    def client_id(self) -> str:
        """The order's client id."""
        return self.fill.client_id


@dataclass(frozen=True, slots=True)
class OrderCanceled:
    """The order was canceled; what was filled stays filled."""

    client_id: str
    ts: int


@dataclass(frozen=True, slots=True)
class OrderExpired:
    """The order ended without (fully) filling: its time in force ran out (IOC/FOK remainder), or
    the venue could not execute it when its turn came (``reason`` says why, e.g. the account could
    no longer pay for it)."""

    client_id: str
    ts: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CancelRejected:
    """The venue refused a cancel request (the order had already ended, or is unknown to it):
    the order keeps whatever status its own events give it."""

    client_id: str
    ts: int
    reason: str


@dataclass(frozen=True, slots=True)
class FundingPaid:
    """A perpetual's funding event settled: ``amount`` (negative when paid) in ``currency``."""

    symbol: str
    ts: int
    amount: Decimal
    currency: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class PositionLiquidated:
    """The venue liquidated the position in ``symbol`` at ``price``: ``quantity`` (signed) was
    closed and ``margin_lost`` of ``currency`` is gone."""

    symbol: str
    ts: int
    price: Decimal
    quantity: Decimal
    margin_lost: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """What the venue knows of one order (the answer to a lookup by client id): its status, what
    has filled and at what average price, and why it ended if it was refused or expired."""

    client_id: str
    symbol: str
    status: OrderStatus
    quantity: Decimal
    filled: Decimal
    average_price: Decimal | None
    venue_order_id: str = ""
    reason: str = ""


OrderEvent = (
    OrderAccepted
    | OrderRejected
    | OrderTriggered
    | OrderFilled
    | OrderCanceled
    | OrderExpired
    | CancelRejected
)
AccountEvent = FundingPaid | PositionLiquidated
VenueEvent = OrderEvent | AccountEvent
