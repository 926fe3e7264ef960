"""Walk-forward analysis: optimise on each train window, trade the winner on the window after it.

Windows roll (fixed train length) or are anchored (train always from the first bar). Each test
window runs on the event engine with the bars before it as warm-up history: indicators are ready at
its first bar, and no trade happens before it (``backtest(start=...)``). The test windows' equity
curves, each rescaled to start where the previous one ended, make the stitched out-of-sample curve.
Walk-forward efficiency compares out-of-sample with in-sample annualised return (Pardo). A window
whose train trials all have fewer than ``min_trades`` closed trades, or whose test run has fewer
than :data:`MIN_OOS_TRADES`, is ``insufficient``: shown, never ranked, and left out of the
efficiencies (n/a when no window is left or the in-sample return is <= 0).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tradewind.backtest import prepare, run
from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.optimize.market import Market
from tradewind.optimize.objectives import resolve_objective
from tradewind.optimize.search import MIN_TRADES, optimize
from tradewind.sim.layout import METRICS
from tradewind.strategies.base import Strategy
from tradewind.strategies.registry import load_strategy

MIN_OOS_TRADES = 5
"""Closed trades an out-of-sample window needs before its result counts."""


@dataclass(frozen=True)
class Window:
    """One train/test split, in bar indices (``stop`` exclusive), and what it produced."""

    index: int
    train_start: int
    train_stop: int
    test_start: int
    test_stop: int
    params: dict[str, Any]
    in_sample: dict[str, float]
    out_of_sample: dict[str, float]
    objective_in: float
    objective_out: float
    times: dict[str, str] = field(default_factory=dict)
    first_trade: str | None = None
    """Entry time of the first out-of-sample trade (never before the test window starts)."""
    status: str = "ok"
    """``ok``, or ``insufficient`` when a side has too few closed trades (``reason`` says which):
    such a window is shown but never ranked, and does not enter the efficiencies."""
    reason: str = ""
    efficiency: float = float("nan")
    """OOS annual return / IS annual return; NaN (n/a) when IS <= 0 or the window is
    insufficient."""
    health: dict[str, Any] = field(default_factory=dict)
    """The out-of-sample run's health (:meth:`tradewind.engine.health.RunHealth.as_dict`)."""


@dataclass
class WalkForwardResult:
    """Windows, the stitched out-of-sample equity, efficiency and parameter stability."""

    strategy: str
    objective: str
    anchored: bool
    windows: list[Window]
    oos_equity: pd.Series
    efficiency: float
    """Mean out-of-sample annual return over mean in-sample annual return, over the sufficient
    windows (NaN, n/a, if there is none or the in-sample mean is <= 0)."""
    objective_efficiency: float
    """Mean out-of-sample objective over mean in-sample objective (sufficient windows)."""
    stability: dict[str, dict[str, float]]
    """Per parameter: ``std_of_range`` (std of the chosen values over the declared range),
    ``distinct`` values chosen and ``mode_share`` (share of windows choosing the commonest)."""
    min_trades: int = 0
    min_oos_trades: int = 0

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        start = float(self.oos_equity.iloc[0]) if len(self.oos_equity) else float("nan")
        end = float(self.oos_equity.iloc[-1]) if len(self.oos_equity) else float("nan")
        return {
            "strategy": self.strategy,
            "objective": self.objective,
            "anchored": self.anchored,
            "windows": [w.__dict__ for w in self.windows],
            "min_trades_in_sample": self.min_trades,
            "min_trades_out_of_sample": self.min_oos_trades,
            "insufficient_windows": sum(w.status != "ok" for w in self.windows),
            "oos_total_return": end / start - 1.0,
            "walk_forward_efficiency": self.efficiency,
            "objective_efficiency": self.objective_efficiency,
            "parameter_stability": self.stability,
        }


def bars_of(length: str | int, bar_ms: int, name: str) -> int:
    """A window length in bars, from a bar count (``500``) or a duration (``"7d"``, ``"12h"``)."""
    if isinstance(length, int) or str(length).isdigit():
        bars = int(length)
    else:
        # Our own units first (7d, 12h, 90m, 2w): pandas reads "7d" too but warns that the
        # lowercase day is deprecated, a warning the user did nothing to earn.
        try:
            span_ms = float(Timeframe.parse(str(length)).ms)
        except UserError:
            try:
                span_ms = pd.Timedelta(str(length)) / pd.Timedelta(milliseconds=1)
            except ValueError:
                span_ms = float("nan")
            if not span_ms > 0:  # also NaN: pandas reads "" as no time at all (NaT)
                raise UserError(
                    f"--{name} must be a bar count or a duration like 7d, got {length!r}"
                ) from None
        bars = int(span_ms / bar_ms)
    if bars < 2:
        raise UserError(f"--{name} must span at least 2 bars, got {length!r}")
    return bars


def windows_of(
    n: int, train: int, test: int, step: int, anchored: bool
) -> list[tuple[int, int, int, int]]:
    """``(train_start, train_stop, test_start, test_stop)`` for every window that fits in ``n``."""
    out = []
    test_start = train
    while test_start + test <= n:
        train_start = 0 if anchored else test_start - train
        out.append((train_start, test_start, test_start, test_start + test))
        test_start += step
    if not out:
        raise UserError(
            f"no walk-forward window fits: {n} bars, train {train} + test {test} bars are needed"
        )
    return out


def walk_forward(
    strategy: str | type[Strategy],
    market: Market,
    *,
    train: str | int,
    test: str | int,
    step: str | int | None = None,
    anchored: bool = False,
    sampler: str = "tpe",
    trials: int | None = 50,
    objective: str = "sharpe",
    space: Mapping[str, str] | None = None,
    risk: Mapping[str, Any] | None = None,
    seed: int | None = 0,
    batch: int | None = None,
    period: str = "1h",
    progress: Callable[[int, int], None] | None = None,
    min_trades: int = MIN_TRADES,
    min_oos_trades: int = MIN_OOS_TRADES,
) -> WalkForwardResult:
    """Run a walk-forward analysis.

    Parameters
    ----------
    strategy, market, sampler, trials, objective, space, seed, batch, period
        As for :func:`tradewind.optimize.search.optimize` (each train window is one in-memory
        study with ``trials`` trials).
    risk
        Risk rules (a dict as :func:`tradewind.risk.config.parse_risk` takes) for every train
        trial and every test run; with them the trials run on the event engine.
    train, test, step
        Window lengths in bars or as durations (``"7d"``); ``step`` defaults to ``test`` (test
        windows side by side).
    anchored
        Train from the first bar every time instead of a rolling window.
    progress
        ``progress(done_windows, total_windows)``.
    min_trades
        Closed trades a train-window trial needs to be ranked (as ``optimize --min-trades``).
    min_oos_trades
        Closed trades a test window needs (default :data:`MIN_OOS_TRADES`). A window short on
        either side is ``insufficient``: shown, never ranked, left out of the efficiencies.

    Raises
    ------
    UserError
        When no window fits in the data, or for bad settings.
    """
    cls = load_strategy(strategy) if isinstance(strategy, str) else strategy
    bar_ms = market.series.timeframe.ms
    train_bars = bars_of(train, bar_ms, "train")
    test_bars = bars_of(test, bar_ms, "test")
    step_bars = test_bars if step is None else bars_of(step, bar_ms, "step")
    goal = resolve_objective(objective)
    plan = windows_of(len(market), train_bars, test_bars, step_bars, anchored)
    windows: list[Window] = []
    pieces: list[pd.Series] = []
    for index, (a, b, c, d) in enumerate(plan):
        study = optimize(
            cls, market.window(a, b), sampler=sampler, trials=trials, objectives=(objective,),
            space=space, risk=risk, storage="memory", seed=seed, batch=batch, top_n=0,
            period=period, min_trades=min_trades,
        )  # fmt: skip
        ts = market.series.ts
        times = {"train_start": _iso(ts[a]), "test_start": _iso(ts[c]), "test_end": _iso(ts[d - 1])}
        if not study.best:
            # No train trial earned a rank: nothing to trade out of sample. The OOS curve stays
            # flat (cash held) over this window.
            nan = dict.fromkeys(METRICS, float("nan"))
            windows.append(
                Window(
                    index=index, train_start=a, train_stop=b, test_start=c, test_stop=d,
                    params={}, in_sample=nan, out_of_sample=nan, objective_in=float("nan"),
                    objective_out=float("nan"), times=times, status="insufficient",
                    reason=f"no train trial has {min_trades} closed trades "
                    f"({study.insufficient} trials below, {study.failed} failed)",
                )
            )  # fmt: skip
            flat = pd.Series(1.0, index=pd.to_datetime(ts[c:d], unit="ms", utc=True))
            pieces.append(flat)
            if progress is not None:
                progress(index + 1, len(plan))
            continue
        chosen = study.best[0]
        row = study.trials.set_index("number").loc[chosen["number"]]
        in_sample = {k: float(row[k]) for k in METRICS}
        tested = prepare(
            {market.symbol: market.frame.iloc[a:d]},
            market.spec(start=pd.Timestamp(int(ts[c]), unit="ms", tz="UTC")),
        )
        result = run(cls, tested.with_risk(risk), chosen["all_params"])
        out_sample = {k: float(result.metrics[k]) for k in METRICS}
        scores = goal(np.array([[out_sample[k] for k in METRICS]]))
        status, reason = "ok", ""
        health = result.health
        if health is not None and not health.ok:
            status, reason = "faulted", "; ".join(health.problems)
        elif out_sample["trade_count"] < min_oos_trades:
            status = "insufficient"
            reason = (
                f"{int(out_sample['trade_count'])} closed trades out of sample "
                f"(at least {min_oos_trades} needed)"
            )
        windows.append(
            Window(
                index=index, train_start=a, train_stop=b, test_start=c, test_stop=d,
                params=chosen["params"], in_sample=in_sample, out_of_sample=out_sample,
                objective_in=float(chosen["values"][goal.name]), objective_out=float(scores[0]),
                times=times,
                first_trade=None if result.trades.empty
                else result.trades["entry_time"].min().isoformat(),
                status=status, reason=reason,
                efficiency=_ratio([out_sample["annual_return"]], [in_sample["annual_return"]])
                if status == "ok" else float("nan"),
                health={} if health is None else health.as_dict(),
            )
        )  # fmt: skip
        pieces.append(result.equity)
        if progress is not None:
            progress(index + 1, len(plan))
    ranked = [w for w in windows if w.status == "ok"]
    return WalkForwardResult(
        strategy=cls.name or cls.__name__,
        objective=goal.name,
        anchored=anchored,
        windows=windows,
        oos_equity=stitch(pieces, float(market.cash)),
        efficiency=_ratio([w.out_of_sample["annual_return"] for w in ranked],
                          [w.in_sample["annual_return"] for w in ranked]),
        objective_efficiency=_ratio([w.objective_out for w in ranked],
                                    [w.objective_in for w in ranked]),
        stability=parameter_stability(cls, ranked),
        min_trades=min_trades,
        min_oos_trades=min_oos_trades,
    )  # fmt: skip


def stitch(pieces: Sequence[pd.Series], cash: float) -> pd.Series:
    """Chain equity curves: each is rescaled to start where the previous one ended."""
    level = cash
    parts = []
    for piece in pieces:
        values = piece.to_numpy(dtype=np.float64)
        scaled = values / values[0] * level
        parts.append(pd.Series(scaled, index=piece.index))
        level = float(scaled[-1])
    if not parts:
        return pd.Series(dtype=np.float64, name="oos_equity")
    return pd.concat(parts).rename("oos_equity")


def parameter_stability(
    cls: type[Strategy], windows: Sequence[Window]
) -> dict[str, dict[str, float]]:
    """How much each chosen parameter moves between windows."""
    declared = cls.parameters()
    out: dict[str, dict[str, float]] = {}
    names = sorted({k for w in windows for k in w.params})
    for name in names:
        values = [w.params.get(name) for w in windows]
        distinct = len(set(values))
        mode_share = max(values.count(v) for v in set(values)) / len(values)
        entry = {"distinct": float(distinct), "mode_share": mode_share}
        param = declared.get(name)
        numeric = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if param is not None and param.low is not None and param.high is not None and numeric:
            span = float(param.high - param.low) or 1.0
            entry["std_of_range"] = float(np.std(numeric)) / span
        out[name] = entry
    return out


def _ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """Mean over mean; NaN (n/a) with nothing to average or a non-positive denominator."""
    if not len(numerator) or not len(denominator):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of nothing but NaN
        top, bottom = float(np.nanmean(numerator)), float(np.nanmean(denominator))
    if not np.isfinite(bottom) or bottom <= 0 or not np.isfinite(top):
        return float("nan")
    return top / bottom


def _iso(ms: Any) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").isoformat()
