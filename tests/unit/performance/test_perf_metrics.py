"""Each return metric equals empyrical-reloaded's function of the same name to 1e-9.

Checked on real returns (buy-and-hold and a long/flat SMA cross of every shared candle file) under
several annualisations, and on small hand-made inputs for every degenerate-case convention.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import empyrical
import numpy as np
import pytest
from perf_curves import ANNUALISED, PLAIN, Candles, same, sma_cross_equity

from tradewind.core.errors import UserError
from tradewind.performance import metrics, periods_per_year, simple_returns


def empyrical_value(name: str, returns: np.ndarray, annualization: float) -> float:
    function: Callable[..., float] = getattr(empyrical, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empyrical warns on its own 0/0 and empty inputs
        if name in ANNUALISED:
            return float(function(returns, annualization=annualization))
        return float(function(returns))


def ours_value(name: str, returns: np.ndarray, annualization: float) -> float:
    function: Callable[..., float] = getattr(metrics, name)
    if name in ANNUALISED:
        return function(returns, annualization)
    return function(returns)


def curves(candles: Candles) -> dict[str, np.ndarray]:
    return {
        "buy_and_hold": candles.close,
        "sma_cross": sma_cross_equity(candles.close),
    }


@pytest.mark.parametrize("name", ANNUALISED + PLAIN)
def test_metric_equals_empyrical_on_real_returns(candles: Candles, name: str) -> None:
    own_year = periods_per_year(candles.bar_ms)
    for curve, equity in curves(candles).items():
        returns = simple_returns(equity)
        for annualization in (own_year, 252.0, 365.0, 525_600.0):
            expected = empyrical_value(name, returns, annualization)
            got = ours_value(name, returns, annualization)
            assert same(got, expected), (curve, annualization, got, expected)


def test_real_returns_give_finite_values(btc_perp: Candles) -> None:
    # Guards the comparison above against passing only because both sides are NaN.
    returns = simple_returns(sma_cross_equity(btc_perp.close))
    for name in ANNUALISED + PLAIN:
        assert math.isfinite(ours_value(name, returns, 525_600.0)), name


DEGENERATE = {
    "empty": [],
    "one": [0.01],
    "two": [0.01, -0.01],
    "all_zero": [0.0] * 5,
    "constant_gain": [0.01] * 5,
    "constant_loss": [-0.01] * 5,
    "only_gains": [0.01, 0.02, 0.03],
    "nan_then_one": [np.nan, 0.01],
    "nan_mixed": [np.nan, 0.01, -0.02, 0.03],
    "all_nan": [np.nan] * 3,
    "wiped_out": [0.1, -1.0, 0.0],
    "below_total_loss": [0.1, -1.5, 0.2],
}


@pytest.mark.parametrize("case", list(DEGENERATE))
@pytest.mark.parametrize("name", ANNUALISED + PLAIN)
def test_degenerate_input_follows_empyrical(case: str, name: str) -> None:
    returns = np.array(DEGENERATE[case], dtype=np.float64)
    expected = empyrical_value(name, returns, 365.0)
    assert same(ours_value(name, returns, 365.0), expected)


def test_conventions_named_in_the_docs() -> None:
    assert math.isnan(metrics.sharpe_ratio([0.0, 0.0, 0.0], 365))
    assert metrics.sharpe_ratio([0.01, 0.01, 0.01], 365) == math.inf
    assert metrics.sortino_ratio([0.01, 0.02], 365) == math.inf
    assert math.isnan(metrics.calmar_ratio([0.01, 0.02], 365))
    assert metrics.max_drawdown([0.01, 0.02]) == 0.0
    assert math.isnan(metrics.value_at_risk([np.nan, 0.01, 0.02]))
    assert metrics.annual_return([0.1, -1.0, 0.0], 365) == -1.0


def test_nan_inside_real_returns_follows_empyrical(btc_perp: Candles) -> None:
    returns = simple_returns(sma_cross_equity(btc_perp.close))
    returns[[0, 17, 5_000]] = np.nan
    for name in ANNUALISED + PLAIN:
        expected = empyrical_value(name, returns, 525_600.0)
        assert same(ours_value(name, returns, 525_600.0), expected), name


def test_risk_free_and_required_return_follow_empyrical(btc_perp: Candles) -> None:
    returns = simple_returns(btc_perp.close)
    assert same(
        metrics.sharpe_ratio(returns, 525_600, risk_free=1e-6),
        empyrical.sharpe_ratio(returns, risk_free=1e-6, annualization=525_600),
    )
    assert same(
        metrics.sortino_ratio(returns, 525_600, required_return=-1e-5),
        empyrical.sortino_ratio(returns, required_return=-1e-5, annualization=525_600),
    )
    assert same(
        metrics.downside_risk(returns, 525_600),
        empyrical.downside_risk(returns, annualization=525_600),
    )


@pytest.mark.parametrize("cutoff", [0.01, 0.05, 0.1, 0.5])
def test_tail_cutoffs_follow_empyrical(btc_perp: Candles, cutoff: float) -> None:
    returns = simple_returns(btc_perp.close)
    assert same(metrics.value_at_risk(returns, cutoff), empyrical.value_at_risk(returns, cutoff))
    assert same(
        metrics.conditional_value_at_risk(returns, cutoff),
        empyrical.conditional_value_at_risk(returns, cutoff),
    )


def test_total_return_equals_the_equity_ratio(btc_perp: Candles) -> None:
    close = btc_perp.close
    assert math.isclose(
        metrics.total_return(simple_returns(close)), close[-1] / close[0] - 1, rel_tol=1e-9
    )
    assert same(
        metrics.total_return(simple_returns(close)),
        empyrical.cum_returns_final(simple_returns(close)),
    )


def test_bad_arguments_are_named() -> None:
    with pytest.raises(UserError, match="periods_per_year"):
        metrics.sharpe_ratio([0.01, 0.02], 0)
    with pytest.raises(UserError, match="cutoff"):
        metrics.value_at_risk([0.01, 0.02], 5)
    with pytest.raises(UserError, match="1-D"):
        metrics.max_drawdown([[0.01], [0.02]])
    with pytest.raises(UserError, match="numeric"):
        metrics.tail_ratio(["a", "b"])
