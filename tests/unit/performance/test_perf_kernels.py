"""The tail-selection and quantile kernels equal NumPy's full partition and quantile exactly.

Their fast path only runs on long arrays (over 65,536 values), so the real BTC-perp returns are
repeated to 180,124 values: real values, only more of them. One arrangement puts the smallest
values where the strided sample looks, so the sample misses and the fallback is exercised.
"""

from __future__ import annotations

import numpy as np
import pytest
from perf_curves import Candles, sma_cross_equity
from scipy import stats

from tradewind.performance import simple_returns
from tradewind.performance._kernels import quantile, r_squared_against_index, select_tail

QUANTILES = [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0]


def long_returns(btc_perp: Candles, arrangement: str) -> np.ndarray:
    market = np.tile(simple_returns(btc_perp.close), 4)
    if arrangement == "market":
        return market
    if arrangement == "many_ties":  # a long/flat strategy: about half the returns are exactly 0
        return np.tile(simple_returns(sma_cross_equity(btc_perp.close)), 4)
    # "sample_misses": the strided sample (every n // 16384-th value) sees only the smallest
    # values, so its threshold selects too few and the kernel must partition everything.
    step = market.size // 16_384
    ordered = np.sort(market)
    out = np.empty_like(market)
    picked = np.arange(0, market.size, step)
    out[picked] = ordered[: picked.size]
    rest = np.ones(market.size, dtype=bool)
    rest[picked] = False
    out[rest] = ordered[picked.size :]
    return out


ARRANGEMENTS = ["market", "many_ties", "sample_misses"]


@pytest.mark.parametrize("arrangement", ARRANGEMENTS)
def test_quantile_equals_numpy(btc_perp: Candles, arrangement: str) -> None:
    values = long_returns(btc_perp, arrangement)
    for q in QUANTILES:
        assert quantile(values, q) == np.quantile(values, q), q


@pytest.mark.parametrize("arrangement", ARRANGEMENTS)
def test_select_tail_holds_the_exact_order_statistics(btc_perp: Candles, arrangement: str) -> None:
    values = long_returns(btc_perp, arrangement)
    ordered = np.sort(values)
    count = int(values.size * 0.05)
    kth = [0, count // 2, count - 2]
    low = select_tail(values, count, kth)
    assert low.size == count
    assert np.array_equal(np.sort(low), ordered[:count])
    assert all(low[i] == ordered[i] for i in kth)
    high = select_tail(values, count, kth, upper=True)
    assert np.array_equal(np.sort(high), ordered[-count:])
    assert all(high[i] == ordered[values.size - count + i] for i in kth)


def test_short_arrays_take_the_plain_path(btc_perp: Candles) -> None:
    values = simple_returns(btc_perp.close[:500])
    for q in QUANTILES:
        assert quantile(values, q) == np.quantile(values, q)
    assert quantile(np.array([0.25]), 0.95) == 0.25


def test_r_squared_matches_scipy_linregress(btc_perp: Candles) -> None:
    y = np.cumsum(np.log1p(simple_returns(btc_perp.close)))
    expected = stats.linregress(np.arange(y.size), y).rvalue ** 2
    assert r_squared_against_index(y) == pytest.approx(expected, rel=1e-12)
