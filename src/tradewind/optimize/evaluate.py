"""Score batches of parameter sets: on the screening kernel where it can, on the event engine
where it cannot (with a warning that says why), and re-check the best on the event engine.

One kernel call scores a whole batch. Crossover strategies (SMA/EMA cross, long only) take the
compiled crossing sweep: each average is computed once per period and the crossings are made
inside the kernel. Any other strategy computes its signals in Python per set, stacked into one
``(k, n)`` array for a single kernel call. Every trial keeps its per-period returns (equity at
period ends), which the overfitting statistics need.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.backtest import PreparedRun, prepare, run
from tradewind.backtest.result import BacktestResult
from tradewind.core.errors import UserError
from tradewind.indicators.overlap import ema, sma
from tradewind.optimize import _sweeps
from tradewind.optimize.market import Market
from tradewind.optimize.space import split_point
from tradewind.sim.layout import METRICS
from tradewind.sim.screening import unsupported_reason
from tradewind.strategies.base import TIE_TOLERANCE, Strategy
from tradewind.strategies.builtin.ma_cross import EmaCross, SmaCross
from tradewind.strategies.guard import strategy_call

FloatArray = npt.NDArray[np.float64]
log = logging.getLogger(__name__)

CROSSOVER_LINES: dict[type[Strategy], Callable[[FloatArray, int], FloatArray]] = {
    SmaCross: sma,
    EmaCross: ema,
}
"""Strategies whose signals are the crossings of one line family at two periods (``fast``,
``slow``): they are swept without materialising signals. The top-N event-engine check keeps
this shortcut honest."""

KERNEL, EVENT, INVALID = "kernel", "event", "invalid"
KERNEL_HEALTH = (
    "health: ok - screening kernel (it refuses before the run any setup in which an order "
    "could be rejected)"
)
"""The health of a kernel-scored trial: the kernel tracks fills, not orders."""
SIGNAL_BATCH = 512
"""Signal sets stacked per kernel call (bounded memory: ``SIGNAL_BATCH * n`` booleans, twice)."""


class KernelFallbackWarning(UserWarning):
    """Trials ran on the event engine because the kernel cannot express them (the reason given)."""


class EngineMismatchError(RuntimeError):
    """The kernel and the event engine disagree on a trial: a bug in one of them."""


@dataclass
class Evaluation:
    """Scores of one batch, row ``j`` for point ``j``.

    Attributes
    ----------
    metrics
        ``(k, 8)`` in the order of :data:`tradewind.sim.layout.METRICS` (NaN rows for invalid sets).
    returns
        ``(k, p)`` simple returns between consecutive period ends.
    engines
        ``"kernel"``, ``"event"`` or ``"invalid"`` per point.
    errors
        Why a point is invalid (e.g. ``fast must be below slow``), else None.
    health
        The run's health headline per point (:meth:`tradewind.engine.health.RunHealth.headline`);
        kernel-scored points say so (the kernel refuses any setup in which an order could be
        rejected), invalid points are empty.
    """

    metrics: FloatArray
    returns: FloatArray
    engines: list[str]
    errors: list[str | None]
    health: list[str] = field(default_factory=list)


@dataclass
class Evaluator:
    """Scores parameter sets of one strategy on one market.

    Parameters
    ----------
    strategy
        The strategy class.
    market
        Candles and account settings.
    fixed
        Parameter values that every point shares (the space's fixed values).
    risk
        Base risk settings (a dict as :func:`tradewind.risk.config.parse_risk` takes); with it,
        or with ``risk.*`` dimensions in the points, trials need the event engine.
    period
        Length of the periods whose returns each trial keeps (``"1h"``).
    start
        First bar that may trade; earlier bars are warm-up only.
    """

    strategy: type[Strategy]
    market: Market
    fixed: Mapping[str, Any] = field(default_factory=dict)
    risk: Mapping[str, Any] | None = None
    period: str = "1h"
    start: int = 0
    fallbacks: dict[str, int] = field(default_factory=dict)
    _lines: dict[tuple[type[Strategy], int], FloatArray] = field(default_factory=dict, repr=False)
    _prepared: PreparedRun | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.ends = self.market.period_ends(self.period, self.start)
        if self.ends.size == 0:
            raise UserError("too few bars after the start to measure any period return")
        self._static_reason = unsupported_reason(
            self.market.instrument,
            shorts=False,
            hooks=self.strategy.wants_bar_callback(),
            latency_ms=0,
            max_participation=0.0,
        )

    @property
    def periods(self) -> int:
        """How many period returns each trial keeps."""
        return int(self.ends.size)

    def evaluate(self, points: Sequence[Mapping[str, Any]]) -> Evaluation:
        """Score ``points`` (parameter dicts, ``risk.*`` keys allowed), one kernel call per batch."""
        k = len(points)
        metrics = np.full((k, len(METRICS)), np.nan)
        returns = np.full((k, self.periods), np.nan)
        engines = [INVALID] * k
        errors: list[str | None] = [None] * k
        instances: dict[int, Strategy] = {}
        on_event: list[int] = []
        for j, point in enumerate(points):
            params, risk = split_point(point)
            try:
                instances[j] = self.strategy(**{**self.fixed, **params})
            except UserError as exc:
                errors[j] = str(exc)
                continue
            if risk or self.risk is not None:
                self._fallback("risk settings (sizing, stops, limits) need the risk engine", 1)
                on_event.append(j)
            elif self._static_reason is not None:
                self._fallback(self._static_reason, 1)
                on_event.append(j)
        on_kernel = [j for j in instances if j not in set(on_event)]
        crossing = [j for j in on_kernel if self._crossing_ok(instances[j])]
        signal_sets = [j for j in on_kernel if j not in set(crossing)]
        if crossing:
            self._run_crossings(instances, crossing, metrics, returns)
        on_event += self._run_signals(instances, signal_sets, metrics, returns)
        health = [""] * k
        for j in crossing + signal_sets:
            engines[j] = KERNEL
            health[j] = KERNEL_HEALTH
        for j in on_event:
            params, risk = split_point(points[j])
            metrics[j], returns[j], result = self.run_event({**self.fixed, **params}, risk)
            engines[j] = EVENT
            health[j] = "" if result.health is None else result.health.headline()
            if result.health is not None and not result.health.ok:
                # A run with problems is never scored: what it reports, it did not earn.
                errors[j] = "the run had problems: " + "; ".join(result.health.problems)
        return Evaluation(metrics, returns, engines, errors, health)

    def run_event(
        self, params: Mapping[str, Any], risk: Mapping[str, Any] | None = None
    ) -> tuple[FloatArray, FloatArray, BacktestResult]:
        """Run one set on the event engine; return its metrics row, period returns and result."""
        merged = _merge(dict(self.risk or {}), dict(risk or {})) if (risk or self.risk) else None
        if self._prepared is None:
            # Resolved once (bars, price grid, instrument, window): every re-run reuses it.
            start = None
            if self.start > 0:
                start = pd.Timestamp(int(self.market.series.ts[self.start]), unit="ms", tz="UTC")
            self._prepared = prepare(
                {self.market.symbol: self.market.frame}, self.market.spec(start=start)
            )
        result = run(self.strategy, self._prepared.with_risk(merged), params)
        row = np.array([float(result.metrics[name]) for name in METRICS])
        equity = result.equity.to_numpy(dtype=np.float64)
        # The event engine's curve starts at the first tradable bar; align it with the bars.
        full = np.empty(len(self.market))
        full[self.start :] = equity[-(len(self.market) - self.start) :]
        out = np.empty(self.periods)
        _sweeps._period_returns(full, self.start, self.ends, out)
        return row, out, result

    def _fallback(self, reason: str, count: int) -> None:
        if reason not in self.fallbacks:
            message = f"trials run on the event engine (slower): {reason}"
            warnings.warn(message, KernelFallbackWarning, stacklevel=3)
            log.warning(message)
        self.fallbacks[reason] = self.fallbacks.get(reason, 0) + count

    def _crossing_ok(self, instance: Strategy) -> bool:
        # The crossing sweep is long only without funding: a market with leverage, volatility
        # slippage or funding runs the strategy's own signals through the kernel.
        return (
            type(instance) in CROSSOVER_LINES
            and not bool(getattr(instance, "short", False))
            and not self.market.two_sided
        )

    def _line(self, kind: type[Strategy], period: int) -> FloatArray:
        cached = self._lines.get((kind, period))
        if cached is None:
            cached = CROSSOVER_LINES[kind](self.market.series.close, period)
            self._lines[(kind, period)] = cached
        return cached

    def _run_crossings(
        self,
        instances: Mapping[int, Strategy],
        rows: list[int],
        metrics: FloatArray,
        returns: FloatArray,
    ) -> None:
        series = self.market.series
        by_kind: dict[type[Strategy], list[int]] = {}
        for j in rows:
            by_kind.setdefault(type(instances[j]), []).append(j)
        for kind, chosen in by_kind.items():
            fast = [int(instances[j].fast) for j in chosen]  # type: ignore[attr-defined]
            slow = [int(instances[j].slow) for j in chosen]  # type: ignore[attr-defined]
            periods = sorted(set(fast) | set(slow))
            column = {p: c for c, p in enumerate(periods)}
            lines = np.stack([self._line(kind, p) for p in periods])
            out, rets = _sweeps.sweep_crossings(
                series.open, series.high, series.low, series.close, lines,
                np.array([column[p] for p in fast], dtype=np.int64),
                np.array([column[p] for p in slow], dtype=np.int64),
                self.start, self.market.settings, TIE_TOLERANCE, self.ends,
            )  # fmt: skip
            metrics[chosen] = out
            returns[chosen] = rets

    def _run_signals(
        self,
        instances: Mapping[int, Strategy],
        rows: list[int],
        metrics: FloatArray,
        returns: FloatArray,
    ) -> list[int]:
        """Run signal sets on the kernel in stacked batches; return the rows that need events."""
        series = self.market.series
        n = len(series)
        two_sided = self.market.two_sided
        needs_event: list[int] = []
        for begin in range(0, len(rows), SIGNAL_BATCH):
            chunk = rows[begin : begin + SIGNAL_BATCH]
            signals = np.zeros((4 if two_sided else 2, len(chunk), n), dtype=np.bool_)
            kept: list[int] = []
            for j in chunk:
                with strategy_call(instances[j], "signals"):
                    arrays = instances[j].signals(series).arrays(n)
                shorts = bool(arrays[2].any() or arrays[3].any())
                if shorts and (not two_sided or self.market.instrument.is_spot):
                    self._fallback(
                        "short signals on a market the long-only sweep serves (spot, or a "
                        "perpetual at 1x without funding)",
                        1,
                    )
                    needs_event.append(j)
                    continue
                for side in range(signals.shape[0]):
                    signals[side, len(kept)] = arrays[side]
                kept.append(j)
            if not kept:
                continue
            if two_sided:
                # Leverage, volatility slippage or funding: long/short signals, as a backtest's.
                out, rets = _sweeps.sweep_two_sided(
                    series.open, series.high, series.low, series.close, series.ts,
                    np.ascontiguousarray(signals[:, : len(kept)]), self.start,
                    self.market.settings, self.ends, self.market.funding_arrays(),
                )  # fmt: skip
            else:
                out, rets = _sweeps.sweep_signals(
                    series.open, series.high, series.low, series.close, signals[0, : len(kept)],
                    signals[1, : len(kept)],
                    self.start, self.market.settings, self.ends,
                )  # fmt: skip
            metrics[kept] = out
            returns[kept] = rets
        return needs_event


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            base[key] = _merge(dict(base[key]), value)
        else:
            base[key] = value
    return base


@dataclass(frozen=True)
class ParityRow:
    """One top-N trial on both engines."""

    number: int
    params: dict[str, Any]
    engine: str
    kernel_final_equity: float
    event_final_equity: float
    kernel_trades: int
    event_trades: int
    kernel_sharpe: float
    event_sharpe: float
    problems: list[str] = field(default_factory=list)
    """What went wrong in the event-engine run (its health); a trial with problems is not ranked."""


def verify_on_event_engine(
    evaluator: Evaluator,
    numbers: Sequence[int],
    points: Sequence[Mapping[str, Any]],
    metrics: FloatArray,
    engines: Sequence[str],
    *,
    rtol: float = 1e-6,
) -> list[ParityRow]:
    """Re-run trials on the event engine and compare with their search scores.

    Raises
    ------
    EngineMismatchError
        When a kernel-scored trial's trade count or final equity differs from the event engine's
        (beyond ``rtol``): a bug, never a tolerance to widen.
    """
    rows: list[ParityRow] = []
    for number, point, row, engine in zip(numbers, points, metrics, engines, strict=True):
        params, risk = split_point(point)
        event, _, result = evaluator.run_event({**evaluator.fixed, **params}, risk)
        parity = ParityRow(
            number=int(number),
            params=dict(point),
            engine=engine,
            kernel_final_equity=float(row[0]),
            event_final_equity=float(event[0]),
            kernel_trades=int(row[7]),
            event_trades=int(event[7]),
            kernel_sharpe=float(row[2]),
            event_sharpe=float(event[2]),
            problems=[] if result.health is None else result.health.problems,
        )
        same_trades = parity.kernel_trades == parity.event_trades
        same_equity = abs(row[0] - event[0]) <= rtol * max(abs(event[0]), 1.0)
        if not (same_trades and same_equity):
            raise EngineMismatchError(
                f"trial {number} {dict(point)}: the {engine} scored {parity.kernel_trades} trades "
                f"and final equity {parity.kernel_final_equity:.10g}, the event engine "
                f"{parity.event_trades} trades and {parity.event_final_equity:.10g}"
            )
        rows.append(parity)
    return rows
