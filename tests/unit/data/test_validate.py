"""Validation rules per data kind, on real files and on corrupted copies of them."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.core.errors import DataError
from tradewind.core.timeframe import Timeframe
from tradewind.data.ingest import read_file
from tradewind.data.kinds import DataKind
from tradewind.data.validate import Severity, validate

TF5 = Timeframe.parse("5m")

# SOURCES.md: gaps counted as places where the step exceeds the timeframe.
EXPECTED_GAPS = {
    "UNITTEST_BTC-1m.feather": 538,
    "XRP_ETH-1m.feather": 676,
    "XRP_ETH-5m.feather": 6,
    "TRX_BTC-5m.feather": 6,
    "ADA_BTC-5m.feather": 5,
}


def _kind_and_tf(name: str) -> tuple[DataKind, Timeframe]:
    if "funding_rate" in name:
        kind = DataKind.FUNDING
    elif "-mark" in name:
        kind = DataKind.MARK
    else:
        kind = DataKind.CANDLES
    tf = "1m" if name.endswith(".csv") else name.split("-")[1].split(".", maxsplit=1)[0]
    return kind, Timeframe.parse(tf)


def _shared_files(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "candles").iterdir()) + sorted((shared_data / "futures").iterdir())


def test_every_shared_candle_and_futures_file_is_valid_with_the_documented_gaps(
    shared_data: Path,
) -> None:
    files = _shared_files(shared_data)
    assert len(files) == 15
    for path in files:
        kind, tf = _kind_and_tf(path.name)
        report = validate(read_file(path, kind), kind, tf)
        assert report.ok, f"{path.name}: {report.first_error()}"
        assert report.gap_count == EXPECTED_GAPS.get(path.name, 0), path.name


def test_gap_is_reported_as_a_time_range_with_row_and_timestamp(unittest_1m: pd.DataFrame) -> None:
    report = validate(unittest_1m, DataKind.CANDLES, Timeframe.parse("1m"))
    first = report.gaps[0]
    assert (first.missing, first.row) == (6, 6)
    assert first.start == pd.Timestamp("2017-11-04 23:08", tz="UTC")
    assert first.end == pd.Timestamp("2017-11-04 23:13", tz="UTC")
    warning = report.problems(severity=Severity.WARNING, limit=1)[0]
    assert warning.message == (
        "row 6 (0-based, as read) at 2017-11-04 23:14:00 UTC: gap of 6 missing 1m candle(s) "
        "from 2017-11-04 23:08:00 UTC to 2017-11-04 23:13:00 UTC"
    )
    assert report.missing_candles == sum(g.missing for g in report.gaps)


def _corrupt(frame: pd.DataFrame, row: int, **values: object) -> pd.DataFrame:
    bad = frame.copy()
    for name, value in values.items():
        bad.loc[row, name] = value
    return bad


@pytest.mark.parametrize(
    ("row", "change", "code", "detail"),
    [
        (17, {"close": np.nan}, "not-finite", "close is NaN"),
        (18, {"volume": np.inf}, "not-finite", "volume is inf"),
        (19, {"high": 0.01, "low": 0.2}, "high-below-low", "high 0.01 is below low 0.2"),
        (20, {"volume": -1.5}, "negative-volume", "volume -1.5 is negative"),
        (21, {"open": 0.0, "low": 0.0}, "non-positive-price", "open is 0.0, must be > 0"),
        (
            22,
            {"open": 0.2},
            "open-outside-range",
            "open 0.2 is outside [low {low!r}, high {high!r}]",
        ),
    ],
)
def test_corrupted_values_are_rejected_with_the_exact_row(
    eth_btc_5m: pd.DataFrame, row: int, change: dict[str, object], code: str, detail: str
) -> None:
    bad = _corrupt(eth_btc_5m, row, **change)
    report = validate(bad, DataKind.CANDLES, TF5)
    first = report.first_error()
    assert first is not None
    assert (first.code, first.row) == (code, row)
    stamp = eth_btc_5m["date"].iloc[row].strftime("%Y-%m-%d %H:%M:%S")
    original = {name: float(eth_btc_5m.loc[row, name]) for name in ("low", "high")}
    expected = detail.format(**original)
    assert first.message == f"row {row} (0-based, as read) at {stamp} UTC: {expected}"
    with pytest.raises(DataError, match=rf"first: row {row} \(0-based, as read\)"):
        report.raise_for_errors("ETH_BTC-5m")


def test_duplicate_timestamp_names_both_rows(eth_btc_5m: pd.DataFrame) -> None:
    bad = _corrupt(eth_btc_5m, 40, date=eth_btc_5m["date"].iloc[39])
    first = validate(bad, DataKind.CANDLES, TF5).first_error()
    assert first is not None
    assert (first.code, first.row) == ("duplicate-date", 40)
    assert first.message.endswith("duplicate date: row 39 has the same date")


def test_out_of_order_row_is_named(eth_btc_5m: pd.DataFrame) -> None:
    bad = eth_btc_5m.copy()
    bad.loc[[50, 51]] = bad.loc[[51, 50]].to_numpy()
    first = validate(bad, DataKind.CANDLES, TF5).first_error()
    assert first is not None
    assert (first.code, first.row) == ("out-of-order", 51)
    assert first.message == (
        "row 51 (0-based, as read) at 2018-01-10 09:05:00 UTC: out of order: its date is before "
        "2018-01-10 09:10:00 UTC of row 50"
    )


def test_misaligned_timestamp_is_an_error_for_candles(eth_btc_5m: pd.DataFrame) -> None:
    bad = _corrupt(eth_btc_5m, 60, date=eth_btc_5m["date"].iloc[60] + pd.Timedelta(seconds=7))
    first = validate(bad, DataKind.CANDLES, TF5).first_error()
    assert first is not None
    assert (first.code, first.row) == ("misaligned-date", 60)
    assert first.message.endswith("date is not on the 5m grid (off by +7000 ms)")


def test_missing_mark_volume_is_fine_but_missing_candle_volume_is_not(shared_data: Path) -> None:
    mark = read_file(shared_data / "futures" / "XRP_USDT_USDT-1h-mark.feather", DataKind.MARK)
    assert mark["volume"].isna().all()
    assert validate(mark, DataKind.MARK, Timeframe.parse("1h")).ok
    as_candles = validate(mark, DataKind.CANDLES, Timeframe.parse("1h"))
    assert as_candles.counts() == {"not-finite": 100}


def test_funding_events_off_the_grid_by_milliseconds_warn_and_negative_rates_pass(
    funding: pd.DataFrame,
) -> None:
    report = validate(funding, DataKind.FUNDING, Timeframe.parse("8h"))
    assert report.ok
    assert report.counts() == {"off-grid-event": 59}
    assert (funding["rate"] < 0).any()
    first = report.problems(limit=1)[0]
    assert first.message == (
        "row 0 (0-based, as read) at 2021-11-18 00:00:00.017 UTC: funding event stamped +17 ms "
        "from the 8h grid (kept as stamped; --repair snap moves it onto the grid)"
    )


def test_funding_event_far_off_the_grid_is_an_error(funding: pd.DataFrame) -> None:
    bad = _corrupt(funding, 5, date=funding["date"].iloc[5] + pd.Timedelta(minutes=3))
    first = validate(bad, DataKind.FUNDING, Timeframe.parse("8h")).first_error()
    assert first is not None
    assert (first.code, first.row) == ("misaligned-date", 5)


def test_trades_rules(shared_data: Path) -> None:
    trades = read_file(shared_data / "trades" / "XRP_ETH-trades.feather", DataKind.TRADES)
    assert validate(trades, DataKind.TRADES).ok
    bad = trades.copy()
    bad.loc[10, "id"] = bad.loc[9, "id"]
    bad.loc[20, "side"] = "hold"
    bad.loc[30, "amount"] = 0.0
    report = validate(bad, DataKind.TRADES)
    assert report.counts() == {"non-positive-amount": 1, "bad-side": 1, "duplicate-id": 1}
    assert [p.row for p in report.problems()] == [10, 20, 30]
    assert report.problems()[0].message.endswith(
        f"trade id {trades.loc[9, 'id']!r} already seen at row 9"
    )


def test_book_delta_rules() -> None:
    stamps = pd.to_datetime([1_700_000_000_000 + i for i in range(4)], unit="ms", utc=True)
    frame = pd.DataFrame(
        {
            "date": stamps.astype("datetime64[ms, UTC]"),
            "side": ["bid", "ask", "bid", "top"],
            "price": [100.0, 101.0, 99.0, 100.5],
            "size": [1.0, 0.0, -2.0, 1.0],
            "sequence": [5, 6, 4, 7],
            "is_snapshot": [False] * 4,
        }
    )
    report = validate(frame, DataKind.BOOK_DELTAS)
    assert report.counts() == {"negative-size": 1, "bad-side": 1, "sequence-back": 1}


def test_validating_the_bundled_month_takes_milliseconds() -> None:
    from tradewind.data.bundled import load_bundled

    frame, _ = load_bundled()
    tf = Timeframe.parse("1m")
    validate(frame, DataKind.CANDLES, tf)
    start = time.perf_counter()
    report = validate(frame, DataKind.CANDLES, tf)
    elapsed = time.perf_counter() - start
    assert report.ok
    assert report.rows == 45_031
    # Vectorised: a few ms on this machine; 0.1 s leaves room for a busy CI box.
    assert elapsed < 0.1
