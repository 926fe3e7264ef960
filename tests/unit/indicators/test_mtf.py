"""Multi-timeframe: resampling, closed-bar alignment, and proofs that nothing leaks from the future."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.core.errors import DataError, UserError
from tradewind.indicators.mtf import HtfBars, align_to_base, on_higher_timeframe, resample_ohlcv
from tradewind.indicators.overlap import ema
from tradewind.testing.candles import Candles, load_candles
from tradewind.testing.causality import assert_causal, sample_bars

MINUTE = 60_000
HOUR = 60 * MINUTE


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> Candles:
    return load_candles(shared_data / "candles/btc-perp-20211231-20220201_1m.csv")


@pytest.fixture(scope="module")
def gappy(shared_data: Path) -> Candles:
    return load_candles(shared_data / "candles/UNITTEST_BTC-1m.feather")


def _pandas_resample(c: Candles, rule: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"open": c.open, "high": c.high, "low": c.low, "close": c.close, "volume": c.volume},
        index=pd.to_datetime(c.timestamps, unit="ms", utc=True),
    )
    agg = frame.resample(rule).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    agg["count"] = frame["close"].resample(rule).count()
    return agg[agg["count"] > 0]


@pytest.mark.parametrize("fixture", ["btc", "gappy"])
def test_resample_matches_pandas(fixture: str, request: pytest.FixtureRequest) -> None:
    c: Candles = request.getfixturevalue(fixture)
    bars = resample_ohlcv(*c, base="1m", target="15m")
    expected = _pandas_resample(c, "15min")
    np.testing.assert_array_equal(bars.timestamps, expected.index.as_unit("ms").asi8)
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(bars, name), expected[name].to_numpy())
    np.testing.assert_allclose(bars.volume, expected["volume"].to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(bars.bar_count, expected["count"].to_numpy())
    if fixture == "gappy":  # real gaps: some 15m bars are built from fewer than 15 minutes
        assert (bars.bar_count < 15).any()


def test_incomplete_last_bar_is_not_closed(btc: Candles) -> None:
    # The file runs from 2021-12-31 23:01 to 2022-02-01 05:31.
    whole = resample_ohlcv(*btc, base="1m", target="1h")
    assert not whole.closed[-1]
    assert whole.closed[:-1].all()
    assert whole.bar_count[-1] == 32
    assert whole.bar_count[0] == 59  # the 23:00 hour starts at 23:01: short, yet closed
    assert len(whole.closed_only().timestamps) == len(whole.timestamps) - 1
    to_0459 = resample_ohlcv(*btc.head(btc.size - 32), base="1m", target="1h")
    assert to_0459.closed.all()  # the 04:59 minute closes at 05:00, closing the 04:00 hour


def test_alignment_waits_for_the_htf_close() -> None:
    # Minute bars 09:57 .. 11:01 and hourly values for 09:00 and 10:00 and 11:00.
    base_ts = np.arange(9 * 60 + 57, 11 * 60 + 2) * MINUTE
    htf_ts = np.array([9, 10, 11]) * HOUR
    out = align_to_base(np.array([9.0, 10.0, 11.0]), htf_ts, "1h", base_ts, "1m")
    when = dict(zip(base_ts // MINUTE, out, strict=True))
    assert np.isnan(when[9 * 60 + 57])  # 09:57 closes at 09:58: no hour closed yet
    assert when[9 * 60 + 59] == 9.0  # 09:59 closes at 10:00, with the 09:00 hour
    assert when[10 * 60 + 58] == 9.0  # 10:58 closes at 10:59: the 10:00 hour is still open
    assert when[10 * 60 + 59] == 10.0
    assert when[11 * 60 + 1] == 10.0  # the 11:00 hour never closes in this data


def test_indicator_on_closed_hours_only(btc: Candles) -> None:
    data = btc.head(3000)
    aligned = on_higher_timeframe(lambda b: ema(b.close, 5), *data, base="1m", target="1h")
    hours = resample_ohlcv(*data, base="1m", target="1h").closed_only()
    htf = ema(hours.close, 5)
    # Each base bar at minute m of an hour sees the EMA of the previous hour, except minute 59.
    known_at = data.timestamps + MINUTE
    for t in sample_bars(data.size, 40):
        j = np.searchsorted(hours.timestamps + HOUR, known_at[t], side="right") - 1
        expected = htf[j] if j >= 0 else np.nan
        assert aligned[t] == expected or (np.isnan(aligned[t]) and np.isnan(expected))


def test_truncation_is_causal(btc: Candles) -> None:
    data = btc.head(4000)

    def compute(*cols: np.ndarray) -> tuple[np.ndarray, ...]:
        result = on_higher_timeframe(
            lambda b: (ema(b.close, 3), b.high), *cols, base="1m", target="15m"
        )
        assert isinstance(result, tuple)
        return result

    assert_causal(compute, list(data))


def test_changing_the_future_leaves_the_past_unchanged(btc: Candles) -> None:
    data = btc.head(3000)
    cut = 1234  # mid-hour (20:35): the hour containing it must not leak into earlier bars
    rng = np.random.default_rng(11)
    shock = np.ones(data.size)
    shock[cut + 1 :] = rng.uniform(0.5, 1.5, data.size - cut - 1)
    wider = np.where(shock != 1.0, 1.2, 1.0)  # later bars also get wider ranges
    changed = Candles(
        data.timestamps,
        data.open * shock,
        data.high * shock * wider,
        data.low * shock / wider,
        data.close * shock,
        data.volume * shock,
    )

    def indicator(b: HtfBars) -> np.ndarray:
        return ema((b.high + b.low + b.close) / 3, 4)

    before = on_higher_timeframe(indicator, *data, base="1m", target="1h")
    after = on_higher_timeframe(indicator, *changed, base="1m", target="1h")
    assert isinstance(before, np.ndarray)
    assert isinstance(after, np.ndarray)
    np.testing.assert_array_equal(before[: cut + 1], after[: cut + 1])
    assert not np.array_equal(before[cut + 1 :], after[cut + 1 :], equal_nan=True)


def test_bad_input_is_named(btc: Candles) -> None:
    data = btc.head(120)
    with pytest.raises(UserError, match="whole multiple of, and longer than"):
        resample_ohlcv(*data, base="1m", target="90s")
    with pytest.raises(UserError, match="whole multiple of, and longer than"):
        resample_ohlcv(*data, base="1h", target="1m")
    shifted = Candles(data.timestamps + 1, *data[1:])
    with pytest.raises(DataError, match="is not on the 1m grid"):
        resample_ohlcv(*shifted, base="1m", target="1h")
    with pytest.raises(UserError, match="expected one value per closed"):
        on_higher_timeframe(lambda b: b.close[:-1], *data, base="1m", target="5m")
    with pytest.raises(UserError, match="indicator must be callable"):
        on_higher_timeframe("rsi", *data, base="1m", target="5m")  # type: ignore[arg-type]
