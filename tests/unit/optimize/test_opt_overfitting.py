"""Deflated Sharpe Ratio against the paper's numerical example; PBO on noise and on a winner."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.core.errors import UserError
from tradewind.optimize.overfitting import (
    deflated_sharpe_from_returns,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probability_of_backtest_overfitting,
)


def test_deflated_sharpe_matches_the_papers_numerical_example() -> None:
    # Bailey & Lopez de Prado (2014), section "A numerical example": annualised SR 2.5 over 5 years
    # of daily returns (T = 1250), N = 100 trials whose annualised SRs have variance 1/2,
    # skewness -3, kurtosis 10. The paper finds E[max SR] ~ 0.1132 (daily) and DSR ~ 0.9004.
    daily = 2.5 / np.sqrt(250)
    variance = 0.5 / 250
    assert expected_max_sharpe(100, variance) == pytest.approx(0.1132, abs=5e-4)
    result = deflated_sharpe_ratio(
        daily, n_trials=100, sharpe_variance=variance, observations=1250, skewness=-3.0,
        kurtosis=10.0,
    )  # fmt: skip
    assert result.dsr == pytest.approx(0.9004, abs=1e-3)


def test_more_trials_deflate_more() -> None:
    kwargs = {"sharpe_variance": 0.002, "observations": 1250, "skewness": 0.0, "kurtosis": 3.0}
    few = deflated_sharpe_ratio(0.1, n_trials=10, **kwargs).dsr
    many = deflated_sharpe_ratio(0.1, n_trials=10_000, **kwargs).dsr
    assert many < few


def test_dsr_from_returns_uses_the_chosen_rows_moments() -> None:
    rng = np.random.default_rng(7)
    returns = rng.normal(0.0, 0.01, size=(30, 500))
    returns[3] += 0.004
    result = deflated_sharpe_from_returns(returns, 3)
    assert result.n_trials == 30
    assert result.observations == 500
    assert result.dsr > 0.95


def test_pbo_is_near_one_half_on_pure_noise() -> None:
    # One noise sample's PBO scatters widely (its splits share the same data); over independent
    # seeded samples, a search among skill-less trials picks a below-median one half the time.
    values = []
    for seed in range(12):
        noise = np.random.default_rng(seed).normal(0.0, 0.01, size=(50, 800))
        result = probability_of_backtest_overfitting(noise, partitions=16, max_combinations=500)
        assert result.combinations == 500  # C(16, 8) = 12,870 > the cap: a seeded subset
        values.append(result.pbo)
    assert 0.4 <= float(np.mean(values)) <= 0.6


def test_pbo_is_near_zero_when_one_trial_truly_dominates() -> None:
    rng = np.random.default_rng(42)
    returns = rng.normal(0.0, 0.01, size=(50, 1600))
    returns[17] += 0.004  # a real edge, in and out of sample
    result = probability_of_backtest_overfitting(returns, partitions=10)
    assert result.combinations == 252
    assert result.pbo <= 0.05
    assert result.probability_of_loss == 0.0


def test_pbo_refuses_too_little_data() -> None:
    with pytest.raises(UserError, match="at least 2 trials"):
        probability_of_backtest_overfitting(np.zeros((1, 100)))
    with pytest.raises(UserError, match="at least 4 periods"):
        probability_of_backtest_overfitting(np.zeros((3, 3)))
