"""The study's targets: price direction, market regime and strategy selection, each a :class:`Labels`.

- ``direction``: triple-barrier labels, barriers ``barrier`` x the volatility expected over the
  horizon (std of the last 100 one-bar log returns x sqrt(horizon), known at t); or fixed-horizon
  UP/DOWN/NEUTRAL with the dead zone stated by the caller.
- ``regime``: the market condition over the next ``horizon`` bars, read as the regime
  (:func:`~tradewind.indicators.regime.classify_regime`) at bar ``t + horizon``: trending (up or
  down), ranging, volatile or quiet. Persistence (today's regime) is the baseline to beat.
- ``strategy``: which rule family earns most over the next ``horizon`` bars if entered at bar t's
  close: flat, the moving-average cross's side (EMA 12 over EMA 48), the Bollinger/RSI mean
  reversion's side (long below the lower band with RSI < 30, short above the upper with RSI >
  70, else flat) or the Donchian breakout's side (close beyond the previous 20-bar channel). These
  are the entry rules of the built-in strategies of the same names, vectorised here from the
  indicators (the ML ring may not import the strategies ring); exits, stops and fees are not
  modelled. Ties go to the first in that order (flat first).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError
from tradewind.indicators import bbands, classify_regime, donchian, ema, rsi
from tradewind.indicators.regime import Regime
from tradewind.ml.labels import (
    DOWN,
    NEUTRAL,
    UP,
    Labels,
    fixed_horizon,
    forward_return,
    triple_barrier,
)
from tradewind.series.bars import BarSeries

FloatArray = npt.NDArray[np.float64]

TARGETS = ("direction", "regime", "strategy")
DIRECTION_NAMES = {DOWN: "down", NEUTRAL: "neutral", UP: "up"}
REGIME_NAMES = {0: "trending", 1: "ranging", 2: "volatile", 3: "quiet"}
STRATEGY_NAMES = {0: "flat", 1: "ma_cross", 2: "bb_rsi_meanrev", 3: "donchian_breakout"}


VOLATILITY_WINDOW = 100
"""One-bar returns in the triple barrier's volatility (a label reads no bar before them)."""


def horizon_volatility(
    close: FloatArray, horizon: int, window: int = VOLATILITY_WINDOW
) -> FloatArray:
    """Std of the last ``window`` one-bar log returns (bar t included) times sqrt(horizon)."""
    r = np.full(close.shape[0], np.nan)
    r[1:] = np.diff(np.log(close))
    out = np.full(close.shape[0], np.nan)
    if close.shape[0] > window:
        view = np.lib.stride_tricks.sliding_window_view(r[1:], window)
        out[window:] = view.std(axis=1, ddof=1) * np.sqrt(horizon)
    return out


def direction_labels(
    bars: BarSeries,
    horizon: int,
    *,
    method: str = "triple_barrier",
    barrier: float = 1.0,
    dead_zone: float | None = None,
) -> Labels:
    """UP/DOWN(/NEUTRAL) labels by triple barrier, or fixed horizon with a dead zone."""
    if method == "triple_barrier":
        vol = horizon_volatility(bars.close, horizon)
        return triple_barrier(
            bars.high, bars.low, bars.close, vol, horizon, up=barrier, down=barrier
        )
    if method == "fixed_horizon":
        if dead_zone is None:
            raise UserError("fixed-horizon labels need a dead zone (a log return, e.g. 0.002)")
        return fixed_horizon(bars.close, horizon, dead_zone)
    raise UserError(f"label method must be triple_barrier or fixed_horizon, got {method!r}")


def regime_labels(bars: BarSeries, horizon: int) -> Labels:
    """Regime (trending/ranging/volatile/quiet) at bar ``t + horizon``; NaN while undefined."""
    code = classify_regime(bars.high, bars.low, bars.close)
    mapping = {
        Regime.TRENDING_UP: 0, Regime.TRENDING_DOWN: 0, Regime.RANGING: 1,
        Regime.VOLATILE: 2, Regime.QUIET: 3,
    }  # fmt: skip
    merged = np.full(code.shape[0], np.nan)
    for regime, value in mapping.items():
        merged[code == regime] = value
    base = forward_return(bars.close, horizon)
    value = np.full(code.shape[0], np.nan)
    value[:-horizon] = merged[horizon:]
    return Labels(value, base.end, horizon)


def rule_positions(bars: BarSeries) -> FloatArray:
    """Per bar, the side (+1/0/-1) of each rule family, columns in :data:`STRATEGY_NAMES` order."""
    c, h, lo = bars.close, bars.high, bars.low
    ma = np.sign(ema(c, 12) - ema(c, 48))
    upper, _, lower = bbands(c, 20)
    strength = rsi(c, 14)
    meanrev = np.where(
        (c < lower) & (strength < 30), 1.0, np.where((c > upper) & (strength > 70), -1.0, 0.0)
    )
    top, _, bottom = donchian(h, lo, 20)
    prev_top = np.concatenate(([np.nan], top[:-1]))
    prev_bottom = np.concatenate(([np.nan], bottom[:-1]))
    breakout = np.where(c > prev_top, 1.0, np.where(c < prev_bottom, -1.0, 0.0))
    out = np.column_stack([np.zeros(c.shape[0]), ma, meanrev, breakout])
    out[~np.isfinite(out)] = 0.0
    return np.asarray(out, dtype=np.float64)


def strategy_labels(bars: BarSeries, horizon: int) -> Labels:
    """Index of the rule family with the best ``side x forward log return`` (flat on ties)."""
    fwd = forward_return(bars.close, horizon)
    earned = rule_positions(bars) * fwd.value[:, None]
    best = np.argmax(np.round(earned, 12), axis=1).astype(np.float64)
    best[~fwd.defined] = np.nan
    return Labels(best, fwd.end, horizon)


def target_labels(
    bars: BarSeries, target: str, horizon: int, **direction: object
) -> tuple[Labels, dict[int, str]]:
    """Labels and class names for one of :data:`TARGETS`."""
    if target == "direction":
        return direction_labels(bars, horizon, **direction), DIRECTION_NAMES  # type: ignore[arg-type]
    if target == "regime":
        return regime_labels(bars, horizon), REGIME_NAMES
    if target == "strategy":
        return strategy_labels(bars, horizon), STRATEGY_NAMES
    raise UserError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")
