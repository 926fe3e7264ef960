"""Lookahead and recursion analysis: does a strategy peek at the future, and how much warm-up
do its indicators need?

- Lookahead: run the strategy on all bars and on many truncated copies (``bars[:c]``). A causal
  column has the same value at every bar before ``c`` either way; a column that changes at a past
  bar when later bars are added used the future. Each leaking column is named with the first bar
  where it changed. Columns are the strategy's :meth:`~tradewind.strategies.base.Strategy.indicators`
  and its four signal arrays.
- Recursion: run it on copies that start later (``bars[s:]``) and find, per indicator, how many
  bars after the start its values agree with the full run within a relative tolerance: the warm-up
  it needs. A strategy passes when its declared ``warmup`` covers every indicator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.core.errors import UserError
from tradewind.series.bars import BarSeries
from tradewind.strategies.base import Strategy
from tradewind.strategies.guard import strategy_call

FloatArray = npt.NDArray[np.float64]
SIGNAL_COLUMNS = ("entry_long", "exit_long", "entry_short", "exit_short")


def strategy_columns(strategy: Strategy, bars: BarSeries) -> dict[str, FloatArray]:
    """Every column the strategy computes on ``bars``: indicators, then the four signals."""
    columns: dict[str, FloatArray] = {}
    with strategy_call(strategy, "indicators"):
        indicators = strategy.indicators(bars)
    for name, values in indicators.items():
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (len(bars),):
            raise UserError(f"indicator {name!r} has shape {array.shape}, expected ({len(bars)},)")
        columns[name] = array
    with strategy_call(strategy, "signals"):
        arrays = strategy.signals(bars).arrays(len(bars))
    for name, values in zip(SIGNAL_COLUMNS, arrays, strict=True):
        columns[f"signal:{name}"] = values.astype(np.float64)
    return columns


@dataclass(frozen=True)
class Leak:
    """A column that changed at a past bar when future bars were added."""

    column: str
    first_bar: int
    time: str
    truncated_at: int
    full_value: float
    truncated_value: float


@dataclass
class LookaheadReport:
    """Outcome of :func:`lookahead_analysis`."""

    strategy: str
    columns: list[str]
    cuts: list[int]
    leaks: list[Leak] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no column changed at a past bar."""
        return not self.leaks


def _differs(full: FloatArray, part: FloatArray, tolerance: float) -> npt.NDArray[np.bool_]:
    both_nan = np.isnan(full) & np.isnan(part)
    with np.errstate(invalid="ignore"):
        close = np.abs(full - part) <= tolerance * np.maximum(np.abs(full), 1.0)
    return ~(both_nan | close)


def lookahead_analysis(
    strategy: Strategy, bars: BarSeries, *, cuts: int = 20, tolerance: float = 1e-9
) -> LookaheadReport:
    """Find columns of ``strategy`` that use bars after the one they are reported at.

    Parameters
    ----------
    strategy
        A strategy instance (its parameters set).
    bars
        The full history.
    cuts
        How many truncated copies to compare, spread from just after the warm-up to the end.
    tolerance
        Relative difference treated as equal (float rounding of a running sum is not a leak).

    Returns
    -------
    LookaheadReport
        The leaks, earliest bar per column, or none.
    """
    n = len(bars)
    first = min(max(strategy.warmup + 2, 3), n - 1)
    if n < 4 or cuts < 1:
        raise UserError(f"lookahead analysis needs at least 4 bars and 1 cut, got {n} and {cuts}")
    points = sorted({int(c) for c in np.linspace(first, n - 1, cuts)})
    full = strategy_columns(strategy, bars)
    found: dict[str, Leak] = {}
    for cut in points:
        part = strategy_columns(strategy, bars.head(cut))
        for name, values in full.items():
            changed = np.flatnonzero(_differs(values[:cut], part[name], tolerance))
            if changed.size == 0:
                continue
            bar = int(changed[0])
            if name not in found or bar < found[name].first_bar:
                found[name] = Leak(
                    column=name,
                    first_bar=bar,
                    time=pd.Timestamp(int(bars.ts[bar]), unit="ms", tz="UTC").isoformat(),
                    truncated_at=cut,
                    full_value=float(values[bar]),
                    truncated_value=float(part[name][bar]),
                )
    leaks = sorted(found.values(), key=lambda leak: (leak.first_bar, leak.column))
    return LookaheadReport(_label(strategy), list(full), points, leaks)


@dataclass(frozen=True)
class WarmupNeed:
    """How many bars after a start one indicator needs before it matches the full run."""

    column: str
    needed: int
    worst_after_warmup: float
    """Largest relative difference seen after the declared warm-up (0 when stable)."""


@dataclass
class RecursiveReport:
    """Outcome of :func:`recursive_analysis`."""

    strategy: str
    declared_warmup: int
    tolerance: float
    starts: list[int]
    needs: list[WarmupNeed]

    @property
    def passed(self) -> bool:
        """True when the declared warm-up covers what every indicator needs."""
        return all(need.needed <= self.declared_warmup for need in self.needs)


def recursive_analysis(
    strategy: Strategy, bars: BarSeries, *, starts: int = 5, tolerance: float = 1e-2
) -> RecursiveReport:
    """Measure each indicator's warm-up: bars needed before it is stable within ``tolerance``.

    Parameters
    ----------
    strategy
        A strategy instance. Its :meth:`~tradewind.strategies.base.Strategy.indicators` are
        measured (its signals when it exposes none).
    bars
        The history; copies starting at ``starts`` offsets in its first half are compared with it.
    starts
        Number of start offsets.
    tolerance
        Relative difference (to the full run's value) below which a value counts as stable.
    """
    n = len(bars)
    warmup = int(strategy.warmup)
    if n < 4 * max(warmup, 1) + 4:
        raise UserError(
            f"recursive analysis needs at least {4 * max(warmup, 1) + 4} bars for a warm-up of "
            f"{warmup}, got {n}"
        )
    with strategy_call(strategy, "indicators"):
        shown = strategy.indicators(bars)
    full = shown or {
        k: v for k, v in strategy_columns(strategy, bars).items() if k.startswith("signal:")
    }
    offsets = sorted({int(s) for s in np.linspace(1, n // 2, starts)})
    needs: dict[str, WarmupNeed] = {}
    for start in offsets:
        with strategy_call(strategy, "indicators"):
            part_shown = strategy.indicators(bars.slice(start, n))
        part_all = part_shown or {
            k: v
            for k, v in strategy_columns(strategy, bars.slice(start, n)).items()
            if k.startswith("signal:")
        }
        for name, values in full.items():
            column = np.asarray(values, dtype=np.float64)
            reference = column[start:]
            part = np.asarray(part_all[name], dtype=np.float64)
            # Relative to the value, but never to less than the column's typical size: an
            # oscillator crossing zero (MACD) would otherwise look unstable at every crossing.
            scale = np.maximum(np.abs(reference), _typical(column))
            with np.errstate(invalid="ignore", divide="ignore"):
                relative = np.abs(part - reference) / scale
            # A value is stable once both runs agree (both undefined counts as agreeing).
            unstable = ~((np.isnan(part) & np.isnan(reference)) | (relative <= tolerance))
            bad = np.flatnonzero(unstable)
            needed = int(bad[-1]) + 1 if bad.size else 0
            after = relative[warmup:]
            worst = float(np.nanmax(after)) if np.isfinite(after).any() else 0.0
            previous = needs.get(name)
            if previous is None or needed > previous.needed:
                needs[name] = WarmupNeed(name, needed, worst)
            elif worst > previous.worst_after_warmup:
                needs[name] = WarmupNeed(name, previous.needed, worst)
    return RecursiveReport(_label(strategy), warmup, tolerance, offsets, list(needs.values()))


def _typical(column: FloatArray) -> float:
    finite = np.abs(column[np.isfinite(column)])
    return float(np.median(finite)) if finite.size and np.median(finite) > 0 else 1e-12


def _label(strategy: Strategy) -> str:
    return strategy.id or type(strategy).__name__
