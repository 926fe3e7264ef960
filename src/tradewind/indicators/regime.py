"""Market regime per bar (trending up/down, ranging, volatile, quiet) and market breadth.

Rules, applied in this order at every bar t (first match wins); every input is causal:

1. **Undefined** while any input below is still in warm-up (NaN).
2. **Trending up / down** when ``ADX >= adx_trend`` (a directional move exists) and the moving
   average's slope is steep enough: ``(ma[t] - ma[t - slope_period]) / (slope_period * atr[t])
   >= slope_min`` in absolute value, measured in ATRs per bar so one threshold fits every price
   scale. The slope's sign picks up or down.
3. **Volatile** when the ATR percentile or the Bollinger-width percentile is at least
   ``volatile_rank``.
4. **Quiet** when both percentiles are at most ``quiet_rank``.
5. **Ranging** otherwise.

Percentiles are rolling and causal: the share of the last ``rank_window`` values (bar t included)
that are ``<=`` the value at t. ATR enters as ATR / close and Bollinger width as
``(upper - lower) / middle``, so a trend in price level does not read as rising volatility.
Trend is tested before volatility on purpose: a crash is a strong down-trend first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

import numba as nb
import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError, UserError
from tradewind.indicators import _checks
from tradewind.indicators._checks import FloatArray
from tradewind.indicators.overlap import sma
from tradewind.indicators.trend import adx
from tradewind.indicators.volatility import atr, bbands

__all__ = ["Regime", "RegimeParams", "classify_regime", "market_breadth"]


class Regime(IntEnum):
    """Regime codes stored in the int8 array returned by :func:`classify_regime`."""

    UNDEFINED = -1
    TRENDING_UP = 0
    TRENDING_DOWN = 1
    RANGING = 2
    VOLATILE = 3
    QUIET = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class RegimeParams:
    """Thresholds and periods of the regime rules (see the module docstring).

    Attributes
    ----------
    adx_period : int
        ADX period (TA-Lib ADX).
    adx_trend : float
        ADX level from which a move counts as a trend (0..100).
    atr_period : int
        ATR period, used for the volatility percentile and to normalise the slope.
    bb_period, bb_dev : int, float
        Bollinger Band period and width in standard deviations.
    ma_period : int
        SMA period whose slope decides the trend direction.
    slope_period : int
        Bars over which the slope is measured.
    slope_min : float
        Minimum absolute slope, in ATRs per bar, for a trend.
    rank_window : int
        Bars in the rolling percentile window.
    volatile_rank, quiet_rank : float
        Percentile thresholds in (0, 1], with ``quiet_rank < volatile_rank``.
    """

    adx_period: int = 14
    adx_trend: float = 25.0
    atr_period: int = 14
    bb_period: int = 20
    bb_dev: float = 2.0
    ma_period: int = 50
    slope_period: int = 10
    slope_min: float = 0.05
    rank_window: int = 500
    volatile_rank: float = 0.90
    quiet_rank: float = 0.10

    def __post_init__(self) -> None:
        _checks.period("adx_period", self.adx_period, minimum=2)
        _checks.period("atr_period", self.atr_period)
        _checks.period("bb_period", self.bb_period, minimum=2)
        _checks.period("ma_period", self.ma_period, minimum=2)
        _checks.period("slope_period", self.slope_period)
        _checks.period("rank_window", self.rank_window, minimum=2)
        _checks.positive("bb_dev", self.bb_dev)
        _checks.positive("slope_min", self.slope_min)
        if not 0 < self.adx_trend < 100:
            raise UserError(f"adx_trend must be between 0 and 100, got {self.adx_trend}")
        if not 0 < self.quiet_rank < self.volatile_rank <= 1:
            raise UserError(
                "need 0 < quiet_rank < volatile_rank <= 1, got "
                f"quiet_rank={self.quiet_rank}, volatile_rank={self.volatile_rank}"
            )


def rolling_rank(values: FloatArray, window: int) -> FloatArray:
    """Share of the last ``window`` values (t included) that are <= the value at t.

    NaN until ``window`` consecutive non-NaN values are available. O(n * window).
    """
    out = np.empty(values.shape[0])
    _rolling_rank_into(np.ascontiguousarray(values, dtype=np.float64), window, out)
    return out


@nb.njit(cache=True, nogil=True)
def _rolling_rank_into(
    values: FloatArray, window: int, out: FloatArray
) -> None:  # pragma: no cover - numba
    n = values.shape[0]
    out[:] = np.nan
    valid_run = 0
    for t in range(n):
        x = values[t]
        if np.isnan(x):
            valid_run = 0
            continue
        valid_run += 1
        if valid_run < window:
            continue
        count = 0
        for j in range(t - window + 1, t + 1):
            if values[j] <= x:
                count += 1
        out[t] = count / window


@nb.njit(cache=True, nogil=True)
def _classify(
    adx_: FloatArray,
    slope: FloatArray,
    atr_rank: FloatArray,
    bbw_rank: FloatArray,
    adx_trend: float,
    slope_min: float,
    volatile_rank: float,
    quiet_rank: float,
) -> npt.NDArray[np.int8]:  # pragma: no cover - numba
    n = adx_.shape[0]
    out = np.full(n, -1, dtype=np.int8)
    for t in range(n):
        a, s, ar, br = adx_[t], slope[t], atr_rank[t], bbw_rank[t]
        if np.isnan(a) or np.isnan(s) or np.isnan(ar) or np.isnan(br):
            continue
        if a >= adx_trend and abs(s) >= slope_min:
            out[t] = 0 if s > 0 else 1
        elif ar >= volatile_rank or br >= volatile_rank:
            out[t] = 3
        elif ar <= quiet_rank and br <= quiet_rank:
            out[t] = 4
        else:
            out[t] = 2
    return out


def classify_regime(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    params: RegimeParams | None = None,
) -> npt.NDArray[np.int8]:
    """Classify every bar into a :class:`Regime` code.

    Parameters
    ----------
    high, low, close : array_like
        Equal-length, finite 1-D price series (close must be positive).
    params : RegimeParams, optional
        Periods and thresholds; defaults to ``RegimeParams()``.

    Returns
    -------
    numpy.ndarray
        int8 codes (``Regime(code)`` gives the enum member). ``Regime.UNDEFINED`` (-1) during
        warm-up: about ``max(2 * adx_period - 1, ma_period - 1 + slope_period,
        max(atr_period, bb_period - 1) + rank_window - 1)`` bars with the defaults' shape.
    """
    p = params if params is not None else RegimeParams()
    if not isinstance(p, RegimeParams):
        raise UserError(f"params must be a RegimeParams, got {type(p).__name__}")
    h, lo, c = _checks.float_arrays(high=high, low=low, close=close)
    if np.any(c <= 0):
        raise UserError("close must be positive to normalise ATR and Bollinger width")
    adx_ = adx(h, lo, c, p.adx_period)
    atr_ = atr(h, lo, c, p.atr_period)
    ma = sma(c, p.ma_period)
    lagged = np.full_like(ma, np.nan)
    if ma.shape[0] > p.slope_period:
        lagged[p.slope_period :] = ma[: ma.shape[0] - p.slope_period]
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (ma - lagged) / (p.slope_period * atr_)
        # A bar range of zero over the whole ATR window makes the slope undefined, not infinite.
        slope[atr_ == 0] = 0.0
    upper, middle, lower = bbands(c, p.bb_period, p.bb_dev, p.bb_dev)
    atr_rank = rolling_rank(atr_ / c, p.rank_window)
    bbw_rank = rolling_rank((upper - lower) / middle, p.rank_window)
    return _classify(
        adx_, slope, atr_rank, bbw_rank, p.adx_trend, p.slope_min, p.volatile_rank, p.quiet_rank
    )


def market_breadth(
    closes: Mapping[str, npt.ArrayLike] | npt.ArrayLike, period: int = 50
) -> FloatArray:
    """Share of symbols whose close is above their own simple moving average, per bar.

    Parameters
    ----------
    closes : mapping of str to array_like, or 2-D array_like
        Close series of several symbols on one common bar grid: a mapping of equal-length series,
        or an array of shape ``(n_bars, n_symbols)``. Leading NaN marks a symbol not listed yet;
        a NaN after a symbol's first close is refused (forward-fill gaps before calling).
    period : int, default 50
        SMA period (TA-Lib SMA).

    Returns
    -------
    numpy.ndarray
        float64 in [0, 1]: among symbols whose SMA is defined at bar t, the share with
        ``close > sma``. NaN where no symbol has a defined SMA (the first ``period - 1`` bars).
    """
    period = _checks.period("period", period, minimum=2)
    if isinstance(closes, Mapping):
        if not closes:
            raise UserError("closes is empty: give at least one symbol")
        names = [str(k) for k in closes]
        columns = [_checks.float_array(f"closes[{k!r}]", v) for k, v in closes.items()]
        for name, col in zip(names, columns, strict=True):
            if col.shape[0] != columns[0].shape[0]:
                raise UserError(
                    f"closes[{name!r}] has {col.shape[0]} bars but closes[{names[0]!r}] has "
                    f"{columns[0].shape[0]}: align the symbols on one bar grid first"
                )
        matrix = np.column_stack(columns)
    else:
        names = None
        matrix = np.asarray(closes, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] == 0:
            raise UserError(
                f"closes must be a mapping or a 2-D array (n_bars, n_symbols), got shape "
                f"{matrix.shape}"
            )
    above = np.zeros(matrix.shape[0])
    valid = np.zeros(matrix.shape[0])
    for k in range(matrix.shape[1]):
        col = np.ascontiguousarray(matrix[:, k])
        missing = np.isnan(col)
        first = int(np.argmin(missing)) if not missing.all() else col.shape[0]
        if missing[first:].any():
            label = repr(names[k]) if names is not None else f"column {k}"
            raise DataError(
                f"closes {label} has a gap (NaN) at bar {first + int(np.argmax(missing[first:]))}: "
                "only leading NaN (not yet listed) is allowed; forward-fill gaps first"
            )
        avg = sma(col, period)
        defined = ~np.isnan(avg)
        valid += defined
        above += defined & (col > avg)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid > 0, above / np.where(valid > 0, valid, 1.0), np.nan)
