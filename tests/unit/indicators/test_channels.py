"""Supertrend, Keltner and Donchian channels: hand-checked cases, TA-Lib building blocks, causality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import talib

from tradewind.core.errors import DataError, UserError
from tradewind.indicators.channels import donchian, keltner, supertrend
from tradewind.testing.candles import Candles, load_candles
from tradewind.testing.causality import assert_causal
from tradewind.testing.shared_data import candle_files

FILES = candle_files()


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> Candles:
    return load_candles(shared_data / "candles/btc-perp-20211231-20220201_1m.csv")


def test_supertrend_hand_checked() -> None:
    # ATR(1) is the true range; bands are mid +- 1 x TR (worked through in the comments).
    high = [10.0, 11.0, 14.0, 13.0, 10.0]
    low = [8.0, 9.0, 12.0, 11.0, 8.0]
    close = [9.0, 10.0, 13.5, 11.5, 8.5]
    line, direction = supertrend(high, low, close, timeperiod=1, multiplier=1.0)
    # bar 1: starts down at the upper band 10 + 2; bar 2: close 13.5 breaks 12 -> up, lower band
    # max(8, 13 - 4) = 9; bar 3: lower band rises to 12 - 2.5; bar 4: close 8.5 < 9.5 -> down,
    # upper band released to 9 + 3.5 because bar 3 closed above the old upper band.
    np.testing.assert_array_equal(line, [np.nan, 12.0, 9.0, 9.5, 12.5])
    np.testing.assert_array_equal(direction, [np.nan, -1.0, 1.0, 1.0, -1.0])


def test_supertrend_bar_with_high_below_low_uses_talib_true_range() -> None:
    # The kernel's short true range max(h, pc) - min(l, pc) equals TA-Lib's only when h >= l.
    # Bar 2 has h = 10 < l = 12 after a close of 10: TA-Lib's TR is max(-2, 0, 2) = 2 (the short
    # form would give 0), so the basic upper band is 11 + 2 = 13 and the band stays at 12.
    high = [10.0, 11.0, 10.0]
    low = [8.0, 9.0, 12.0]
    close = [9.0, 10.0, 11.0]
    assert talib.TRANGE(np.array(high), np.array(low), np.array(close))[2] == 2.0
    line, direction = supertrend(high, low, close, timeperiod=1, multiplier=1.0)
    np.testing.assert_array_equal(line, [np.nan, 12.0, 12.0])
    np.testing.assert_array_equal(direction, [np.nan, -1.0, -1.0])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_supertrend_line_sits_on_the_right_side_of_price(path: Path) -> None:
    c = load_candles(path)
    line, direction = supertrend(c.high, c.low, c.close, 10, 3.0)
    assert np.isnan(line[:10]).all()
    assert not np.isnan(line[10:]).any()
    up = direction == 1.0
    down = direction == -1.0
    assert (up | down)[10:].all()
    assert np.all(c.close[up] >= line[up])
    assert np.all(c.close[down] <= line[down])
    # A trailing stop: in an unbroken up-run the line never falls.
    same = up[1:] & up[:-1]
    assert np.all(np.diff(line)[same] >= 0)


def test_keltner_is_talib_ema_plus_minus_atr(btc: Candles) -> None:
    upper, middle, lower = keltner(btc.high, btc.low, btc.close, 20, 2.0, 10)
    ref_mid = talib.EMA(btc.close, 20)
    ref_width = 2.0 * talib.ATR(btc.high, btc.low, btc.close, 10)
    assert np.isnan(upper[:19]).all()
    assert not np.isnan(upper[19:]).any()
    np.testing.assert_allclose(middle, ref_mid, rtol=1e-12)
    np.testing.assert_allclose(upper, ref_mid + ref_width, rtol=1e-12)
    np.testing.assert_allclose(lower, ref_mid - ref_width, rtol=1e-12)
    _, _, longer_atr = keltner(btc.high, btc.low, btc.close, 5, 1.5, atr_period=30)
    assert int(np.argmax(~np.isnan(longer_atr))) == 30


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_donchian_equals_talib_max_min(path: Path) -> None:
    c = load_candles(path)
    upper, middle, lower = donchian(c.high, c.low, 20)
    np.testing.assert_array_equal(upper, talib.MAX(c.high, 20))
    np.testing.assert_array_equal(lower, talib.MIN(c.low, 20))
    np.testing.assert_array_equal(middle, (upper + lower) / 2)


def test_donchian_hand_checked() -> None:
    upper, middle, lower = donchian([3.0, 5.0, 4.0, 1.0], [1.0, 2.0, 0.5, 0.7], 2)
    np.testing.assert_array_equal(upper, [np.nan, 5.0, 5.0, 4.0])
    np.testing.assert_array_equal(lower, [np.nan, 1.0, 0.5, 0.5])
    np.testing.assert_array_equal(middle, [np.nan, 3.0, 2.75, 2.25])


def test_causal(btc: Candles) -> None:
    data = btc.head(2500)
    cols = [data.high, data.low, data.close]
    assert_causal(lambda h, lo, c: supertrend(h, lo, c, 10, 3.0), cols)
    assert_causal(lambda h, lo, c: keltner(h, lo, c, 20, 2.0, 10), cols)
    assert_causal(lambda h, lo: donchian(h, lo, 55), cols[:2])


def test_bad_input_is_named() -> None:
    ones = np.ones(40)
    with pytest.raises(UserError, match="multiplier must be a positive finite number"):
        supertrend(ones, ones, ones, 10, 0.0)
    with pytest.raises(UserError, match="timeperiod must be at least 2"):
        keltner(ones, ones, ones, timeperiod=1)
    with pytest.raises(UserError, match="low has 39 values but high has 40"):
        donchian(ones, np.ones(39))
    with pytest.raises(DataError, match="close has a non-finite value"):
        supertrend(ones, ones, np.r_[ones[:-1], np.nan])
    with pytest.raises(UserError, match="must be a 1-D array"):
        donchian(np.ones((4, 10)), np.ones((4, 10)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("position", [0, 9, 10, 11, 25, 39])
def test_in_kernel_finiteness_check_names_the_series(bad: float, position: int) -> None:
    # Supertrend and Donchian check finiteness inside their kernels (a running sum) rather
    # than in a separate pass: a bad value anywhere, also in short series, must still raise.
    base = np.linspace(10.0, 20.0, 40)
    for label in ("high", "low", "close"):
        cols = {"high": base + 1.0, "low": base - 1.0, "close": base.copy()}
        cols[label][position] = bad
        with pytest.raises(DataError, match=rf"{label} has a non-finite value .* {position}"):
            supertrend(cols["high"], cols["low"], cols["close"])
        if label != "close":
            with pytest.raises(DataError, match=rf"{label} has a non-finite value"):
                donchian(cols["high"], cols["low"], 20)
            with pytest.raises(DataError, match=rf"{label} has a non-finite value"):
                donchian(cols["high"][: position + 1], cols["low"][: position + 1], 55)
