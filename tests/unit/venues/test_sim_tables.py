"""Binance paging semantics and candle aggregation of the simulator's tables."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.exchange_sim.served_candles import CandleServer, GridCandles, seeded_walker
from tradewind.exchange_sim.tables import KlineTable, TradeTable, fmt, select_window
from tradewind.exchange_sim.timeline import Timeline

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


def _served_at_recorded_time(table: KlineTable) -> CandleServer:
    """Serve ``table`` with offset 0, its whole recording in the past."""
    grid = GridCandles.from_table(table, Decimal("0.00000001"))
    start, end = int(table.open_ms[0]), grid.end_ms()
    timeline = Timeline(start, end, end - start, 1, 0, end)
    return CandleServer({table.interval: grid}, timeline, seeded_walker("X", 0, Decimal(1)))


def test_aggregate_matches_pandas_resample_on_real_candles(shared_data: Path) -> None:
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    table = KlineTable.from_frame(frame, "1m")
    server = _served_at_recorded_time(table)
    # At the last recorded millisecond every candle is complete (the last one with all steps).
    rows = server.rows("15m", 0, None, 10**6, int(table.open_ms[-1]) + 59_999)
    expected = (
        frame.set_index("date")
        .resample("15min", label="left", closed="left")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    )
    # Binance has no candle for an interval without trades; pandas makes an empty bucket.
    expected = expected[frame.set_index("date")["open"].resample("15min").count() > 0]
    opens = pd.to_datetime([r[0] for r in rows], unit="ms", utc=True)
    assert (opens == expected.index).all()
    sat = Decimal("0.00000001")
    for index, column in enumerate(("open", "high", "low", "close", "volume"), start=1):
        assert [Decimal(r[index]) for r in rows] == [
            Decimal(repr(float(v))).quantize(sat) for v in expected[column]
        ]


def test_weekly_candles_open_on_monday(shared_data: Path) -> None:
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    table = KlineTable.from_frame(frame, "5m")
    rows = _served_at_recorded_time(table).rows("1w", 0, None, 100, int(table.open_ms[-1]))
    days = pd.to_datetime([r[0] for r in rows], unit="ms", utc=True)
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
