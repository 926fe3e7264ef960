"""Property tests for the L2 book: random deltas equal a naive rebuild; gaps and crossings are caught."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.book.book import OrderBook, UpdateStatus
from tradewind.book.sequencing import (
    BinanceFuturesSequencer,
    BinanceSpotSequencer,
    BybitSequencer,
)

# prices on a tick grid; bids below 50 ticks and asks above, so the book never crosses
TICK = 0.01
bid_level = st.tuples(st.just(0), st.integers(1, 49), st.sampled_from([0.0, 0.5, 1.0, 2.5, 7.0]))
ask_level = st.tuples(st.just(1), st.integers(51, 99), st.sampled_from([0.0, 0.5, 1.0, 2.5, 7.0]))
message = st.lists(st.one_of(bid_level, ask_level), min_size=0, max_size=12)


def arrays(levels: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.array([s for s, _, _ in levels], dtype=np.int8),
        np.array([t * TICK for _, t, _ in levels], dtype=np.float64),
        np.array([q for _, _, q in levels], dtype=np.float64),
    )


def naive(snapshot: list, messages: list[list]) -> dict[str, dict[float, float]]:
    sides: tuple[dict[float, float], dict[float, float]] = ({}, {})
    for batch in [snapshot, *messages]:
        for side, tick, size in batch:
            if size == 0.0:
                sides[side].pop(tick * TICK, None)
            else:
                sides[side][tick * TICK] = size
    return {"bids": sides[0], "asks": sides[1]}


@settings(max_examples=200, deadline=None)
@given(snapshot=message, messages=st.lists(message, max_size=25))
def test_random_deltas_equal_a_naive_rebuild(snapshot: list, messages: list[list]) -> None:
    book = OrderBook(capacity=4)  # small, so growth is exercised too
    book.apply_snapshot(*arrays(snapshot), ts=0)
    for k, batch in enumerate(messages, start=1):
        assert book.apply_update(*arrays(batch), ts=k) is UpdateStatus.APPLIED
    expected = naive(snapshot, messages)
    assert book.to_dict() == expected
    bids = sorted(expected["bids"], reverse=True)
    asks = sorted(expected["asks"])
    assert book.top(5).bid_prices.tolist() == bids[:5]
    assert book.top(5).ask_prices.tolist() == asks[:5]
    assert (book.bid_count, book.ask_count) == (len(bids), len(asks))


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=30),
    lost=st.data(),
    rule=st.sampled_from(["bybit", "binance-spot", "binance-futures"]),
)
def test_a_lost_message_is_always_detected(
    sizes: list[int], lost: st.DataObject, rule: str
) -> None:
    # consecutive messages, each covering `size` update ids after a snapshot at id 1000
    ids = []
    last = 1000
    for size in sizes:
        first = last + 1
        if rule == "bybit":
            first = last = last + 1
        else:
            last = last + size
        ids.append((first, last, ids[-1][1] if ids else 1000))
    skip = lost.draw(st.integers(0, len(ids) - 2), label="lost message")
    sequencer = {
        "bybit": BybitSequencer,
        "binance-spot": BinanceSpotSequencer,
        "binance-futures": BinanceFuturesSequencer,
    }[rule]()
    book = OrderBook(sequencer=sequencer)
    book.apply_snapshot(*arrays([(0, 10, 1.0), (1, 60, 1.0)]), ts=0, last_id=1000)
    level = arrays([(0, 11, 1.0)])
    for k, (first, last, prev) in enumerate(ids):
        if k == skip:
            continue
        status = book.apply_update(*level, ts=k, first_id=first, last_id=last, prev_id=prev)
        if k < skip:
            assert status is UpdateStatus.APPLIED
        else:
            assert status is UpdateStatus.RESYNC_NEEDED
            assert book.needs_resync
            break


@settings(max_examples=200, deadline=None)
@given(snapshot=message, bid_tick=st.integers(1, 120), ask_tick=st.integers(1, 120))
def test_a_crossed_book_is_reported(snapshot: list, bid_tick: int, ask_tick: int) -> None:
    book = OrderBook()
    book.apply_snapshot(*arrays(snapshot), ts=0)
    status = book.apply_update(*arrays([(0, bid_tick, 1.0), (1, ask_tick, 1.0)]), ts=1)
    expected = naive(snapshot, [[(0, bid_tick, 1.0), (1, ask_tick, 1.0)]])
    crossed = max(expected["bids"]) >= min(expected["asks"])
    assert (status is UpdateStatus.RESYNC_NEEDED) == crossed
    assert book.needs_resync == crossed
    if crossed:
        assert "crossed" in (book.resync_reason or "")
