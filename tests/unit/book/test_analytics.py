"""Spread, mid, microprice, weighted mid, imbalance, OFI, impact and liquidity, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.book.book import OrderBook
from tradewind.book.impact import depth_bands, expected_slippage_bps, vwap_to_size
from tradewind.book.liquidity import DepthResilience, liquidity_score
from tradewind.book.ofi import OfiTracker, order_flow_imbalance
from tradewind.book.prices import (
    book_imbalance,
    book_microprice,
    book_weighted_mid,
    imbalance,
    microprice,
    mid,
    spread,
    spread_bps,
    weighted_mid,
)
from tradewind.book.sequencing import BybitSequencer
from tradewind.book.series import top_levels_series
from tradewind.book.stream import DecodedBookStream
from tradewind.core.errors import UserError
from tradewind.core.records import Side


def small_book() -> OrderBook:
    # bids 100 x 2, 99 x 4 ; asks 101 x 1, 102 x 3
    book = OrderBook()
    book.apply_snapshot(
        np.array([0, 0, 1, 1], dtype=np.int8),
        np.array([100.0, 99.0, 101.0, 102.0]),
        np.array([2.0, 4.0, 1.0, 3.0]),
        ts=0,
    )
    return book


def test_top_of_book_prices_by_hand() -> None:
    assert mid(100, 101) == 100.5
    assert spread(100, 101) == 1
    assert spread_bps(100, 101) == pytest.approx(1 / 100.5 * 1e4)
    # heavy bid (2) against a light ask (1) pulls towards the ask: (100*1 + 101*2) / 3
    assert microprice(100, 2, 101, 1) == pytest.approx(302 / 3)
    assert microprice(100, 0, 101, 0) == 100.5
    book = small_book()
    assert book_microprice(book) == pytest.approx(302 / 3)
    # two levels: bid vwap (200+396)/6 = 99.333, 6 lots; ask vwap (101+306)/4 = 101.75, 4 lots
    vb, va = 596 / 6, 407 / 4
    assert book_weighted_mid(book, 2) == pytest.approx((vb * 4 + va * 6) / 10)
    assert weighted_mid([100.0], [2.0], [101.0], [1.0]) == pytest.approx(302 / 3)
    assert book_imbalance(book, 1) == pytest.approx((2 - 1) / 3)
    assert book_imbalance(book, 2) == pytest.approx((6 - 4) / 10)
    assert imbalance([[1.0, 1.0], [0.0, 0.0]], [[2.0, 0.0], [0.0, 0.0]]).tolist() == [0.0, 0.0]


def test_order_flow_imbalance_by_hand() -> None:
    bid = [100.0, 100.0, 101.0, 100.0]
    bid_size = [5.0, 7.0, 2.0, 9.0]
    ask = [102.0, 102.0, 102.0, 103.0]
    ask_size = [4.0, 1.0, 6.0, 2.0]
    # step 1: bid same price, 5 -> 7: +7 - 5; ask same, 4 -> 1: -1 + 4     => +5
    # step 2: bid up to 101: +2; ask same, 1 -> 6: -6 + 1                   => -3
    # step 3: bid down to 100: -2 (old size); ask up to 103: +6 (old size)   => +4
    expected = [0.0, 5.0, -3.0, 4.0]
    assert order_flow_imbalance(bid, bid_size, ask, ask_size).tolist() == expected
    tracker = OfiTracker()
    streamed = [tracker.update(*row) for row in zip(bid, bid_size, ask, ask_size, strict=True)]
    assert streamed == expected
    assert tracker.total == 6.0


def test_walking_the_book_by_hand() -> None:
    book = small_book()  # mid 100.5
    buy = vwap_to_size(book, Side.BUY, 2.0)  # 1 @ 101 + 1 @ 102
    assert (buy.filled, buy.notional, buy.vwap, buy.worst_price, buy.levels) == (
        2.0, 203.0, 101.5, 102.0, 2,
    )  # fmt: skip
    assert buy.complete
    assert buy.slippage_bps == pytest.approx(1.0 / 100.5 * 1e4)
    assert buy.impact_bps == pytest.approx(1.5 / 100.5 * 1e4)
    sell = vwap_to_size(book, Side.SELL, 3.0)  # 2 @ 100 + 1 @ 99
    assert sell.vwap == pytest.approx(299 / 3)
    assert sell.slippage_bps == pytest.approx((100.5 - 299 / 3) / 100.5 * 1e4)
    by_cash = vwap_to_size(book, Side.BUY, 152.0, by_notional=True)  # 101 + 51 of the 102 level
    assert by_cash.filled == pytest.approx(1.5)
    too_big = vwap_to_size(book, Side.BUY, 10.0)
    assert not too_big.complete
    assert too_big.filled == 4.0
    assert np.isnan(expected_slippage_bps(book, Side.BUY, 10.0))
    with pytest.raises(UserError, match="positive"):
        vwap_to_size(book, Side.BUY, 0.0)
    # 100 bps of 100.5 reaches 99.495 and 101.505: one level each side
    assert depth_bands(book, (100.0, 200.0)) == {100.0: (2.0, 1.0), 200.0: (6.0, 4.0)}


def test_resilience_and_liquidity_score_by_hand() -> None:
    tracker = DepthResilience(drop_fraction=0.3, recover_fraction=0.9)
    assert tracker.update(0, 100.0) is None
    assert tracker.update(100, 60.0) is None  # a 40 % drop opens a depletion
    assert tracker.depletions_open
    assert tracker.update(200, 85.0) is None  # not yet back to 90
    assert tracker.update(450, 95.0) == 350
    assert tracker.median_recovery_ms() == 350.0
    trades_only = DepthResilience(require_trades=True)
    trades_only.update(0, 100.0)
    trades_only.update(100, 10.0)  # no trades reported: cancellations, not counted
    assert not trades_only.depletions_open
    book = small_book()
    score = liquidity_score(book, band_bps=100.0, resilience=tracker, reference_ms=350.0)
    assert score.bid_notional == 200.0
    assert score.ask_notional == 101.0
    assert score.spread_bps == pytest.approx(1 / 100.5 * 1e4)
    assert score.score == pytest.approx(301.0 / score.spread_bps / 2)
    with pytest.raises(UserError, match="drop_fraction"):
        DepthResilience(drop_fraction=1.5)


def test_stream_series_agrees_with_the_book_after_each_message(
    bybit_stream: DecodedBookStream,
) -> None:
    series = top_levels_series(bybit_stream, k=5, sequencer=BybitSequencer())
    book = OrderBook(sequencer=BybitSequencer())
    assert series.valid.all()
    for i in range(bybit_stream.message_count):
        book.apply_message(bybit_stream, i)
        top = book.top(5)
        assert series.bid_prices[i].tolist() == top.bid_prices.tolist()
        assert series.ask_sizes[i].tolist() == top.ask_sizes.tolist()
        assert series.depth_bps[25.0][i].tolist() == list(book.depth_within_bps(25.0))
    ofi = order_flow_imbalance(
        series.best_bid, series.bid_sizes[:, 0], series.best_ask, series.ask_sizes[:, 0]
    )
    assert ofi[0] == 0.0
    assert np.count_nonzero(ofi) > 40
    spreads = spread_bps(series.best_bid, series.best_ask)
    assert (spreads > 0).all()
