"""Wall detection against a direct NumPy computation on the same levels, tracking, and levels."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.book.book import OrderBook
from tradewind.book.levels import infer_tick_size, plan_entry_exit, support_resistance
from tradewind.book.sequencing import BybitSequencer
from tradewind.book.stream import DecodedBookStream
from tradewind.book.walls import WallParams, WallTracker, detect_walls
from tradewind.core.errors import UserError
from tradewind.core.records import BookSide, Side


def direct_walls(
    prices: np.ndarray, sizes: np.ndarray, params: WallParams
) -> list[tuple[float, float, float]]:
    """The rule written out plainly: robust z over the best `levels`, adjacent flags merged."""
    p, q = prices[: params.levels], sizes[: params.levels]
    med = np.median(q)
    mad = np.median(np.abs(q - med))
    scale = 1.4826 * mad if mad > 0 else 1.2533 * np.mean(np.abs(q - med))
    flags = (q >= params.min_multiple * med) & ((q - med) / scale >= params.threshold)
    walls: list[tuple[float, float, float]] = []
    previous = False
    for price, size, flag in zip(p, q, flags, strict=True):
        if flag and previous:
            lo, hi, total = walls[-1]
            walls[-1] = (min(lo, price), max(hi, price), total + size)
        elif flag:
            walls.append((price, price, size))
        previous = bool(flag)
    return walls


def test_walls_match_direct_computation_after_every_bybit_message(
    bybit_stream: DecodedBookStream,
) -> None:
    book = OrderBook(sequencer=BybitSequencer())
    params = WallParams(levels=100, threshold=4.0, min_multiple=3.0)
    found_any = 0
    for i in range(bybit_stream.message_count):
        book.apply_message(bybit_stream, i)
        walls = detect_walls(book, params)
        for side in (BookSide.BID, BookSide.ASK):
            prices, sizes = book.side_levels(side)
            expected = direct_walls(prices.copy(), sizes.copy(), params)
            got = [(w.price_lo, w.price_hi, w.size) for w in walls if w.side is side]
            assert got == [tuple(map(float, w)) for w in expected], f"message {i} {side}"
            found_any += len(got)
        mid = book.mid()
        for wall in walls:
            edge = wall.price_hi if wall.side is BookSide.BID else wall.price_lo
            assert wall.distance_bps == pytest.approx(abs(edge - mid) / mid * 1e4)
            assert wall.distance_bps > 0
    assert found_any > 100  # the recording has real walls, so the comparison is not vacuous


def test_percentile_method_and_band_limit_on_a_small_book() -> None:
    book = OrderBook()
    prices = np.array([10.0, 9.9, 9.8, 9.7, 9.6, 9.5, 10.1, 10.2, 10.3, 10.4, 10.5, 10.6])
    sizes = np.array([1.0, 1.0, 50.0, 1.0, 1.0, 60.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    sides = np.array([0] * 6 + [1] * 6, dtype=np.int8)
    book.apply_snapshot(sides, prices, sizes, ts=1)
    walls = list(detect_walls(book, WallParams(method="percentile", threshold=60.0)))
    assert [(w.side, w.price_lo, w.size, w.rank) for w in walls] == [
        (BookSide.BID, 9.8, 50.0, 2),
        (BookSide.BID, 9.5, 60.0, 5),
    ]
    # mid 10.05; 40 bps = 0.0402 -> only bids >= 10.0098... none beyond the touch: under 3 levels
    assert len(detect_walls(book, WallParams(band_bps=40.0))) == 0
    # 500 bps keeps bids down to 9.6: the 60-lot at 9.5 is outside; MAD is 0, so the mean
    # absolute deviation scales z: (50 - 1) / (1.2533 * 49 / 5) = 3.99
    near = list(detect_walls(book, WallParams(band_bps=500.0, threshold=3.0)))
    assert [w.price_lo for w in near] == [9.8]


def test_adjacent_flagged_levels_merge_into_one_wall() -> None:
    book = OrderBook()
    prices = np.array([10.0, 9.9, 9.8, 9.7, 9.6, 9.5, 9.4, 11.0])
    sizes = np.array([1.0, 1.0, 40.0, 45.0, 1.0, 1.0, 1.0, 1.0])
    book.apply_snapshot(np.array([0] * 7 + [1], dtype=np.int8), prices, sizes, ts=1)
    # median 1, MAD 0 -> scale 1.2533 * 83 / 7 = 14.9: z = 2.6 and 3.0
    (wall,) = list(detect_walls(book, WallParams(threshold=2.5)))
    assert (wall.price_lo, wall.price_hi, wall.size, wall.levels) == (9.7, 9.8, 85.0, 2)
    assert wall.near_price == 9.8
    assert wall.notional == pytest.approx(40 * 9.8 + 45 * 9.7)


def test_wall_params_are_validated() -> None:
    with pytest.raises(UserError, match="robust_z or percentile"):
        WallParams(method="zscore")
    with pytest.raises(UserError, match="percentile threshold"):
        WallParams(method="percentile", threshold=100.0)


def _book(bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> OrderBook:
    book = OrderBook()
    levels = [(0, p, q) for p, q in bids] + [(1, p, q) for p, q in asks]
    book.apply_snapshot(
        np.array([s for s, _, _ in levels], dtype=np.int8),
        np.array([p for _, p, _ in levels]),
        np.array([q for _, _, q in levels]),
        ts=0,
    )
    return book


FLAT_BIDS = [(10.0 - 0.1 * k, 1.0) for k in range(10)]
FLAT_ASKS = [(10.1 + 0.1 * k, 1.0) for k in range(10)]


def _with(
    levels: list[tuple[float, float]], price: float, size: float
) -> list[tuple[float, float]]:
    return [(p, size if abs(p - price) < 1e-9 else q) for p, q in levels]


def test_tracker_counts_survival_and_tells_pulled_from_hit_and_faded() -> None:
    tracker = WallTracker()
    walled = _book(_with(FLAT_BIDS, 9.5, 50.0), _with(FLAT_ASKS, 10.6, 40.0))
    for ts in range(3):
        assert tracker.update(walled, detect_walls(walled), ts) == []
    assert [t.updates for t in tracker.active] == [3, 3]
    # the bid wall vanishes while the price stays at 10.0: pulled (a spoofing hint)
    pulled = _book(FLAT_BIDS, _with(FLAT_ASKS, 10.6, 40.0))
    (end,) = tracker.update(pulled, detect_walls(pulled), 3)
    assert (end.outcome, end.spoofing_hint, end.tracked.updates) == ("pulled", True, 3)
    # the ask wall is reached: the best ask moves up to it, then it is consumed
    reached = _book(FLAT_BIDS, [(10.6, 40.0), *[(10.7 + 0.1 * k, 1.0) for k in range(9)]])
    tracker.update(reached, detect_walls(reached), 4)
    consumed = _book(FLAT_BIDS, [(10.7 + 0.1 * k, 1.0) for k in range(10)])
    (end,) = tracker.update(consumed, detect_walls(consumed), 5)
    assert (end.outcome, end.spoofing_hint) == ("hit", False)
    # a wall that stays but stops standing out (the others grew) has faded
    tracker = WallTracker()
    tracker.update(walled, detect_walls(walled), 0)
    grown = _book([(p, 50.0) for p, _ in FLAT_BIDS], _with(FLAT_ASKS, 10.6, 40.0))
    (end,) = tracker.update(grown, detect_walls(grown), 1)
    assert end.outcome == "faded"
    assert end.remaining_size == 50.0


def test_support_resistance_and_entry_exit_plan_on_a_small_book() -> None:
    bids = _with(_with(FLAT_BIDS, 9.7, 30.0), 9.3, 60.0)
    asks = _with(FLAT_ASKS, 10.5, 45.0)
    book = _book(bids, asks)
    # bid sizes: median 1, MAD 0, scale 1.2533 * 88 / 10 = 11.0 -> z 2.6 (9.7) and 5.3 (9.3)
    sr = support_resistance(book, band_bps=1000.0, params=WallParams(threshold=2.0))
    assert [w.price_lo for w in sr.supports] == [9.3, 9.7]  # largest first
    assert [w.price_lo for w in sr.resistances] == [10.5]
    assert infer_tick_size(book) == pytest.approx(0.1)
    plan = plan_entry_exit(
        book, Side.BUY, 2.0, band_bps=1000.0, min_strength=2.0, params=WallParams(threshold=2.0)
    )
    assert plan.entry_price == 9.8  # one tick above the nearest strong bid wall (9.7)
    assert plan.exit_price == 10.4  # one tick below the ask wall
    # buying 2 at market takes 1 @ 10.1 and 1 @ 10.2 against a mid of 10.05
    assert plan.taker_entry_slippage_bps == pytest.approx((10.15 - 10.05) / 10.05 * 1e4)
    short = plan_entry_exit(
        book, Side.SELL, 1.0, band_bps=1000.0, min_strength=2.0, params=WallParams(threshold=2.0)
    )
    assert (short.entry_price, short.exit_price) == (10.4, 9.8)
    with pytest.raises(UserError, match="positive"):
        plan_entry_exit(book, Side.BUY, 0.0)
