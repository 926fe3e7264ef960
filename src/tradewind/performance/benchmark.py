"""Buy-and-hold of the traded market: the benchmark every strategy is measured against.

Buying at the first bar's close and holding to the end makes an equity curve proportional to the
close series. It has no fees, slippage or funding: it is the market's own return over the same
bars, the thing a strategy has to beat to be worth running.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError
from tradewind.core.timeframe import Timeframe
from tradewind.performance._bundle import return_metrics
from tradewind.performance._checks import FloatArray, bar_timestamps, finite_array, positive_number
from tradewind.performance.returns import bar_ms_of, infer_bar_ms, periods_per_year


def buy_and_hold_equity(close: npt.ArrayLike, initial_equity: float = 1.0) -> FloatArray:
    """Return the equity of investing ``initial_equity`` at the first close and holding.

    ``E[t] = initial_equity * close[t] / close[0]``.

    Parameters
    ----------
    close : array_like of float, shape (n,)
        Close prices, finite and positive, one per bar.
    initial_equity : float, default 1.0
        Money invested at the first bar.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        The benchmark's equity at each bar; no warm-up.

    Raises
    ------
    DataError
        If a close is missing, not finite or not positive.
    """
    prices = finite_array("close", close)
    if prices.size == 0:
        raise DataError("close is empty: buy-and-hold needs at least one price")
    if (prices <= 0).any():
        bad = int(np.flatnonzero(prices <= 0)[0])
        raise DataError(f"close is not positive ({prices[bad]}) at position {bad}")
    start = positive_number("initial_equity", initial_equity)
    scale: float = start / float(prices[0])
    return prices * scale


def buy_and_hold_metrics(
    close: npt.ArrayLike,
    timestamps: Any,
    timeframe: Timeframe | int | None = None,
    initial_equity: float = 1.0,
) -> dict[str, float | int]:
    """Return the return metrics of buying and holding the close series.

    Parameters
    ----------
    close : array_like of float, shape (n,)
        Close prices of the traded market, one per bar of the run.
    timestamps : array_like, shape (n,)
        Bar open times, strictly increasing (int64 ms or datetime64).
    timeframe : Timeframe or int, optional
        Bar length (a Timeframe or milliseconds) for the annualisation; inferred from the
        timestamps if omitted.
    initial_equity : float, default 1.0
        Money invested at the first bar (scales ``initial_equity`` and ``final_equity`` only).

    Returns
    -------
    dict
        The keys of the strategy's return metrics (``total_return``, ``annual_return``,
        ``sharpe_ratio``, ``max_drawdown``, ``max_drawdown_duration_bars``, ...), computed as in
        :func:`tradewind.performance.summary.summarize`, annualised with
        ``365 * bars_per_day`` periods per year.
    """
    equity = buy_and_hold_equity(close, initial_equity)
    ts = bar_timestamps(timestamps, equity.size)
    bar_ms = infer_bar_ms(ts) if timeframe is None else bar_ms_of(timeframe)
    return return_metrics(equity, ts, periods_per_year(bar_ms))
