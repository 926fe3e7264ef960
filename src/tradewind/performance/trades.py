"""Statistics of a closed-trade list: hit rate, pay-off, holding time, exposure and Kelly.

The trade list is a DataFrame with one row per closed round trip and (at least) the columns
``side`` (``"long"``/``"short"``), ``entry_time``, ``exit_time`` (UTC datetimes or int64 ms),
``fees`` and ``pnl`` (quote currency, floats). ``pnl`` is taken as given: the engine reports it
net of fees, and nothing here subtracts the fees a second time. A trade with ``pnl > 0`` is a
win, ``pnl < 0`` a loss, and ``pnl == 0`` neither (it still counts as a trade, so it lowers the
win rate).

Zero trades is a normal outcome (a strategy that never fired), so every statistic has a defined
value for it: counts and sums are 0, and ratios or averages over an empty set are NaN, meaning
"no evidence" rather than a number to rank by.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.core.errors import DataError, UserError
from tradewind.performance._checks import FloatArray, IntArray, timestamps_ms
from tradewind.performance.returns import bar_ms_of, infer_bar_ms

TRADE_COLUMNS = ("side", "entry_time", "exit_time", "fees", "pnl")
"""Columns the statistics read; the engine's trade list carries more (symbol, prices, ...)."""

NAN = float("nan")


@dataclass(frozen=True, slots=True)
class TradeStatistics:
    """Statistics of a list of closed trades (money in the quote currency of the trades).

    Attributes
    ----------
    trade_count, long_count, short_count, win_count, loss_count : int
        Trades in all, by side, and with positive and negative ``pnl``.
    win_rate : float
        ``win_count / trade_count``; NaN without trades.
    profit_factor : float
        ``gross_profit / |gross_loss|``; inf with wins but no loss, NaN with neither.
    expectancy : float
        Mean ``pnl`` per trade, ``W * avg_win + (1 - W) * avg_loss`` when no trade is flat;
        NaN without trades.
    avg_win, avg_loss : float
        Mean ``pnl`` of the wins (positive) and of the losses (negative); NaN without any.
    payoff_ratio : float
        ``avg_win / |avg_loss|``; NaN unless there is at least one win and one loss.
    largest_win, largest_loss : float
        Highest ``pnl`` of a win, lowest of a loss (negative); NaN without any.
    gross_profit, gross_loss, total_pnl, total_fees : float
        Sum of winning ``pnl``, sum of losing ``pnl`` (non-positive), sum of all ``pnl``, sum of
        ``fees``; 0.0 without trades.
    avg_holding_time, max_holding_time : pandas.Timedelta
        Mean and longest ``exit_time - entry_time``; NaT without trades.
    exposure_time : float
        Share of bars (0..1) during which at least one position was open; 0.0 without trades,
        NaN when no bar times were given.
    kelly : float
        Kelly fraction ``W - (1 - W) / R`` with ``W`` the win rate and ``R`` the payoff ratio;
        NaN whenever ``R`` is (no win or no loss to estimate it from).
    """

    trade_count: int
    long_count: int
    short_count: int
    win_count: int
    loss_count: int
    win_rate: float
    profit_factor: float
    expectancy: float
    avg_win: float
    avg_loss: float
    payoff_ratio: float
    largest_win: float
    largest_loss: float
    gross_profit: float
    gross_loss: float
    total_pnl: float
    total_fees: float
    avg_holding_time: pd.Timedelta
    max_holding_time: pd.Timedelta
    exposure_time: float
    kelly: float

    def as_dict(self) -> dict[str, float | int]:
        """Return the statistics as plain numbers, holding times as seconds (``*_seconds``).

        Returns
        -------
        dict
            Every attribute under its own name, except ``avg_holding_time`` and
            ``max_holding_time``, which become ``avg_holding_seconds`` and
            ``max_holding_seconds`` (float, NaN without trades).
        """
        out: dict[str, float | int] = {}
        for key, value in asdict(self).items():
            if key in _HOLDING_FIELDS:
                out[key.replace("_time", "_seconds")] = (
                    NAN if value is pd.NaT else value.total_seconds()
                )
            else:
                out[key] = value
        return out


_HOLDING_FIELDS = ("avg_holding_time", "max_holding_time")

TRADE_STAT_KEYS = tuple(
    f.name.replace("_time", "_seconds") if f.name in _HOLDING_FIELDS else f.name
    for f in fields(TradeStatistics)
)
"""Keys of :meth:`TradeStatistics.as_dict`, in order."""


def _column_ms(trades: pd.DataFrame, name: str) -> IntArray:
    try:
        return timestamps_ms(name, trades[name])
    except UserError as exc:
        raise DataError(f"trade list column {name!r}: {exc}") from exc


def _checked_columns(
    trades: pd.DataFrame,
) -> tuple[npt.NDArray[np.object_], IntArray, IntArray, FloatArray, FloatArray]:
    missing = [c for c in TRADE_COLUMNS if c not in trades.columns]
    if missing:
        raise DataError(
            f"the trade list lacks the column(s) {', '.join(missing)}; it needs "
            f"{', '.join(TRADE_COLUMNS)}"
        )
    side = trades["side"].to_numpy(dtype=object)
    bad_side = ~np.isin(side, ["long", "short"])
    if bad_side.any():
        row = int(np.flatnonzero(bad_side)[0])
        raise DataError(f"trade {row} has side {side[row]!r}; a side is 'long' or 'short'")
    entry = _column_ms(trades, "entry_time")
    exit_ = _column_ms(trades, "exit_time")
    early = exit_ < entry
    if early.any():
        row = int(np.flatnonzero(early)[0])
        raise DataError(f"trade {row} exits before it enters (exit_time < entry_time)")
    numbers = []
    for name in ("pnl", "fees"):
        try:
            values = trades[name].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"trade list column {name!r} must be numeric: {exc}") from exc
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DataError(f"trade {row} has a non-finite {name} ({values[row]})")
        numbers.append(values)
    return side, entry, exit_, numbers[0], numbers[1]


def _profit_factor(gross_profit: float, gross_loss: float) -> float:
    if gross_loss < 0:
        return gross_profit / -gross_loss
    # No losing trade: unbounded when something was won, undefined when nothing was.
    return math.inf if gross_profit > 0 else NAN


def exposure_time(
    trades: pd.DataFrame | None, bar_timestamps: Any, bar_ms: int | None = None
) -> float:
    """Return the share of bars during which at least one trade was open.

    Bar ``i`` covers ``[t_i, t_i + bar_ms)``; a trade covers ``[entry_time, exit_time]``. The bar
    counts as exposed when the two overlap with positive length, so a trade entered at bar k's
    open and closed at bar m's open exposes bars k .. m - 1, and a trade opened and closed inside
    one bar exposes that bar. Overlapping trades (several symbols) count a bar once.

    Parameters
    ----------
    trades : pandas.DataFrame or None
        The trade list (see the module docstring); None or empty for no trades.
    bar_timestamps : array_like, shape (n,)
        Bar open times of the run, strictly increasing (int64 ms or datetime64).
    bar_ms : int, optional
        Bar length in milliseconds; inferred as the smallest step between bar times if omitted.

    Returns
    -------
    float
        Exposed bars / all bars, in [0, 1]; 0.0 without trades, NaN without bars.
    """
    ts = timestamps_ms("bar_timestamps", bar_timestamps)
    if ts.size == 0:
        return NAN
    if trades is None or len(trades) == 0:
        return 0.0
    _, entry, exit_, _, _ = _checked_columns(trades)
    length = bar_ms_of(bar_ms) if bar_ms is not None else infer_bar_ms(ts)
    return _exposure(ts, entry, exit_, length)


def _exposure(ts: IntArray, entry: IntArray, exit_: IntArray, bar_ms: int) -> float:
    # Bar i is exposed iff t_i > entry - bar_ms and t_i < exit, so each trade exposes the bars
    # [first, stop) found by one sorted search per end. The exposed share is the length of the
    # union of those index ranges: with ranges ordered by start, each adds only what reaches
    # past the furthest stop before it. Work is per trade, never per bar.
    first = np.searchsorted(ts, entry - bar_ms, side="right")
    stop = np.searchsorted(ts, exit_, side="left")
    order = np.argsort(first, kind="stable")
    first, stop = first[order], stop[order]
    reach = np.concatenate(([0], np.maximum.accumulate(stop)[:-1]))
    covered = np.clip(stop - np.maximum(first, reach), 0, None)
    return float(covered.sum() / ts.size)


def trade_statistics(
    trades: pd.DataFrame | None,
    bar_timestamps: Any = None,
    bar_ms: int | None = None,
) -> TradeStatistics:
    """Compute the statistics of a closed-trade list.

    Parameters
    ----------
    trades : pandas.DataFrame or None
        One row per closed trade with the columns in :data:`TRADE_COLUMNS`; None or an empty
        frame (with or without columns) means no trades.
    bar_timestamps : array_like, optional
        Bar open times of the run, for :func:`exposure_time`; without them the exposure is NaN.
    bar_ms : int, optional
        Bar length in milliseconds; inferred from ``bar_timestamps`` if omitted.

    Returns
    -------
    TradeStatistics
        See its attributes for each formula and its value on zero trades.

    Raises
    ------
    DataError
        If a column is missing, a side is not long/short, a time is missing or an exit precedes
        its entry, or a pnl/fee is not a finite number.
    """
    if trades is None or len(trades) == 0:
        exposure = NAN if bar_timestamps is None else exposure_time(None, bar_timestamps, bar_ms)
        return TradeStatistics(
            trade_count=0, long_count=0, short_count=0, win_count=0, loss_count=0,
            win_rate=NAN, profit_factor=NAN, expectancy=NAN, avg_win=NAN, avg_loss=NAN,
            payoff_ratio=NAN, largest_win=NAN, largest_loss=NAN, gross_profit=0.0,
            gross_loss=0.0, total_pnl=0.0, total_fees=0.0, avg_holding_time=pd.NaT,
            max_holding_time=pd.NaT, exposure_time=exposure, kelly=NAN,
        )  # fmt: skip
    side, entry, exit_, pnl, fees = _checked_columns(trades)
    count = pnl.size
    win_pnl = pnl[pnl > 0]
    loss_pnl = pnl[pnl < 0]
    gross_profit = float(win_pnl.sum())
    gross_loss = float(loss_pnl.sum())
    win_rate = win_pnl.size / count
    avg_win = float(win_pnl.mean()) if win_pnl.size else NAN
    avg_loss = float(loss_pnl.mean()) if loss_pnl.size else NAN
    payoff = avg_win / abs(avg_loss) if win_pnl.size and loss_pnl.size else NAN
    holding = exit_ - entry
    if bar_timestamps is None:
        exposure = NAN
    else:
        ts = timestamps_ms("bar_timestamps", bar_timestamps)
        length = bar_ms_of(bar_ms) if bar_ms is not None else infer_bar_ms(ts)
        exposure = _exposure(ts, entry, exit_, length) if ts.size else NAN
    return TradeStatistics(
        trade_count=count,
        long_count=int(np.count_nonzero(side == "long")),
        short_count=int(np.count_nonzero(side == "short")),
        win_count=int(win_pnl.size),
        loss_count=int(loss_pnl.size),
        win_rate=win_rate,
        profit_factor=_profit_factor(gross_profit, gross_loss),
        expectancy=float(pnl.mean()),
        avg_win=avg_win,
        avg_loss=avg_loss,
        payoff_ratio=payoff,
        largest_win=float(win_pnl.max()) if win_pnl.size else NAN,
        largest_loss=float(loss_pnl.min()) if loss_pnl.size else NAN,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        total_pnl=float(pnl.sum()),
        total_fees=float(fees.sum()),
        avg_holding_time=pd.Timedelta(float(holding.mean()), unit="ms"),
        max_holding_time=pd.Timedelta(int(holding.max()), unit="ms"),
        exposure_time=exposure,
        kelly=win_rate - (1.0 - win_rate) / payoff if not math.isnan(payoff) else NAN,
    )
