"""Resampling: correct aggregation, closed candles only, and composition (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe
from tradewind.data.bundled import load_bundled
from tradewind.data.resample import resample

M1, M5, M15, H1 = (Timeframe.parse(t) for t in ("1m", "5m", "15m", "1h"))


@pytest.fixture(scope="module")
def month() -> pd.DataFrame:
    return load_bundled()[0]


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns="volume"), b.drop(columns="volume"))
    # Volume sums differ only by float rounding of a different summation order.
    np.testing.assert_allclose(a["volume"], b["volume"], rtol=1e-12, equal_nan=True)


def test_resample_matches_a_pandas_reference_on_real_data(month: pd.DataFrame) -> None:
    ours = resample(month, H1, M1)
    ref = (
        month.set_index("date")
        .resample("1h")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .dropna(subset=["open"])
        .reset_index()
    )
    # The data ends at 05:31, so the 05:00 hour is not closed and is dropped.
    assert ref["date"].iloc[-1] == pd.Timestamp("2022-02-01 05:00", tz="UTC")
    ref = ref.iloc[:-1].reset_index(drop=True)
    ref["date"] = ref["date"].astype("datetime64[ms, UTC]")
    _assert_same(ours, ref)
    # The first hour (23:00) starts at 23:01: aggregated from the candles that exist.
    assert ours["date"].iloc[0] == pd.Timestamp("2021-12-31 23:00", tz="UTC")
    assert ours["open"].iloc[0] == month["open"].iloc[0]


def test_last_bucket_is_kept_only_when_closed(month: pd.DataFrame) -> None:
    hour = month[month["date"] < pd.Timestamp("2022-01-01 02:00", tz="UTC")]
    assert resample(hour, H1, M1)["date"].iloc[-1] == pd.Timestamp("2022-01-01 01:00", tz="UTC")
    cut = hour.iloc[:-1]  # ends at 01:58: the 01:00 hour may still get its 01:59 minute
    assert resample(cut, H1, M1)["date"].iloc[-1] == pd.Timestamp("2022-01-01 00:00", tz="UTC")


def test_gaps_inside_a_bucket_aggregate_what_exists(unittest_1m: pd.DataFrame) -> None:
    out = resample(unittest_1m, M15, M1)
    bucket = unittest_1m[
        (unittest_1m["date"] >= pd.Timestamp("2017-11-04 23:00", tz="UTC"))
        & (unittest_1m["date"] < pd.Timestamp("2017-11-04 23:15", tz="UTC"))
    ]
    first = out.iloc[0]
    assert first["open"] == bucket["open"].iloc[0]
    assert first["high"] == bucket["high"].max()
    assert first["low"] == bucket["low"].min()
    assert first["close"] == bucket["close"].iloc[-1]
    assert first["volume"] == pytest.approx(bucket["volume"].sum())


def test_resample_refuses_a_target_that_is_not_a_multiple(month: pd.DataFrame) -> None:
    with pytest.raises(UserError, match="whole multiple of 5m"):
        resample(month, Timeframe.parse("7m"), M5)
    with pytest.raises(UserError, match="longer, whole multiple"):
        resample(month, M1, M5)


def test_resample_refuses_unsorted_input(month: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="sorted by unique dates"):
        resample(month.iloc[[1, 0]], M5, M1)


@pytest.mark.parametrize("start", [0, 3, 7_000, 30_011])
def test_composition_on_real_slices(month: pd.DataFrame, start: int) -> None:
    part = month.iloc[start : start + 2_000].reset_index(drop=True)
    _assert_same(resample(resample(part, M5, M1), M15, M5), resample(part, M15, M1))


def test_composition_on_real_data_with_gaps(unittest_1m: pd.DataFrame) -> None:
    _assert_same(resample(resample(unittest_1m, M5, M1), M15, M5), resample(unittest_1m, M15, M1))


@st.composite
def candle_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Generated 1m candles: random start minute, random missing minutes, valid OHLC."""
    n = draw(st.integers(min_value=0, max_value=120))
    start = draw(st.integers(min_value=0, max_value=10_000))
    present = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    minutes = np.array([start + i for i, keep in enumerate(present) if keep], dtype=np.int64)
    rng = np.random.default_rng(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    close = 100 + np.cumsum(rng.normal(0, 1, minutes.size))
    open_ = close + rng.normal(0, 0.5, minutes.size)
    high = np.maximum(open_, close) + rng.uniform(0, 1, minutes.size)
    low = np.minimum(open_, close) - rng.uniform(0, 1, minutes.size)
    volume = rng.uniform(0, 10, minutes.size)
    dates = pd.Series((minutes * 60_000).astype("datetime64[ms]")).dt.tz_localize("UTC")
    return pd.DataFrame(
        {"date": dates, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
    )


@settings(max_examples=150, deadline=None)
@given(candle_frames())
def test_composition_property_1m_5m_15m_equals_1m_15m(frame: pd.DataFrame) -> None:
    # The horizon of the 1m data (close of its last candle) is shared by both paths.
    until = frame["date"].iloc[-1] + pd.Timedelta(minutes=1) if len(frame) else None
    two_steps = resample(resample(frame, M5, M1, until=until), M15, M5, until=until)
    _assert_same(two_steps, resample(frame, M15, M1, until=until))


def test_default_horizon_can_only_differ_in_the_last_bucket(month: pd.DataFrame) -> None:
    # 1m candles at 00:09 and 00:15: the direct path knows the 00:00 quarter closed at 00:15;
    # the 5m step drops the unclosed 00:15 bucket, and with it that evidence.
    part = month.iloc[[8, 14]].reset_index(drop=True)
    part["date"] = pd.to_datetime(["2022-01-01 00:09", "2022-01-01 00:15"], utc=True).astype(
        "datetime64[ms, UTC]"
    )
    assert len(resample(part, M15, M1)) == 1
    assert len(resample(resample(part, M5, M1), M15, M5)) == 0
    until = pd.Timestamp("2022-01-01 00:16", tz="UTC")
    assert len(resample(resample(part, M5, M1, until=until), M15, M5, until=until)) == 1
