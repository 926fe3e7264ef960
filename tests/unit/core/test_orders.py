"""Order construction rules, fills and the client-id factory."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.core.errors import UserError
from tradewind.core.orders import (
    CLIENT_ID_MAX,
    CLIENT_ID_PATTERN,
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


def test_client_ids_are_unique_across_restarts_and_fit_every_venue() -> None:
    # Two starts of the same bot (same run id), even in the same second, make different ids.
    first, second = ClientIdFactory("bot7"), ClientIdFactory("bot7")
    assert first.prefix != second.prefix
    made = [first.next() for _ in range(100)] + [second.next() for _ in range(100)]
    assert len(set(made)) == 200
    assert all(CLIENT_ID_PATTERN.fullmatch(i) for i in made)
    # The longest run id that fits still leaves room for 10^8 orders within 36 characters.
    longest = ClientIdFactory("a" * 13)
    assert len(longest.prefix) + 8 <= CLIENT_ID_MAX
    with pytest.raises(UserError, match="too long"):
        ClientIdFactory("a" * 14)
    # A backtest fixes its session, so that its results are reproducible.
    assert ClientIdFactory("bt", session="0").next() == "tw-bt-0-1"
    with pytest.raises(UserError, match="session"):
        ClientIdFactory("bt", session="a b")
