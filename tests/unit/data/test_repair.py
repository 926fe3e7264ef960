"""Repairs say exactly what they changed; gap filling is explicit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe
from tradewind.data.kinds import DataKind
from tradewind.data.repair import RepairMode, fill_gaps, repair
from tradewind.data.validate import validate

TF5 = Timeframe.parse("5m")
TF1 = Timeframe.parse("1m")
TF8H = Timeframe.parse("8h")


def test_snap_moves_funding_stamps_onto_the_grid_and_lists_each(funding: pd.DataFrame) -> None:
    result = repair(funding, DataKind.FUNDING, TF8H, [RepairMode.SNAP])
    assert result.count(RepairMode.SNAP) == 59
    assert str(result.actions[0]) == (
        "snap: row 0 (0-based, as read) at 2021-11-18 00:00:00.017 UTC: moved -17 ms to "
        "2021-11-18 00:00:00 UTC"
    )
    assert validate(result.frame, DataKind.FUNDING, TF8H).counts() == {}
    np.testing.assert_array_equal(result.frame["rate"], funding["rate"])
    # The input is never modified in place.
    assert funding["date"].iloc[0].microsecond == 17_000


def test_snap_refuses_when_two_rows_land_in_one_slot(funding: pd.DataFrame) -> None:
    bad = funding.copy()
    bad.loc[1, "date"] = bad.loc[0, "date"] + pd.Timedelta(milliseconds=5)
    with pytest.raises(DataError, match=r"rows 0 and 1 \(0-based, as read\) would both land on"):
        repair(bad, DataKind.FUNDING, TF8H, [RepairMode.SNAP])


def test_snap_leaves_dates_beyond_the_tolerance(eth_btc_5m: pd.DataFrame) -> None:
    bad = eth_btc_5m.copy()
    bad.loc[3, "date"] += pd.Timedelta(milliseconds=400)
    bad.loc[4, "date"] += pd.Timedelta(seconds=30)
    result = repair(bad, DataKind.CANDLES, TF5, [RepairMode.SNAP], tolerance_ms=1000)
    assert [a.row for a in result.actions] == [3]
    first = validate(result.frame, DataKind.CANDLES, TF5).first_error()
    assert first is not None
    assert (first.code, first.row) == ("misaligned-date", 4)


def test_drop_removes_bad_rows_and_keeps_row_numbers_as_read(eth_btc_5m: pd.DataFrame) -> None:
    bad = eth_btc_5m.copy()
    bad.loc[10, "close"] = np.nan
    bad.loc[20, "date"] = bad.loc[19, "date"]
    bad.loc[30, "volume"] = -1.0
    result = repair(bad, DataKind.CANDLES, TF5, [RepairMode.DROP])
    assert [(a.row, a.detail) for a in result.actions] == [
        (10, "dropped (not-finite)"),
        (20, "dropped (duplicate-date)"),
        (30, "dropped (negative-volume)"),
    ]
    assert len(result.frame) == len(bad) - 3
    assert 20 not in result.source_rows
    assert result.summary() == "drop: 3 row(s) dropped"
    report = validate(result.frame, DataKind.CANDLES, TF5, source_rows=result.source_rows)
    assert report.ok
    # The dropped rows are now gaps, named by their row in the file as read.
    assert [(g.row, g.missing) for g in report.gaps] == [(11, 1), (21, 1), (31, 1)]


def test_ffill_replaces_bad_values_by_a_flat_candle_at_the_previous_close(
    eth_btc_5m: pd.DataFrame,
) -> None:
    bad = eth_btc_5m.copy()
    bad.loc[10, "high"] = np.nan
    bad.loc[11, "low"] = 5.0
    result = repair(bad, DataKind.CANDLES, TF5, [RepairMode.FFILL])
    previous_close = float(eth_btc_5m.loc[9, "close"])
    for row in (10, 11):
        values = result.frame.loc[row, ["open", "high", "low", "close", "volume"]].tolist()
        assert values == [previous_close] * 4 + [0.0]
    assert [a.row for a in result.actions] == [10, 11]
    assert result.actions[1].detail == (
        f"replaced by a flat candle at the previous good close {previous_close!r}, volume 0 "
        "(was high-below-low)"
    )
    assert validate(result.frame, DataKind.CANDLES, TF5).ok


def test_ffill_refuses_the_first_row_and_trades(eth_btc_5m: pd.DataFrame) -> None:
    bad = eth_btc_5m.copy()
    bad.loc[0, "open"] = np.nan
    with pytest.raises(DataError, match=r"row 0 \(0-based, as read\) has bad values"):
        repair(bad, DataKind.CANDLES, TF5, [RepairMode.FFILL])
    with pytest.raises(UserError, match="use --repair drop"):
        repair(bad, DataKind.TRADES, None, [RepairMode.FFILL])


def test_repairs_run_snap_ffill_drop_in_that_order(eth_btc_5m: pd.DataFrame) -> None:
    bad = eth_btc_5m.copy()
    bad.loc[5, "date"] += pd.Timedelta(milliseconds=3)
    bad.loc[6, "close"] = np.inf
    bad.loc[7, "date"] = bad.loc[6, "date"]
    result = repair(
        bad, DataKind.CANDLES, TF5, [RepairMode.DROP, RepairMode.SNAP, RepairMode.FFILL]
    )
    assert [(a.mode.value, a.row) for a in result.actions] == [
        ("snap", 5),
        ("ffill", 6),
        ("drop", 7),
    ]
    assert result.summary() == (
        "snap: 1 row(s) moved onto the grid; ffill: 1 row(s) filled from the previous row; "
        "drop: 1 row(s) dropped"
    )


def test_fill_gaps_inserts_flat_zero_volume_candles(unittest_1m: pd.DataFrame) -> None:
    filled = fill_gaps(unittest_1m, TF1)
    report = validate(unittest_1m, DataKind.CANDLES, TF1)
    assert len(filled) == len(unittest_1m) + report.missing_candles
    assert validate(filled, DataKind.CANDLES, TF1).gap_count == 0
    gap = report.gaps[0]
    inserted = filled[(filled["date"] >= gap.start) & (filled["date"] <= gap.end)]
    previous_close = unittest_1m.loc[gap.row - 1, "close"]
    assert len(inserted) == gap.missing
    assert (inserted[["open", "high", "low", "close"]] == previous_close).all().all()
    assert (inserted["volume"] == 0).all()
    # Real candles are untouched.
    kept = filled.merge(unittest_1m, on="date", suffixes=("", "_orig"))
    assert len(kept) == len(unittest_1m)
    assert (kept["close"] == kept["close_orig"]).all()


def test_fill_gaps_needs_a_valid_series(eth_btc_5m: pd.DataFrame) -> None:
    shuffled = eth_btc_5m.iloc[[1, 0, 2]].reset_index(drop=True)
    with pytest.raises(DataError, match="needs a validated series"):
        fill_gaps(shuffled, TF5)
