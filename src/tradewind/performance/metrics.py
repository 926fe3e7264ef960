"""Return metrics of a per-bar return series, equal to empyrical-reloaded's functions.

Each function here takes the simple returns of consecutive bars (see
:func:`tradewind.performance.returns.simple_returns`) and, where it annualises,
``periods_per_year`` (bars per year; 365 x bars per day for a 24/7 market, see
:func:`tradewind.performance.returns.periods_per_year`). Each returns the same number as the
function of the same name in empyrical-reloaded 0.7 given the same returns and
``annualization=periods_per_year`` (a test holds them to 1e-9), including its conventions for
degenerate input:

- NaN in the returns means "missing": most metrics skip it (a missing return compounds as 0),
  while :func:`value_at_risk` returns NaN, as ``numpy.percentile`` does;
- too few returns give NaN (fewer than 1 for the level metrics, fewer than 2 for the dispersion
  ones), counted before NaN is dropped, as empyrical counts them;
- a zero denominator gives +/-inf when the numerator is non-zero and NaN when it is zero (Sharpe
  of constant returns, Sortino without a losing bar), except :func:`calmar_ratio`, which is NaN
  without a drawdown.

Formulas use ``r`` for the returns, ``n`` for their count and ``P`` for ``periods_per_year``.
Drawdown series and durations live in :mod:`tradewind.performance.drawdown`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from tradewind.performance._checks import cutoff_fraction, positive_number, returns_array
from tradewind.performance._kernels import (
    NAN,
    drawdown_from_wealth,
    present,
    quantile,
    r_squared_against_index,
    select_tail,
    wealth_index,
    zero_dispersion,
)


def total_return(returns: npt.ArrayLike) -> float:
    """Compound the returns into one: ``prod(1 + r) - 1`` (empyrical's ``cum_returns_final``).

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns; NaN counts as 0.

    Returns
    -------
    float
        The total return; NaN when there are no returns.
    """
    r = returns_array(returns)
    if r.size == 0:
        return NAN
    return float(np.prod(present(r) + 1.0) - 1.0)


def annual_return(returns: npt.ArrayLike, periods_per_year: float) -> float:
    """Compound annual growth rate: ``prod(1 + r) ** (P / n) - 1``.

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns; NaN counts as a 0 return but still as a bar.
    periods_per_year : float
        Bars per year.

    Returns
    -------
    float
        CAGR as a fraction; NaN when there are no returns or when the compounded wealth is
        negative (a return below -100 %); -1.0 after a total loss; inf when a short run's growth
        compounds beyond the largest float.
    """
    r = returns_array(returns)
    ppy = positive_number("periods_per_year", periods_per_year)
    if r.size == 0:
        return NAN
    num_years = r.size / ppy
    ending_value = np.prod(present(r) + 1.0)
    # A negative wealth has no real root (NaN); a short, steep run compounds to inf.
    with np.errstate(invalid="ignore", over="ignore"):
        return float(np.power(ending_value, 1.0 / num_years) - 1.0)


def annual_volatility(returns: npt.ArrayLike, periods_per_year: float) -> float:
    """Annualised standard deviation: ``std(r, ddof=1) * sqrt(P)``.

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns; NaN is skipped.
    periods_per_year : float
        Bars per year.

    Returns
    -------
    float
        Volatility as a fraction per year; NaN with fewer than two returns (two present ones).
    """
    r = returns_array(returns)
    ppy = positive_number("periods_per_year", periods_per_year)
    if r.size < 2:
        return NAN
    v = present(r)
    if v.size < 2:
        return NAN
    return float(v.std(ddof=1) * ppy ** (1.0 / 2.0))


def sharpe_ratio(returns: npt.ArrayLike, periods_per_year: float, risk_free: float = 0.0) -> float:
    """Annualised Sharpe ratio: ``mean(r - rf) / std(r - rf, ddof=1) * sqrt(P)``.

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns; NaN is skipped.
    periods_per_year : float
        Bars per year.
    risk_free : float, default 0.0
        Risk-free return per bar (not per year).

    Returns
    -------
    float
        The ratio; NaN with fewer than two returns or when every excess return is 0; +/-inf when
        every excess return is the same non-zero value (the standard deviation of identical
        values is taken as exactly 0, not as the rounding residue of the mean).
    """
    r = returns_array(returns)
    ppy = positive_number("periods_per_year", periods_per_year)
    if r.size < 2:
        return NAN
    adj = present(r - risk_free if risk_free != 0 else r)
    if adj.size < 2:
        return NAN
    mean = float(adj.mean())
    std = float(adj.std(ddof=1))
    std = zero_dispersion(adj, mean, std)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(mean) / np.float64(std) * np.sqrt(ppy))


def downside_risk(
    returns: npt.ArrayLike, periods_per_year: float, required_return: float = 0.0
) -> float:
    """Annualised downside deviation: ``sqrt(mean(min(r - req, 0) ** 2)) * sqrt(P)``.

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns; NaN is skipped.
    periods_per_year : float
        Bars per year.
    required_return : float, default 0.0
        Minimum acceptable return per bar.

    Returns
    -------
    float
        The deviation of returns below ``required_return``, counting every bar (bars above it
        count as 0); NaN without returns.
    """
    r = returns_array(returns)
    ppy = positive_number("periods_per_year", periods_per_year)
    if r.size == 0:
        return NAN
    adj = present(r - required_return if required_return != 0 else r)
    if adj.size == 0:
        return NAN
    below = np.minimum(adj, 0.0)
    return float(np.sqrt(np.mean(np.square(below, out=below))) * np.sqrt(ppy))


def sortino_ratio(
    returns: npt.ArrayLike, periods_per_year: float, required_return: float = 0.0
) -> float:
    """Annualised Sortino ratio: ``mean(r - req) * P / downside_risk(r, P, req)``.

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns; NaN is skipped.
    periods_per_year : float
        Bars per year.
    required_return : float, default 0.0
        Minimum acceptable return per bar.

    Returns
    -------
    float
        The ratio; NaN with fewer than two returns; +inf without a bar below ``required_return``
        and a positive mean, NaN when the mean is 0 too.
    """
    r = returns_array(returns)
    ppy = positive_number("periods_per_year", periods_per_year)
    if r.size < 2:
        return NAN
    adj = present(r - required_return if required_return != 0 else r)
    if adj.size == 0:
        return NAN
    average_annual = np.float64(adj.mean()) * ppy
    below = np.minimum(adj, 0.0)
    risk = np.sqrt(np.mean(np.square(below, out=below))) * np.sqrt(ppy)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(average_annual / risk)


def max_drawdown(returns: npt.ArrayLike) -> float:
    """Largest fall from a running peak: ``min(W / cummax(W) - 1)``, ``W = cumprod(1 + r)``.

    The running peak starts at the wealth before the first return, so a loss on the first bar
    is a drawdown.

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns; NaN counts as 0.

    Returns
    -------
    float
        The drawdown as a non-positive fraction (-0.25 is a 25 % fall); 0.0 when the wealth never
        falls; NaN without returns.
    """
    r = returns_array(returns)
    if r.size == 0:
        return NAN
    return float(np.nanmin(drawdown_from_wealth(wealth_index(r))))


def calmar_ratio(returns: npt.ArrayLike, periods_per_year: float) -> float:
    """Calmar ratio: ``annual_return(r, P) / |max_drawdown(r)|``.

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns.
    periods_per_year : float
        Bars per year.

    Returns
    -------
    float
        The ratio; NaN without a drawdown (max drawdown 0 or undefined) and NaN where the
        quotient would be infinite.
    """
    r = returns_array(returns)
    ppy = positive_number("periods_per_year", periods_per_year)
    mdd = max_drawdown(r)
    if not mdd < 0:
        return NAN
    ratio = annual_return(r, ppy) / abs(mdd)
    return NAN if math.isinf(ratio) else ratio


def value_at_risk(returns: npt.ArrayLike, cutoff: float = 0.05) -> float:
    """Historical value at risk: the ``cutoff`` quantile of the returns (linear interpolation).

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns. Unlike the other metrics a NaN is not skipped: it makes the
        result NaN, as in empyrical.
    cutoff : float, default 0.05
        Tail probability; 0.05 gives the return that the worst 5 % of bars fall below.

    Returns
    -------
    float
        A per-bar return (negative for a loss); NaN without returns.
    """
    r = returns_array(returns)
    q = cutoff_fraction(cutoff)
    if r.size == 0 or np.isnan(r).any():
        return NAN
    return quantile(r, 100 * q / 100)


def conditional_value_at_risk(returns: npt.ArrayLike, cutoff: float = 0.05) -> float:
    """Expected shortfall: the mean of the ``k + 1`` lowest returns, ``k = floor((n - 1) * q)``.

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns; NaN is dropped before ``n`` is counted.
    cutoff : float, default 0.05
        Tail probability ``q``.

    Returns
    -------
    float
        The mean per-bar return of the worst tail; NaN without present returns.
    """
    r = returns_array(returns)
    q = cutoff_fraction(cutoff)
    v = present(r)
    if v.size == 0:
        return NAN
    k = int((v.size - 1) * q)
    return float(np.mean(select_tail(v, k + 1, [k])))


def tail_ratio(returns: npt.ArrayLike) -> float:
    """Ratio of the right tail to the left: ``|percentile(r, 95)| / |percentile(r, 5)|``.

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns; NaN is skipped.

    Returns
    -------
    float
        0.25 means the bad tail is four times the good one; inf when the 5th percentile is 0 and
        the 95th is not, NaN when both are 0 or without present returns.
    """
    r = returns_array(returns)
    v = present(r)
    if v.size == 0:
        return NAN
    low, high = quantile(v, 0.05), quantile(v, 0.95)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.abs(np.float64(high)) / np.abs(np.float64(low)))


def stability_of_timeseries(returns: npt.ArrayLike) -> float:
    """R-squared of a straight-line fit of cumulative log returns against the bar index.

    ``y = cumsum(log1p(r))``, ``x = 0 .. m - 1`` (``m`` present returns); the result is the
    squared Pearson correlation of ``x`` and ``y``, clipped to [0, 1].

    Parameters
    ----------
    returns : array_like of float, shape (n,)
        Per-bar simple returns; NaN is dropped.

    Returns
    -------
    float
        1.0 for steady compounding; NaN with fewer than two returns, when ``y`` is flat (no
        return at all) or after a return of -100 % (log of zero).
    """
    r = returns_array(returns)
    if r.size < 2:
        return NAN
    v = present(r)
    if v.size == 0:
        return NAN
    # A return of -100 % (or below) has no logarithm: the NaN/-inf it makes is the answer.
    with np.errstate(divide="ignore", invalid="ignore"):
        return r_squared_against_index(np.cumsum(np.log1p(v)))
