"""Rolling volume profile: hand-checked bins, a brute-force cross-check on real data, causality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradewind.core.errors import DataError, UserError
from tradewind.indicators.volume_profile import volume_profile
from tradewind.testing.candles import Candles, load_candles
from tradewind.testing.causality import assert_causal, sample_bars


@pytest.fixture(scope="module")
def eth(shared_data: Path) -> Candles:
    return load_candles(shared_data / "candles/ETH_BTC-5m.feather")


def test_poc_and_value_area_hand_checked() -> None:
    # Window [0, 4] in 4 bins of width 1. Bar A spreads 4 over all bins; bar B puts 6 in [1, 2).
    poc, vah, val = volume_profile([4.0, 2.0], [0.0, 1.0], [4.0, 6.0], timeperiod=2, bins=4)
    assert np.isnan(poc[0])
    assert (poc[1], vah[1], val[1]) == (1.5, 2.0, 1.0)  # POC bin alone holds 7/10 >= 70%


def test_value_area_grows_towards_the_heavier_side_and_up_on_ties() -> None:
    # Bins hold [1, 3, 1, 1] of 6: the area needs 4.2, adds the upper neighbour on each tie.
    poc, vah, val = volume_profile([4.0, 2.0], [0.0, 1.0], [4.0, 2.0], timeperiod=2, bins=4)
    assert (poc[1], vah[1], val[1]) == (1.5, 4.0, 1.0)
    # Heavier below: bins [3, 1, 4, 0] of 8 need 5.6: POC bin 2, then bin 1 (1 beats 0 above),
    # then bin 0 (3 beats 0).
    high = [1.0, 3.0, 2.0, 4.0]
    low = [0.0, 2.0, 1.0, 4.0]
    poc, vah, val = volume_profile(high, low, [3.0, 4.0, 1.0, 0.0], timeperiod=4, bins=4)
    assert (poc[3], vah[3], val[3]) == (2.5, 3.0, 0.0)


def test_flat_and_empty_windows() -> None:
    poc, vah, val = volume_profile([5.0, 5.0], [5.0, 5.0], [1.0, 2.0], timeperiod=2)
    assert (poc[1], vah[1], val[1]) == (5.0, 5.0, 5.0)
    poc, _, _ = volume_profile([5.0, 6.0], [4.0, 5.0], [0.0, 0.0], timeperiod=2)
    assert np.isnan(poc[1])


def _brute_force(h: np.ndarray, lo: np.ndarray, v: np.ndarray, bins: int) -> tuple[float, ...]:
    bottom, top = lo.min(), h.max()
    edges = np.linspace(bottom, top, bins + 1)
    spans = np.where(h > lo, h - lo, 1.0)
    overlap = np.clip(
        np.minimum(h[:, None], edges[1:]) - np.maximum(lo[:, None], edges[:-1]), 0, None
    )
    share = np.where((h > lo)[:, None], overlap / spans[:, None], 0.0)
    point = h == lo
    idx = np.minimum(((lo - bottom) / ((top - bottom) / bins)).astype(int), bins - 1)
    share[point, idx[point]] = 1.0
    hist = (share * v[:, None]).sum(axis=0)
    best = int(np.argmax(hist))
    lo_b = hi_b = best
    while hist[lo_b : hi_b + 1].sum() < 0.7 * v.sum():
        up = hist[hi_b + 1] if hi_b + 1 < bins else -1.0
        down = hist[lo_b - 1] if lo_b > 0 else -1.0
        if up >= down:
            hi_b += 1
        else:
            lo_b -= 1
    return (edges[best] + edges[best + 1]) / 2, edges[hi_b + 1], edges[lo_b]


def test_matches_brute_force_on_real_data(eth: Candles) -> None:
    poc, vah, val = volume_profile(eth.high, eth.low, eth.volume, timeperiod=96, bins=24)
    assert np.isnan(poc[:95]).all()
    assert not np.isnan(poc[95:]).any()
    for t in sample_bars(eth.size, 25):
        if t < 95:
            continue
        w = slice(t - 95, t + 1)
        expected = _brute_force(eth.high[w], eth.low[w], eth.volume[w], 24)
        np.testing.assert_allclose((poc[t], vah[t], val[t]), expected, rtol=1e-9)
    assert np.all((val[95:] <= poc[95:]) & (poc[95:] <= vah[95:]))


def test_causal(eth: Candles) -> None:
    data = eth.head(1500)
    assert_causal(
        lambda h, lo, v: volume_profile(h, lo, v, 50, 20), [data.high, data.low, data.volume]
    )


def test_bad_input_is_named() -> None:
    ones = np.ones(4)
    with pytest.raises(DataError, match="low is above high at position 2"):
        volume_profile(ones, np.array([1, 1, 2, 1.0]), ones)
    with pytest.raises(DataError, match="volume must not be negative"):
        volume_profile(ones, ones, -ones)
    with pytest.raises(UserError, match="value_area is a share"):
        volume_profile(ones, ones, ones, value_area=70)
    with pytest.raises(UserError, match="bins must be at least 1"):
        volume_profile(ones, ones, ones, bins=0)
    with pytest.raises(UserError, match="low has 3 values"):
        volume_profile(ones, np.ones(3), ones)
