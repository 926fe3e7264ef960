"""All return metrics of one equity curve in a single pass over shared intermediates.

The public metric functions each take returns and recompute their own means, sorts and masks;
a summary needs all of them at once, for a strategy and its benchmark, for every trial of an
optimisation. This module computes the mean and deviation once, one partition for every tail
statistic, and the drawdown straight from the equity curve, and gives the same numbers as the
public functions (a test holds it to them and to empyrical).
"""

from __future__ import annotations

import math

import numpy as np

from tradewind.core.errors import DataError
from tradewind.performance import metrics
from tradewind.performance._checks import FloatArray, IntArray
from tradewind.performance._kernels import (
    NAN,
    linear_quantile,
    quantile,
    r_squared_against_index,
    select_tail,
    zero_dispersion,
)
from tradewind.performance.drawdown import longest_drawdown
from tradewind.performance.returns import simple_returns

RETURN_METRIC_KEYS = (
    "initial_equity",
    "final_equity",
    "total_return",
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "max_drawdown",
    "max_drawdown_duration_bars",
    "max_drawdown_duration_seconds",
    "value_at_risk",
    "conditional_value_at_risk",
    "tail_ratio",
    "stability_of_timeseries",
)

VAR_CUTOFF = 0.05
"""Tail probability of the summary's VaR and CVaR (the worst 5 % of bars)."""


def return_metrics(
    equity: FloatArray, timestamps: IntArray, periods_per_year: float
) -> dict[str, float | int]:
    """Return every key of :data:`RETURN_METRIC_KEYS` for a validated equity curve.

    Raises
    ------
    DataError
        If the curve starts at zero equity: nothing was invested, so no return is defined.
    """
    if equity[0] <= 0.0:
        raise DataError(
            f"the equity curve starts at {equity[0]}: returns need a positive initial equity"
        )
    r = simple_returns(equity)
    peak = np.maximum.accumulate(equity)
    duration = longest_drawdown(equity, timestamps, peak)
    out: dict[str, float | int] = {
        "initial_equity": float(equity[0]),
        "final_equity": float(equity[-1]),
        "total_return": _total_return(equity),
    }
    if r.size < 3:
        # Too short for the shared fast path to be worth its special cases: the public
        # functions carry every small-sample convention.
        out |= _by_public_functions(r, periods_per_year)
    else:
        out |= _fast(equity, peak, r, periods_per_year)
    out["max_drawdown_duration_bars"] = duration.bars
    out["max_drawdown_duration_seconds"] = duration.duration.total_seconds()
    return {key: out[key] for key in RETURN_METRIC_KEYS}


def _total_return(equity: FloatArray) -> float:
    if equity.size < 2:
        return NAN
    return float(equity[-1] / equity[0] - 1.0)


def _by_public_functions(r: FloatArray, ppy: float) -> dict[str, float | int]:
    return {
        "annual_return": metrics.annual_return(r, ppy),
        "annual_volatility": metrics.annual_volatility(r, ppy),
        "sharpe_ratio": metrics.sharpe_ratio(r, ppy),
        "sortino_ratio": metrics.sortino_ratio(r, ppy),
        "calmar_ratio": metrics.calmar_ratio(r, ppy),
        "max_drawdown": metrics.max_drawdown(r),
        "value_at_risk": metrics.value_at_risk(r, VAR_CUTOFF),
        "conditional_value_at_risk": metrics.conditional_value_at_risk(r, VAR_CUTOFF),
        "tail_ratio": metrics.tail_ratio(r),
        "stability_of_timeseries": metrics.stability_of_timeseries(r),
    }


def _fast(
    equity: FloatArray, peak: FloatArray, r: FloatArray, ppy: float
) -> dict[str, float | int]:
    n = r.size
    mean = float(r.mean())
    centred = r - mean
    std = math.sqrt(float(np.einsum("i,i->", centred, centred)) / (n - 1))
    below = np.minimum(r, 0.0, out=centred)
    downside = math.sqrt(float(np.einsum("i,i->", below, below)) / n) * math.sqrt(ppy)

    # The wealth ratio is the compounded product of the returns; reading it from the equity
    # curve avoids a second product over every bar and its rounding.
    ending = np.float64(equity[-1] / equity[0])
    with np.errstate(over="ignore"):
        # A short, steep run compounds to inf per year, as empyrical reports it.
        cagr = float(np.power(ending, 1.0 / (n / ppy)) - 1.0)

    max_dd = float(np.min(equity / peak)) - 1.0
    if max_dd < 0:
        calmar = cagr / abs(max_dd)
        calmar = NAN if math.isinf(calmar) else calmar
    else:
        calmar, max_dd = NAN, 0.0

    # VaR, the CVaR tail and the 5th percentile all sit in the lowest 5 % of the returns, the
    # 95th percentile in the highest 5 %: select just those two tails, never sort everything.
    low_k = math.floor((n - 1) * VAR_CUTOFF)  # also the CVaR cut: int((n - 1) * cutoff)
    low = select_tail(r, low_k + 2, [low_k, low_k + 1])
    var = linear_quantile(n, 100 * VAR_CUTOFF / 100, lambda i: float(low[i]))
    low5 = linear_quantile(n, 0.05, lambda i: float(low[i]))
    high95 = quantile(r, 0.95)
    cvar = float(np.mean(low[: low_k + 1]))

    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = float(
            np.float64(mean) / np.float64(zero_dispersion(r, mean, std)) * math.sqrt(ppy)
        )
        sortino = float(np.float64(mean * ppy) / np.float64(downside))
        tail = float(np.float64(abs(high95)) / np.float64(abs(low5)))
        stability = r_squared_against_index(np.cumsum(np.log1p(r)))
    return {
        "annual_return": cagr,
        "annual_volatility": std * ppy ** (1.0 / 2.0),
        "sharpe_ratio": sharpe,
        "sortino_ratio": sortino,
        "calmar_ratio": calmar,
        "max_drawdown": max_dd,
        "value_at_risk": var,
        "conditional_value_at_risk": cvar,
        "tail_ratio": tail,
        "stability_of_timeseries": stability,
    }
