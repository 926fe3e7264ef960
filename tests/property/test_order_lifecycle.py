"""No sequence of venue events can put an order in an illegal state or overfill it."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
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


# -- the wire: duplicated, reordered and lost venue events ----------------------------------------

WIRE_SEQUENCES = 100_000
"""Random venue histories, each perturbed on the wire, that the order must survive."""

_QUANTITY = Decimal(10)
_TENTHS = [Decimal(n) / 10 for n in range(101)]


def _true_history(rng: random.Random, kind: OrderType) -> tuple[list[tuple], OrderStatus]:
    """What the venue really did with one order: its events in order, and its final status.

    Events are ``("status", OrderStatus, reason)`` or ``("fill", trade_id, quantity)``."""
    if rng.random() < 0.1:
        return [("status", OrderStatus.REJECTED, "insufficient balance")], OrderStatus.REJECTED
    events: list[tuple] = [("status", OrderStatus.ACCEPTED, "")]
    if kind is not OrderType.MARKET and kind is not OrderType.LIMIT and rng.random() < 0.8:
        events.append(("status", OrderStatus.TRIGGERED, ""))
    left = 100  # tenths of the order's quantity of 10
    trade = 0
    for _ in range(rng.randint(0, 4)):
        if left == 0:
            break
        take = left if rng.random() < 0.3 else rng.randint(1, left)
        left -= take
        trade += 1
        events.append(("fill", f"t{trade}", _TENTHS[take]))
    if left == 0:
        return events, OrderStatus.FILLED
    end = rng.choice([OrderStatus.CANCELED, OrderStatus.EXPIRED, None])
    if end is None:
        return events, OrderStatus.PARTIALLY_FILLED if trade else OrderStatus.ACCEPTED
    events.append(("status", end, "ioc remainder" if end is OrderStatus.EXPIRED else ""))
    return events, end


def _on_the_wire(rng: random.Random, events: list[tuple]) -> list[tuple]:
    """The same events as a real connection delivers them: some twice, some swapped with a
    neighbour, some never."""
    sent = [e for e in events if rng.random() > 0.1]  # lost
    for _ in range(rng.randint(0, 3)):
        if sent:
            sent.insert(rng.randint(0, len(sent)), rng.choice(sent))  # duplicated
    for _ in range(rng.randint(0, 3)):
        if len(sent) > 1:
            k = rng.randint(0, len(sent) - 2)
            sent[k], sent[k + 1] = sent[k + 1], sent[k]  # overtaken
    return sent


def _deliver(order: Order, event: tuple, n: int) -> None:
    if event[0] == "fill":
        fill = Fill(
            order.client_id, "BTC/USDT", Side.BUY, n, Decimal("100"), event[2],
            Decimal("0"), "USDT", Liquidity.TAKER, trade_id=event[1],
        )  # fmt: skip
        order.record_fill(fill)
    else:
        order.report(event[1], event[2])


def _walk_the_wire(seed: int) -> None:
    rng = random.Random(seed)
    kind = rng.choice([OrderType.MARKET, OrderType.LIMIT, OrderType.STOP_MARKET])
    order = Order(
        "c1", "BTC/USDT", Side.BUY, kind, _QUANTITY,
        price=Decimal("100") if kind is OrderType.LIMIT else None,
        trigger_price=Decimal("90") if kind is OrderType.STOP_MARKET else None,
    )  # fmt: skip
    truth, final = _true_history(rng, kind)
    order.submit()
    if rng.random() < 0.2:
        order.mark_unknown()  # the submit timed out
    cancel_at = rng.randint(0, 8) if rng.random() < 0.3 else -1
    for n, event in enumerate(_on_the_wire(rng, truth)):
        if n == cancel_at and order.status.is_open:
            order.request_cancel()
            if rng.random() < 0.3:
                order.mark_unknown()  # the cancel timed out
        before = order.status
        _deliver(order, event, n)
        assert order.status is before or order.status in TRANSITIONS[before], (seed, event)
        assert order.filled_quantity <= order.quantity, seed
    # Reconciliation: a lookup by client id returns what the venue knows, fills included.
    for n, event in enumerate(truth):
        _deliver(order, event, 100 + n)
    trade_ids = [f.trade_id for f in order.fills]
    assert len(trade_ids) == len(set(trade_ids)), f"seed {seed}: a fill was booked twice"
    true_filled = sum((e[2] for e in truth if e[0] == "fill"), Decimal(0))
    assert order.filled_quantity == true_filled, seed
    assert sum(f.quantity for f in order.fills) == order.filled_quantity
    if final in TERMINAL:
        assert order.status is final, (seed, order.status, final)
    else:
        # An order still working: its status is open, and never behind the fills booked.
        assert order.status.is_open, (seed, order.status)
        if order.filled_quantity:
            assert order.status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCEL_PENDING), seed


def test_no_wire_of_venue_events_breaks_an_order() -> None:
    """100,000 random venue histories, each duplicated, reordered and partly lost on the way,
    then reconciled: no illegal move, no fill booked twice, no overfill, the venue's final state."""
    for seed in range(WIRE_SEQUENCES):
        _walk_the_wire(seed)


def test_a_fill_that_races_a_cancel_is_booked() -> None:
    order = _order(OrderType.LIMIT)
    order.submit()
    order.report(OrderStatus.ACCEPTED)
    order.request_cancel()
    assert order.report(OrderStatus.CANCELED)
    late = Fill(
        "c1", "BTC/USDT", Side.BUY, 5, Decimal("100"), Decimal("0.4"), Decimal("0"), "USDT",
        Liquidity.MAKER, trade_id="77",
    )  # fmt: skip
    assert order.record_fill(late)
    assert not order.record_fill(late)  # the same trade again
    assert order.status is OrderStatus.CANCELED
    assert order.filled_quantity == Decimal("0.4")
    # A status the order has passed is stale; one no reordering explains is a venue bug.
    assert not order.report(OrderStatus.ACCEPTED)
    fresh = _order(OrderType.LIMIT)
    fresh.submit()
    fresh.report(OrderStatus.ACCEPTED)
    with pytest.raises(IllegalTransitionError, match="reported rejected after accepted"):
        fresh.report(OrderStatus.REJECTED, "late")
