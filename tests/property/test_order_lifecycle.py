"""No sequence of venue events can put an order in an illegal state or overfill it."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.core.orders import (
    TERMINAL,
    TRANSITIONS,
    Fill,
    IllegalTransitionError,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    OverFillError,
)
from tradewind.core.records import Side

ACTIONS = [
    "submit",
    "accept",
    "trigger",
    "request_cancel",
    "cancel_refused",
    "cancel",
    "reject",
    "expire",
    "fill",
]


def _order(kind: OrderType) -> Order:
    price = Decimal("100") if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None
    trigger = Decimal("90") if kind in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT) else None
    return Order(
        "c1", "BTC/USDT", Side.BUY, kind, Decimal("1.0"), price=price, trigger_price=trigger
    )


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from(
        [OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_MARKET, OrderType.STOP_LIMIT]
    ),
    steps=st.lists(
        st.tuples(st.sampled_from(ACTIONS), st.integers(min_value=1, max_value=8)), max_size=25
    ),
)
def test_no_event_sequence_breaks_the_lifecycle(
    kind: OrderType, steps: list[tuple[str, int]]
) -> None:
    order = _order(kind)
    for n, (action, tenths) in enumerate(steps):
        before = order.status
        filled_before = order.filled_quantity
        try:
            if action == "fill":
                qty = Decimal(tenths) / 10
                order.fill(
                    Fill(
                        "c1",
                        "BTC/USDT",
                        Side.BUY,
                        n,
                        Decimal("100"),
                        qty,
                        Decimal("0"),
                        "USDT",
                        Liquidity.TAKER,
                    )
                )
            elif action == "reject":
                order.reject("no")
            else:
                getattr(order, action)()
        except (IllegalTransitionError, OverFillError):
            # A refused event changes nothing.
            assert order.status is before
            assert order.filled_quantity == filled_before
            continue
        assert order.status in TRANSITIONS[before] or (
            action == "cancel_refused" and order.status is OrderStatus.PARTIALLY_FILLED
        )
        assert order.filled_quantity <= order.quantity
        assert before not in TERMINAL
        assert sum(f.quantity for f in order.fills) == order.filled_quantity
        if order.status is OrderStatus.FILLED:
            assert order.filled_quantity == order.quantity
