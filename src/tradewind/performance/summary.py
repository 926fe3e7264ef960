"""One flat dictionary of a run's performance, and its monthly-returns table.

:func:`summarize` is what reports print and what the optimiser ranks by: the equity curve's return
metrics, the trade statistics and the same return metrics for buy-and-hold of the traded close,
under key names that do not change (:data:`SUMMARY_KEYS`, always all present; a value that
cannot be computed is NaN, never a missing key).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.performance._bundle import RETURN_METRIC_KEYS, return_metrics
from tradewind.performance._checks import bar_timestamps, equity_array, finite_array
from tradewind.performance.benchmark import buy_and_hold_metrics
from tradewind.performance.returns import (
    DAYS_PER_YEAR,
    bar_ms_of,
    bars_per_day,
    infer_bar_ms,
    periods_per_year,
)
from tradewind.performance.trades import TRADE_STAT_KEYS, trade_statistics

RUN_KEYS = ("start", "end", "bars", "timeframe", "bars_per_day", "annualization",
            "annualization_basis")  # fmt: skip
"""Keys that describe the run itself and how its metrics are annualised."""

BENCHMARK_KEYS = tuple(f"benchmark_{key}" for key in RETURN_METRIC_KEYS)
"""Buy-and-hold's return metrics, each under its strategy key with a ``benchmark_`` prefix."""

SUMMARY_KEYS = (*RUN_KEYS, *RETURN_METRIC_KEYS, *TRADE_STAT_KEYS, *BENCHMARK_KEYS, "excess_return")
"""Every key :func:`summarize` returns, in the order it returns them."""


def _iso(ts_ms: int) -> str:
    return str(pd.Timestamp(ts_ms, unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"))


def summarize(
    equity: npt.ArrayLike,
    timestamps: Any,
    trades: pd.DataFrame | None = None,
    close: npt.ArrayLike | None = None,
    timeframe_ms: Timeframe | int | None = None,
) -> dict[str, float | int | str]:
    """Summarise a run: return metrics, trade statistics and the buy-and-hold benchmark.

    Parameters
    ----------
    equity : array_like of float, shape (n,)
        Account equity at each bar (quote currency), finite, non-negative, positive at the start.
    timestamps : array_like, shape (n,)
        Bar open times, strictly increasing: int64 milliseconds (UTC) or datetime64 values.
    trades : pandas.DataFrame, optional
        Closed trades (columns in :data:`tradewind.performance.trades.TRADE_COLUMNS`); None or
        empty for a run without trades.
    close : array_like of float, shape (n,), optional
        Close of the traded market at each bar, for the benchmark; without it every
        ``benchmark_*`` value and ``excess_return`` are NaN.
    timeframe_ms : Timeframe or int, optional
        Bar length; inferred as the smallest step between timestamps if omitted (a single bar
        then needs it).

    Returns
    -------
    dict
        :data:`SUMMARY_KEYS`, in that order:

        - run: ``start``/``end`` (ISO-8601 UTC open times of the first and last bar), ``bars``,
          ``timeframe`` (e.g. ``"1m"``), ``bars_per_day``, ``annualization`` (periods per year =
          365 x bars per day, the factor every annualised metric uses) and
          ``annualization_basis`` (that rule in words);
        - returns, from per-bar simple returns of the equity: ``initial_equity``,
          ``final_equity``, ``total_return`` (final / initial - 1), ``annual_return`` (CAGR),
          ``annual_volatility``, ``sharpe_ratio``, ``sortino_ratio``, ``calmar_ratio``,
          ``max_drawdown`` (non-positive fraction), ``max_drawdown_duration_bars`` and
          ``max_drawdown_duration_seconds`` (longest time below a previous high),
          ``value_at_risk`` and ``conditional_value_at_risk`` (per bar, 5 % tail),
          ``tail_ratio``, ``stability_of_timeseries``; each equal to the function of the same
          name in :mod:`tradewind.performance.metrics`;
        - trades: the fields of :class:`tradewind.performance.trades.TradeStatistics`, holding
          times as ``avg_holding_seconds`` and ``max_holding_seconds``, ``exposure_time`` over
          the run's bars;
        - benchmark: ``benchmark_`` + each return key, for buy-and-hold of ``close`` with the
          same initial equity, and ``excess_return`` = total return - benchmark total return.

    Raises
    ------
    UserError
        If the arrays differ in length or the bar length cannot be inferred.
    DataError
        If equity, timestamps, close or the trade list break their rules (non-finite values,
        negative equity, times not increasing, unknown trade side, ...).
    """
    values = equity_array(equity)
    ts = bar_timestamps(timestamps, values.size)
    bar_ms = bar_ms_of(timeframe_ms) if timeframe_ms is not None else infer_bar_ms(ts)
    ppy = periods_per_year(bar_ms)
    per_day = bars_per_day(bar_ms)
    out: dict[str, float | int | str] = {
        "start": _iso(int(ts[0])),
        "end": _iso(int(ts[-1])),
        "bars": int(values.size),
        "timeframe": str(Timeframe(bar_ms)),
        "bars_per_day": per_day,
        "annualization": ppy,
        "annualization_basis": f"{DAYS_PER_YEAR} days x {per_day:g} bars per day "
        "(a market open 24/7)",
    }
    out |= return_metrics(values, ts, ppy)
    out |= trade_statistics(trades, ts, bar_ms).as_dict()
    if close is None:
        out |= dict.fromkeys(BENCHMARK_KEYS, float("nan"))
        out["excess_return"] = float("nan")
    else:
        prices = finite_array("close", close)
        if prices.size != values.size:
            raise UserError(
                f"close has {prices.size} values but equity has {values.size}: "
                "give the traded close at every bar of the run"
            )
        bench = buy_and_hold_metrics(prices, ts, bar_ms, initial_equity=float(values[0]))
        out |= {f"benchmark_{key}": value for key, value in bench.items()}
        out["excess_return"] = float(out["total_return"]) - float(bench["total_return"])
    return {key: out[key] for key in SUMMARY_KEYS}


def monthly_returns(equity: npt.ArrayLike, timestamps: Any) -> pd.DataFrame:
    """Return the compounded return of each calendar month (UTC), as a year x month table.

    A bar's return (from the previous bar's equity to its own) belongs to the month of its open
    time, so a month's return is ``E[last bar of the month] / E[last bar before it] - 1``, the
    first month measured from the first bar's equity. This equals compounding the per-bar
    returns within each month (empyrical's ``aggregate_returns(returns, "monthly")``).

    Parameters
    ----------
    equity : array_like of float, shape (n,)
        Account equity at each bar.
    timestamps : array_like, shape (n,)
        Bar open times, strictly increasing: int64 milliseconds (UTC) or datetime64 values.

    Returns
    -------
    pandas.DataFrame
        Index ``year`` (int), columns ``month`` 1..12, values as fractions (0.05 is +5 %); NaN
        for months without a return (before the start, after the end, or fully missing). A
        month after a total loss has return 0. Empty (no rows) for a single bar.
    """
    values = equity_array(equity)
    ts = bar_timestamps(timestamps, values.size)
    columns = pd.Index(range(1, 13), name="month")
    if values.size < 2:
        return pd.DataFrame(index=pd.Index([], dtype=np.int64, name="year"), columns=columns,
                            dtype=np.float64)  # fmt: skip
    months = ts[1:].astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)
    last = np.append(np.flatnonzero(months[1:] != months[:-1]), months.size - 1)
    month_end = values[1:][last]
    base = np.concatenate(([values[0]], month_end[:-1]))
    returns = np.zeros_like(month_end)
    # A base of zero means the account was already wiped out: nothing left to gain or lose.
    np.divide(month_end, base, out=returns, where=base > 0)
    np.subtract(returns, 1.0, out=returns, where=base > 0)
    years = months[last] // 12 + 1970
    month_of_year = months[last] % 12
    first_year = int(years[0])
    table = np.full((int(years[-1]) - first_year + 1, 12), np.nan)
    table[years - first_year, month_of_year] = returns
    index = pd.Index(np.arange(first_year, int(years[-1]) + 1, dtype=np.int64), name="year")
    return pd.DataFrame(table, index=index, columns=columns)
