"""Per-bar features: alignment to candle times and causality by truncation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradewind.book.book import OrderBook
from tradewind.book.features import bar_features
from tradewind.book.readers.trades import decode_binance_trades_parquet
from tradewind.book.sequencing import BybitSequencer
from tradewind.book.stream import DecodedBookStream
from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe

SECOND = Timeframe.parse("1s")


def test_book_features_use_the_state_at_each_bar_close(bybit_stream: DecodedBookStream) -> None:
    features = bar_features(SECOND, book=bybit_stream, sequencer=BybitSequencer())
    assert features["ts"].tolist() == [1733011200000 + 1000 * k for k in range(6)]
    assert np.array_equal(features["known_at"], features["ts"] + 1000)
    book = OrderBook(sequencer=BybitSequencer())
    for b, close in enumerate(features["known_at"].tolist()):
        for i in range(bybit_stream.message_count):
            if bybit_stream.msg_ts[i] < close and (
                b == 0 or bybit_stream.msg_ts[i] >= close - 1000
            ):
                book.apply_message(bybit_stream, i)
        assert features["mid"][b] == book.mid()
        assert features["depth_bid_25bps"][b] == book.depth_within_bps(25.0)[0]
    assert features["book_updates"].sum() == bybit_stream.message_count


@pytest.mark.parametrize("cut_bar", [1, 3, 5])
def test_book_features_are_causal(bybit_stream: DecodedBookStream, cut_bar: int) -> None:
    full = bar_features(SECOND, book=bybit_stream, sequencer=BybitSequencer())
    cut = int(full["known_at"][cut_bar - 1])
    kept = int(np.searchsorted(bybit_stream.msg_ts, cut, side="left"))
    part = bar_features(
        SECOND, book=bybit_stream.head(kept), sequencer=BybitSequencer(), end=int(full["ts"][-1])
    )
    for name, column in full.items():
        assert np.array_equal(part[name][:cut_bar], column[:cut_bar], equal_nan=True), name


def test_trade_features_are_causal(shared_data: Path) -> None:
    tape = decode_binance_trades_parquet(shared_data / "trades" / "binance-btcusdt-trades.parquet")
    tf = Timeframe.parse("5s")
    full = bar_features(tf, trades=tape, whale_min_history=50, whale_window=300)
    assert full["trades"].sum() == len(tape)
    assert full["cvd"][-1] == pytest.approx(np.sum(tape.side * tape.amount))
    assert full["whale_trades"].sum() > 0
    for cut_bar in (2, 5, 9):
        cut = int(full["known_at"][cut_bar - 1])
        part = bar_features(
            tf, trades=tape.until(cut), whale_min_history=50, whale_window=300,
            start=int(full["ts"][0]), end=int(full["ts"][-1]),
        )  # fmt: skip
        for name, column in full.items():
            assert np.array_equal(part[name][:cut_bar], column[:cut_bar], equal_nan=True), name


def test_features_need_some_input() -> None:
    with pytest.raises(UserError, match="book stream, a trade tape"):
        bar_features(SECOND)
