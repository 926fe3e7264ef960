"""Per-bar simple returns from an equity curve, and the annualisation of a 24/7 market.

Crypto markets trade every day of the year, so a year is 365 days of bars: with a bar length of
``ms`` milliseconds there are ``86_400_000 / ms`` bars a day and ``365 * 86_400_000 / ms`` bars a
year (525,600 for 1-minute bars, 8,760 for 1-hour bars, 365 for daily bars). Every annualised
metric in this package takes that number as its ``periods_per_year`` argument, and the summary
states it under the key ``annualization``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe
from tradewind.performance._checks import FloatArray, equity_array, timestamps_ms

DAYS_PER_YEAR = 365
"""Calendar days in a trading year of a market that never closes."""

MS_PER_DAY = 86_400_000


def simple_returns(equity: npt.ArrayLike) -> FloatArray:
    """Return the simple return of each bar over the previous one.

    ``r[t] = (equity[t + 1] - equity[t]) / equity[t]`` for ``t = 0 .. n - 2`` (the difference
    first: two nearby values subtract exactly, so small returns keep all their digits).

    Parameters
    ----------
    equity : array_like of float, shape (n,)
        Account equity at each bar, finite and non-negative.

    Returns
    -------
    numpy.ndarray of float64, shape (n - 1,)
        The returns; empty for a single bar. There is no warm-up: the first return belongs to the
        second bar. A step from zero equity to zero equity (an account wiped out and left so) has
        return 0, because nothing is left to gain or lose.

    Raises
    ------
    UserError
        If ``equity`` is empty, not numeric or not 1-D.
    DataError
        If ``equity`` has a non-finite or negative value, or rises from zero (a return from zero
        is undefined; deposits are not part of an equity curve).
    """
    values = equity_array(equity)
    before = values[:-1]
    after = values[1:]
    zero = before == 0.0
    if zero.any():
        rising = zero & (after > 0.0)
        if rising.any():
            bad = int(np.flatnonzero(rising)[0])
            raise DataError(
                f"equity rises from 0 at position {bad + 1}: a return from zero equity is "
                "undefined (an equity curve cannot include deposits into an empty account)"
            )
        out = np.zeros_like(after)
        np.divide(after - before, before, out=out, where=~zero)
        return out
    out = np.subtract(after, before)
    out /= before
    return out


def bar_ms_of(timeframe: Timeframe | int) -> int:
    """Return a bar length in milliseconds from a :class:`Timeframe` or a millisecond count.

    Raises
    ------
    UserError
        If the value is neither a Timeframe nor a positive integer.
    """
    if isinstance(timeframe, Timeframe):
        return timeframe.ms
    if isinstance(timeframe, bool) or not isinstance(timeframe, int | np.integer):
        raise UserError(
            f"a bar length must be a Timeframe or a whole number of milliseconds, got {timeframe!r}"
        )
    if timeframe <= 0:
        raise UserError(f"a bar length must be positive, got {timeframe} ms")
    return int(timeframe)


def bars_per_day(timeframe: Timeframe | int) -> float:
    """Return how many bars of this length make one 24-hour day (``86_400_000 / bar_ms``).

    Parameters
    ----------
    timeframe : Timeframe or int
        The bar length, as a Timeframe or in milliseconds.

    Returns
    -------
    float
        Bars per day; 1440.0 for 1-minute bars, 0.142857... for weekly bars.
    """
    return MS_PER_DAY / bar_ms_of(timeframe)


def periods_per_year(timeframe: Timeframe | int) -> float:
    """Return the annualisation factor of a 24/7 market: ``365 * bars_per_day``.

    Parameters
    ----------
    timeframe : Timeframe or int
        The bar length, as a Timeframe or in milliseconds.

    Returns
    -------
    float
        Bars per year, e.g. 525600.0 for 1-minute bars and 365.0 for daily bars. Pass it as
        ``periods_per_year`` to the annualised metrics (empyrical calls it ``annualization``).
    """
    return DAYS_PER_YEAR * bars_per_day(timeframe)


def infer_bar_ms(timestamps: Any) -> int:
    """Return the bar length of a series of bar open times: their smallest step.

    The smallest step, not the mean or the most common one, is taken because real data has gaps
    (missing candles make some steps longer) but never a step shorter than its timeframe.

    Parameters
    ----------
    timestamps : array_like
        Bar open times, strictly increasing: int64 milliseconds or datetime64 values.

    Returns
    -------
    int
        The bar length in milliseconds.

    Raises
    ------
    UserError
        If there are fewer than two timestamps (one bar has no length to infer).
    DataError
        If the timestamps are not strictly increasing.
    """
    ts = timestamps_ms("timestamps", timestamps)
    if ts.size < 2:
        raise UserError(
            "cannot infer the bar length from fewer than two timestamps: pass timeframe_ms"
        )
    steps = np.diff(ts)
    smallest = int(steps.min())
    if smallest <= 0:
        bad = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise DataError(
            f"timestamps must be strictly increasing, but position {bad} does not come after "
            f"position {bad - 1}"
        )
    return smallest
