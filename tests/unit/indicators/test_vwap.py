"""Rolling and session-anchored VWAP: hand-checked cases, real data, causality, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.core.errors import DataError, UserError
from tradewind.indicators.vwap import session_vwap, typical_price, vwap
from tradewind.testing.candles import Candles, load_candles
from tradewind.testing.causality import assert_causal

BTC = "candles/btc-perp-20211231-20220201_1m.csv"
DAY = 86_400_000


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> Candles:
    return load_candles(shared_data / BTC)


def test_rolling_vwap_hand_checked() -> None:
    high = [11.0, 12.0, 14.0]
    low = [9.0, 9.0, 11.0]
    close = [10.0, 12.0, 11.0]  # typical prices 10, 11, 12
    volume = [1.0, 3.0, 0.0]
    out = vwap(high, low, close, volume, timeperiod=2)
    assert np.isnan(out[0])
    assert out[1] == pytest.approx((10 * 1 + 11 * 3) / 4)
    assert out[2] == pytest.approx(11.0)  # the zero-volume bar adds nothing


def test_window_without_volume_is_nan_not_residue() -> None:
    # A huge bar followed by zero-volume bars: the running sums keep rounding residue, the
    # non-zero count must still say "nothing traded".
    close = np.array([1e5 + 0.1, 3.3, 3.3, 3.3])
    volume = np.array([1e9 + 0.7, 0.0, 0.0, 0.0])
    out = vwap(close, close, close, volume, timeperiod=2)
    assert out[1] == pytest.approx(close[0])
    assert np.isnan(out[2])
    assert np.isnan(out[3])


def test_rolling_vwap_matches_direct_sums_on_btc(btc: Candles) -> None:
    tp = typical_price(btc.high, btc.low, btc.close)
    out = vwap(btc.high, btc.low, btc.close, btc.volume, timeperiod=60)
    pv = pd.Series(tp * btc.volume).rolling(60).sum().to_numpy()
    v = pd.Series(btc.volume).rolling(60).sum().to_numpy()
    expected = pv / v
    assert np.array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_allclose(out, expected, rtol=1e-9)
    assert np.all(out[59:] <= pd.Series(btc.high).rolling(60).max().to_numpy()[59:])


def test_session_vwap_restarts_each_utc_day(btc: Candles) -> None:
    out = session_vwap(btc.high, btc.low, btc.close, btc.volume, btc.timestamps)
    tp = typical_price(btc.high, btc.low, btc.close)
    day = btc.timestamps // DAY
    frame = pd.DataFrame({"day": day, "pv": tp * btc.volume, "v": btc.volume})
    expected = (frame.groupby("day")["pv"].cumsum() / frame.groupby("day")["v"].cumsum()).to_numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    first_of_day = np.flatnonzero(np.diff(day, prepend=day[0] - 1))
    np.testing.assert_allclose(out[first_of_day], tp[first_of_day], rtol=1e-15)
    assert first_of_day.size == 33  # 2021-12-31 (partial) through 2022-02-01


def test_weekly_anchor_starts_on_monday(btc: Candles) -> None:
    out = session_vwap(btc.high, btc.low, btc.close, btc.volume, btc.timestamps, anchor="1w")
    tp = typical_price(btc.high, btc.low, btc.close)
    dates = pd.to_datetime(btc.timestamps, unit="ms", utc=True)
    restarts = np.flatnonzero((dates.day_of_week == 0) & (dates.hour == 0) & (dates.minute == 0))
    assert len(restarts) == 5  # Mondays 3, 10, 17, 24, 31 January 2022
    np.testing.assert_allclose(out[restarts], tp[restarts], rtol=1e-15)
    assert out[restarts[0] - 1] != pytest.approx(tp[restarts[0] - 1], rel=1e-6)


def test_causal(btc: Candles) -> None:
    data = btc.head(3000)
    assert_causal(
        lambda h, lo, c, v: vwap(h, lo, c, v, 30), [data.high, data.low, data.close, data.volume]
    )
    assert_causal(
        lambda h, lo, c, v, ts: session_vwap(h, lo, c, v, ts, "4h"),
        [data.high, data.low, data.close, data.volume, data.timestamps],
    )


def test_bad_input_is_named() -> None:
    ones = np.ones(5)
    with pytest.raises(UserError, match="volume has 4 values but high has 5"):
        vwap(ones, ones, ones, np.ones(4))
    with pytest.raises(DataError, match="volume must not be negative"):
        vwap(ones, ones, ones, -ones)
    with pytest.raises(DataError, match="close has a non-finite value"):
        vwap(ones, ones, np.array([1, 1, np.nan, 1, 1.0]), ones)
    with pytest.raises(UserError, match="timeperiod must be at least 1"):
        vwap(ones, ones, ones, ones, timeperiod=0)
    with pytest.raises(DataError, match="timestamps must strictly increase"):
        session_vwap(ones, ones, ones, ones, np.array([0, 60_000, 60_000, 120_000, 180_000]))
    with pytest.raises(UserError, match="invalid timeframe"):
        session_vwap(ones, ones, ones, ones, np.arange(5) * 60_000, anchor="1M")
    with pytest.raises(UserError, match="one timestamp per bar"):
        session_vwap(ones, ones, ones, ones, np.arange(4) * 60_000)
