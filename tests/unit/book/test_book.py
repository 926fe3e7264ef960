"""The L2 book on small hand-checked books: storage, reads, resync rules, records."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from tradewind.book.book import OrderBook, UpdateStatus
from tradewind.book.sequencing import BinanceSpotSequencer, BybitSequencer
from tradewind.core.errors import DataError, UserError
from tradewind.core.records import BookDelta, BookSide


def levels(*rows: tuple[int, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sides = np.array([r[0] for r in rows], dtype=np.int8)
    return sides, np.array([r[1] for r in rows]), np.array([r[2] for r in rows])


def small_book() -> OrderBook:
    book = OrderBook("T")
    book.apply_snapshot(
        *levels((0, 99.0, 1.0), (0, 100.0, 2.0), (0, 98.0, 3.0), (1, 101.0, 4.0), (1, 102.0, 5.0)),
        ts=1,
    )
    return book


def test_snapshot_sorts_each_side_best_first() -> None:
    book = small_book()
    bp, bs = book.bids()
    ap, as_ = book.asks()
    assert bp.tolist() == [100.0, 99.0, 98.0]
    assert bs.tolist() == [2.0, 1.0, 3.0]
    assert ap.tolist() == [101.0, 102.0]
    assert as_.tolist() == [4.0, 5.0]
    assert (book.best_bid(), book.best_ask(), book.mid(), book.spread()) == (100, 101, 100.5, 1)


def test_update_inserts_changes_and_deletes_levels() -> None:
    book = small_book()
    status = book.apply_update(
        *levels((0, 100.5, 7.0), (0, 99.0, 0.0), (1, 102.0, 6.0), (1, 103.0, 1.0), (0, 50.0, 0.0)),
        ts=2,
    )
    assert status is UpdateStatus.APPLIED
    assert book.to_dict() == {
        "bids": {100.5: 7.0, 100.0: 2.0, 98.0: 3.0},
        "asks": {101.0: 4.0, 102.0: 6.0, 103.0: 1.0},
    }
    assert book.ts == 2


def test_top_returns_best_first_views_and_shorter_sides() -> None:
    book = small_book()
    top = book.top(2)
    assert top.bid_prices.tolist() == [100.0, 99.0]
    assert top.ask_sizes.tolist() == [4.0, 5.0]
    assert len(book.top(10).bid_prices) == 3


def test_depth_within_bps_and_cumulative_depth() -> None:
    book = small_book()  # mid 100.5
    # 100 bps of 100.5 = 1.005: bids >= 99.495 (100) and asks <= 101.505 (101)
    assert book.depth_within_bps(100) == (2.0, 4.0)
    assert book.depth_within_bps(200) == (3.0, 9.0)
    assert book.notional_within_bps(100) == (200.0, 404.0)
    prices, cum = book.cumulative_depth(BookSide.BID)
    assert prices.tolist() == [100.0, 99.0, 98.0]
    assert cum.tolist() == [2.0, 3.0, 6.0]
    assert book.size_at(BookSide.ASK, 102.0) == 5.0
    assert book.size_at(BookSide.ASK, 102.5) == 0.0


def test_crossed_update_needs_resync_and_further_deltas_are_refused() -> None:
    book = small_book()
    status = book.apply_update(*levels((0, 101.0, 1.0)), ts=2)
    assert status is UpdateStatus.RESYNC_NEEDED
    assert book.needs_resync
    assert "crossed" in (book.resync_reason or "")
    assert book.apply_update(*levels((1, 105.0, 1.0)), ts=3) is UpdateStatus.RESYNC_NEEDED
    assert book.size_at(BookSide.ASK, 105.0) == 0.0
    book.apply_snapshot(*levels((0, 1.0, 1.0), (1, 2.0, 1.0)), ts=4)
    assert not book.needs_resync
    assert book.apply_update(*levels((1, 3.0, 1.0)), ts=5) is UpdateStatus.APPLIED


def test_delta_before_snapshot_is_refused() -> None:
    book = OrderBook()
    assert book.apply_update(*levels((0, 1.0, 1.0)), ts=1) is UpdateStatus.RESYNC_NEEDED
    assert book.resync_reason == "no snapshot yet"
    assert book.is_stale(1)


def test_invalid_level_raises_data_error_and_marks_resync() -> None:
    book = small_book()
    with pytest.raises(DataError, match="invalid bid level"):
        book.apply_update(*levels((0, 99.0, -1.0)), ts=2)
    assert book.needs_resync
    with pytest.raises(DataError, match="invalid ask level"):
        small_book().apply_snapshot(*levels((1, float("nan"), 1.0)), ts=2)


def test_storage_grows_past_its_capacity() -> None:
    book = OrderBook(capacity=2)
    prices = np.arange(1.0, 501.0)
    book.apply_snapshot(np.zeros(500, dtype=np.int8), prices, np.ones(500), ts=1)
    book.apply_update(np.ones(300, dtype=np.int8), prices[:300] + 1000, np.ones(300), ts=2)
    assert (book.bid_count, book.ask_count) == (500, 300)
    assert book.best_bid() == 500.0
    assert book.best_ask() == 1001.0


def test_stale_after_max_age() -> None:
    book = OrderBook(max_age_ms=1000)
    book.apply_snapshot(*levels((0, 1.0, 1.0), (1, 2.0, 1.0)), ts=10_000)
    assert not book.is_stale(11_000)
    assert book.is_stale(11_001)


def test_records_are_buffered_until_the_last_level_of_a_message() -> None:
    book = OrderBook("X", sequencer=BybitSequencer())

    def delta(side: BookSide, price: str, size: str, seq: int, snap: bool, last: bool) -> BookDelta:
        return BookDelta(1, "X", side, Decimal(price), Decimal(size), seq, snap, last)

    assert book.apply_delta(delta(BookSide.BID, "1.5", "2", 7, True, False)) is None
    assert book.apply_delta(delta(BookSide.ASK, "1.6", "3", 7, True, True)) is UpdateStatus.APPLIED
    assert book.apply_delta(delta(BookSide.ASK, "1.6", "0", 8, False, True)) is UpdateStatus.APPLIED
    assert book.to_dict() == {"bids": {1.5: 2.0}, "asks": {}}
    assert book.apply_delta(delta(BookSide.ASK, "1.7", "1", 10, False, True)) is (
        UpdateStatus.RESYNC_NEEDED
    )
    assert "expected u=9" in (book.resync_reason or "")


def test_records_are_refused_for_rules_that_need_first_and_previous_ids() -> None:
    book = OrderBook(sequencer=BinanceSpotSequencer())
    record = BookDelta(1, "X", BookSide.BID, Decimal(1), Decimal(1), 5, True, True)
    with pytest.raises(UserError, match="first and previous update ids"):
        book.apply_delta(record)


def test_mismatched_arrays_are_refused_before_the_kernel_reads_them() -> None:
    book = small_book()
    with pytest.raises(UserError, match="does not fit"):
        book.apply_update(np.zeros(2, dtype=np.int8), np.ones(3), np.ones(3), ts=2)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(UserError, match="capacity"):
        OrderBook(capacity=0)
