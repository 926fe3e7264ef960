"""Order construction rules, fills and the client-id factory."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.core.errors import UserError
from tradewind.core.orders import (
    ClientIdFactory,
    Fill,
    IllegalTransitionError,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    OverFillError,
    TimeInForce,
)
from tradewind.core.records import Side


def _fill(qty: str, price: str = "100") -> Fill:
    return Fill(
        "c1",
        "BTC/USDT",
        Side.BUY,
        1,
        Decimal(price),
        Decimal(qty),
        Decimal("0.01"),
        "USDT",
        Liquidity.TAKER,
    )


def test_partial_fills_average_the_price_and_finish_the_order() -> None:
    order = Order("c1", "BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal("2"), price=Decimal("101"))
    order.submit()
    order.accept("v1")
    order.fill(_fill("0.5", "100"))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    order.fill(_fill("1.5", "104"))
    assert order.status is OrderStatus.FILLED
    assert order.average_price == Decimal("103")
    assert order.remaining == 0


def test_overfill_is_refused_and_changes_nothing() -> None:
    order = Order("c1", "BTC/USDT", Side.BUY, OrderType.MARKET, Decimal("1"))
    order.submit()
    order.fill(_fill("0.6"))
    with pytest.raises(OverFillError, match="above the order's 1"):
        order.fill(_fill("0.5"))
    assert order.filled_quantity == Decimal("0.6")


def test_terminal_orders_cannot_move() -> None:
    order = Order("c1", "BTC/USDT", Side.BUY, OrderType.MARKET, Decimal("1"))
    order.submit()
    order.reject("insufficient balance")
    with pytest.raises(IllegalTransitionError, match="rejected -> accepted"):
        order.accept()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": OrderType.LIMIT}, "needs a positive price"),
        ({"type": OrderType.MARKET, "price": Decimal("1")}, "takes no limit price"),
        ({"type": OrderType.STOP_MARKET}, "needs a trigger price"),
        ({"type": OrderType.MARKET, "post_only": True}, "post-only applies to limit orders only"),
        (
            {
                "type": OrderType.LIMIT,
                "price": Decimal("1"),
                "post_only": True,
                "time_in_force": TimeInForce.IOC,
            },
            "must be GTC",
        ),
        ({"type": OrderType.MARKET, "quantity": Decimal("0")}, "quantity must be positive"),
    ],
)
def test_invalid_orders_are_refused_with_a_reason(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "client_id": "c1",
        "symbol": "X/Y",
        "side": Side.SELL,
        "quantity": Decimal("1"),
    }
    with pytest.raises(UserError, match=message):
        Order(**{**base, **kwargs})  # type: ignore[arg-type]


def test_client_ids_are_unique_within_a_run() -> None:
    ids = ClientIdFactory("run1")
    made = {ids.next() for _ in range(1000)}
    assert len(made) == 1000
    assert next(iter(made)).startswith("tw-run1-")
    with pytest.raises(UserError, match="alphanumeric"):
        ClientIdFactory("run 1")
