"""Binance paging semantics and candle aggregation of the simulator's tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.venues.exchange_sim.tables import KlineTable, TradeTable, fmt, select_window

KEYS = np.array([10, 20, 30, 40, 50], dtype=np.int64)


@pytest.mark.parametrize(
    ("start", "end", "limit", "expected"),
    [
        (None, None, 2, [40, 50]),  # neither bound: the most recent rows
        (20, None, 2, [20, 30]),  # start: the first rows from it
        (15, 45, 10, [20, 30, 40]),  # both bounds inclusive
        (20, 40, 2, [20, 30]),  # start wins: first `limit` of the window
        (None, 35, 2, [20, 30]),  # end only: the last rows up to it
        (60, None, 5, []),
        (None, 5, 5, []),
        (30, 30, 5, [30]),
    ],
)
def test_select_window_follows_binance(
    start: int | None, end: int | None, limit: int, expected: list[int]
) -> None:
    assert KEYS[select_window(KEYS, start, end, limit)].tolist() == expected


def test_aggregate_matches_pandas_resample_on_real_candles(shared_data: Path) -> None:
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    table = KlineTable.from_frame(frame, "1m")
    built = table.aggregate("15m")
    expected = (
        frame.set_index("date")
        .resample("15min", label="left", closed="left")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    )
    # Binance has no candle for an interval without trades; pandas makes an empty bucket.
    expected = expected[frame.set_index("date")["open"].resample("15min").count() > 0]
    opens = pd.to_datetime(built.open_ms, unit="ms", utc=True)
    assert (opens == expected.index).all()
    np.testing.assert_array_equal(built.open, expected["open"].to_numpy())
    np.testing.assert_array_equal(built.high, expected["high"].to_numpy())
    np.testing.assert_array_equal(built.low, expected["low"].to_numpy())
    np.testing.assert_array_equal(built.close, expected["close"].to_numpy())
    np.testing.assert_allclose(built.volume, expected["volume"].to_numpy(), rtol=1e-12)


def test_weekly_candles_open_on_monday(shared_data: Path) -> None:
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    weeks = KlineTable.from_frame(frame, "5m").aggregate("1w")
    days = pd.to_datetime(weeks.open_ms, unit="ms", utc=True)
    assert set(days.day_name()) == {"Monday"}
    assert (days == days.normalize()).all()


def test_unsorted_candles_are_refused(shared_data: Path) -> None:
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    swapped = pd.concat([frame.iloc[1:2], frame.iloc[0:1], frame.iloc[2:]])
    with pytest.raises(ValueError, match="strictly increasing"):
        KlineTable.from_frame(swapped, "5m")


def test_trade_table_reads_both_recorded_layouts(shared_data: Path) -> None:
    nt = TradeTable.from_frame(
        pd.read_parquet(shared_data / "trades" / "binance-btcusdt-trades.parquet")
    )
    ft = TradeTable.from_frame(pd.read_feather(shared_data / "trades" / "XRP_ETH-trades.feather"))
    assert (len(nt), len(ft)) == (2001, 12477)
    assert nt.trade_id[0] == 553287559
    assert bool(nt.buyer_maker[0]) is True
    assert ft.trade_id[0] == 13519807
    assert bool(ft.buyer_maker[0]) is True
    assert nt.trade_id[nt.from_id(553287600, 3)].tolist() == [553287600, 553287601, 553287602]


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0984, "0.0984"), (1.0, "1"), (1e-08, "0.00000001"), (9289043.5, "9289043.5")],
)
def test_fmt_is_exact_and_never_exponential(value: float, text: str) -> None:
    assert fmt(value) == text
    assert float(fmt(value)) == value


def test_fmt_serves_missing_volume_as_zero() -> None:
    assert fmt(float("nan")) == "0"
