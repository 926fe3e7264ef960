"""Monte Carlo on a backtest's trades and returns: how lucky was the path?

Every path is a sequence of per-bar returns, measured with the performance module's own
definitions (:func:`tradewind.performance.metrics.sharpe_ratio`, annualised over the bars,
and :func:`tradewind.performance.metrics.max_drawdown`, a non-positive fraction), so a path that
reorders nothing reproduces the backtest's Sharpe ratio and maximum drawdown.

The trade methods move whole trades: each closed trade is the stretch of bar returns from its
entry bar to its exit bar (overlapping trades are one stretch), and the bars between trades stay
where they are. Methods (all seeded):

- ``shuffle``: the trades in random order. Compounded returns commute, so final equity cannot
  change; only the path does: use it for drawdown and risk of ruin.
- ``bootstrap``: trades drawn with replacement (final equity, Sharpe, drawdown).
- ``skip``: each trade missed with probability ``skip`` (its bars flat instead: missed fills,
  downtime).
- ``block``: stationary block bootstrap of bar returns (Politis and Romano 1994): blocks with
  geometric lengths keep short-range dependence (volatility clusters).

Risk of ruin is the share of paths whose drawdown reaches the user's ``ruin`` depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.core.errors import UserError
from tradewind.performance import metrics
from tradewind.performance.returns import simple_returns

FloatArray = npt.NDArray[np.float64]
METHODS = ("shuffle", "bootstrap", "block", "skip")
FAN_POINTS = 200
"""Steps at which the fan chart's percentiles are kept (the paths themselves are not)."""
FAN_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)


@dataclass(frozen=True)
class Distribution:
    """A simulated quantity: every path's value and its confidence interval."""

    name: str
    values: FloatArray
    low: float
    median: float
    high: float
    mean: float

    @classmethod
    def of(cls, name: str, values: FloatArray, confidence: float) -> Distribution:
        """Summarise ``values`` with a central ``confidence`` interval (NaN paths ignored)."""
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            nan = float("nan")
            return cls(name, values, nan, nan, nan, nan)
        tail = (1.0 - confidence) / 2.0 * 100.0
        low, median, high = np.percentile(finite, [tail, 50.0, 100.0 - tail])
        return cls(name, values, float(low), float(median), float(high), float(finite.mean()))


@dataclass
class MonteCarloResult:
    """Distributions of final equity, drawdown and Sharpe, risk of ruin, and the fan chart."""

    method: str
    paths: int
    seed: int
    confidence: float
    ruin: float
    final_equity: Distribution
    max_drawdown: Distribution
    sharpe: Distribution
    risk_of_ruin: float
    fan: pd.DataFrame
    """Equity percentiles (columns ``p5``...``p95``) at up to :data:`FAN_POINTS` steps."""

    def summary(self) -> dict[str, object]:
        """A JSON-ready summary."""
        out: dict[str, object] = {
            "method": self.method, "paths": self.paths, "seed": self.seed,
            "confidence": self.confidence, "ruin_drawdown": self.ruin,
            "risk_of_ruin": self.risk_of_ruin,
        }  # fmt: skip
        for dist in (self.final_equity, self.max_drawdown, self.sharpe):
            out[dist.name] = {"low": dist.low, "median": dist.median, "high": dist.high,
                              "mean": dist.mean}  # fmt: skip
        return out


def trade_segments(trades: pd.DataFrame, equity: pd.Series) -> list[tuple[int, int]]:
    """The ``[start, stop)`` ranges of bar returns each closed trade spans, in time order.

    Bar ``j``'s return (``equity[j] / equity[j - 1] - 1``) is return ``j - 1``. A trade entered
    in bar ``k`` and closed in bar ``m`` (the bars holding its entry and exit times) moves the
    returns of bars ``k`` to ``m``: the entry fee and the rest of bar ``k``, through the exit
    (at ``m``'s open or close). Overlapping trades (several symbols) become one range.
    """
    if trades.empty:
        return []
    ts = equity.index.as_unit("ms").asi8 if isinstance(equity.index, pd.DatetimeIndex) else None
    if ts is None:
        raise UserError("the equity curve needs a UTC datetime index to place the trades")
    entry = pd.to_datetime(trades["entry_time"], utc=True).dt.as_unit("ms").astype("int64")
    exit_ = pd.to_datetime(trades["exit_time"], utc=True).dt.as_unit("ms").astype("int64")
    first = np.maximum(np.searchsorted(ts, entry.to_numpy(), side="right") - 2, 0)
    last = np.searchsorted(ts, exit_.to_numpy(), side="right") - 1
    ranges = sorted(zip(first.tolist(), np.maximum(last, first + 1).tolist(), strict=True))
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        stop = min(end, len(ts) - 1)
        if start >= stop:
            continue
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def path_metrics(returns: FloatArray, annualization: float) -> tuple[float, float]:
    """``(sharpe_ratio, max_drawdown)`` of one path of bar returns, as the performance module
    defines them (annualised Sharpe; drawdown as a non-positive fraction)."""
    return metrics.sharpe_ratio(returns, annualization), metrics.max_drawdown(returns)


def simulate_trades(
    bar_returns: npt.ArrayLike,
    segments: list[tuple[int, int]],
    *,
    method: str,
    cash: float,
    annualization: float,
    paths: int = 1_000,
    seed: int = 0,
    skip: float = 0.1,
    ruin: float = 0.5,
    confidence: float = 0.95,
) -> MonteCarloResult:
    """Monte Carlo that moves whole trades (``shuffle``, ``bootstrap`` or ``skip``).

    Parameters
    ----------
    bar_returns
        Simple returns of the backtest's equity curve, bar by bar.
    segments
        Each trade's range of ``bar_returns`` (:func:`trade_segments`); at least 2.
    method
        ``shuffle``, ``bootstrap`` or ``skip``.
    cash
        Starting equity.
    annualization
        Bars per year, for the Sharpe ratio.
    paths
        Number of simulated paths (>= 1).
    seed
        Random seed: the same seed gives the same paths.
    skip
        Probability of missing each trade (``skip`` only; 0 replays the backtest).
    ruin
        Drawdown depth (fraction, e.g. 0.5) that counts as ruin.
    confidence
        Width of the reported intervals (0.95: 2.5th to 97.5th percentile).
    """
    r = np.asarray(bar_returns, dtype=np.float64)
    _check(paths, ruin, confidence)
    k = len(segments)
    if k < 2:
        raise UserError(f"Monte Carlo needs at least 2 trades, got {k}")
    if method not in ("shuffle", "bootstrap", "skip"):
        raise UserError(f"unknown trade method {method!r}; use shuffle, bootstrap or skip")
    if method == "skip" and not 0.0 <= skip < 1.0:
        raise UserError(f"skip must be in [0, 1), got {skip}")
    pieces = [r[a:b] for a, b in segments]
    bounds = [0, *(x for seg in segments for x in seg), r.size]
    gaps = [r[bounds[2 * i] : bounds[2 * i + 1]] for i in range(k + 1)]
    rng = np.random.default_rng(seed)
    finals, worst, sharpe = np.empty(paths), np.empty(paths), np.empty(paths)
    fan_rows = np.empty((paths, FAN_POINTS))
    for p in range(paths):
        if method == "shuffle":
            chosen = [pieces[i] for i in rng.permutation(k)]
        elif method == "bootstrap":
            chosen = [pieces[i] for i in rng.integers(0, k, size=k)]
        else:
            missed = rng.random(k) < skip
            chosen = [np.zeros_like(x) if m else x for x, m in zip(pieces, missed, strict=True)]
        parts = [gaps[0]]
        for piece, gap in zip(chosen, gaps[1:], strict=True):
            parts += [piece, gap]
        path = np.concatenate(parts)
        sharpe[p], worst[p] = path_metrics(path, annualization)
        equity = cash * np.cumprod(1.0 + path)
        finals[p] = equity[-1] if equity.size else cash
        fan_rows[p] = _at_fractions(cash, equity)
    return MonteCarloResult(
        method=method, paths=paths, seed=seed, confidence=confidence, ruin=ruin,
        final_equity=Distribution.of("final_equity", finals, confidence),
        max_drawdown=Distribution.of("max_drawdown", worst, confidence),
        sharpe=Distribution.of("sharpe", sharpe, confidence),
        risk_of_ruin=float(np.mean(worst <= -ruin)),
        fan=_fan(fan_rows, np.arange(FAN_POINTS, dtype=np.int64)),
    )  # fmt: skip


def _at_fractions(cash: float, equity: FloatArray) -> FloatArray:
    """Equity at :data:`FAN_POINTS` evenly spaced fractions of the path (paths may differ in
    length under the bootstrap), the start included."""
    full = np.concatenate(([cash], equity))
    where = np.linspace(0, full.size - 1, FAN_POINTS).round().astype(np.int64)
    return full[where]


def block_bootstrap(
    bar_returns: npt.ArrayLike,
    *,
    cash: float,
    annualization: float,
    paths: int = 1_000,
    seed: int = 0,
    block: float | None = None,
    ruin: float = 0.5,
    confidence: float = 0.95,
) -> MonteCarloResult:
    """Stationary block bootstrap of per-bar returns.

    Parameters
    ----------
    bar_returns
        Simple returns of the equity curve, bar by bar.
    cash
        Starting equity.
    annualization
        Bars per year, for the Sharpe ratio.
    block
        Mean block length in bars (default ``n ** (1/3)``, at least 1).
    paths, seed, ruin, confidence
        As for :func:`simulate_trades`.
    """
    r = np.asarray(bar_returns, dtype=np.float64)
    _check(paths, ruin, confidence)
    n = r.size
    if n < 10:
        raise UserError(f"the block bootstrap needs at least 10 bar returns, got {n}")
    mean_block = max(1.0, float(block) if block is not None else n ** (1.0 / 3.0))
    rng = np.random.default_rng(seed)
    finals, worst, sharpe = np.empty(paths), np.empty(paths), np.empty(paths)
    fan_rows = np.empty((paths, FAN_POINTS))
    t = np.arange(n)
    for p in range(paths):
        # A new block starts at each bar with probability 1/L (geometric lengths, mean L).
        new = rng.random(n) < 1.0 / mean_block
        new[0] = True
        starts = rng.integers(0, n, size=n)
        block_at = np.maximum.accumulate(np.where(new, t, 0))
        sample = r[(starts[block_at] + t - block_at) % n]
        sharpe[p], worst[p] = path_metrics(sample, annualization)
        equity = cash * np.cumprod(1.0 + sample)
        finals[p] = equity[-1]
        fan_rows[p] = _at_fractions(cash, equity)
    return MonteCarloResult(
        method="block", paths=paths, seed=seed, confidence=confidence, ruin=ruin,
        final_equity=Distribution.of("final_equity", finals, confidence),
        max_drawdown=Distribution.of("max_drawdown", worst, confidence),
        sharpe=Distribution.of("sharpe", sharpe, confidence),
        risk_of_ruin=float(np.mean(worst <= -ruin)),
        fan=_fan(fan_rows, np.arange(FAN_POINTS, dtype=np.int64)),
    )  # fmt: skip


def check_settings(*, method: str, paths: int, ruin: float, confidence: float, skip: float) -> None:
    """Refuse bad settings before the backtest the paths are drawn from is run.

    Raises
    ------
    UserError
        For an unknown method, fewer than one path, or a ruin, confidence or skip out of range.
    """
    if method not in METHODS:
        raise UserError(f"unknown Monte Carlo method {method!r}; use one of {', '.join(METHODS)}")
    _check(paths, ruin, confidence)
    if not 0.0 <= skip < 1.0:
        raise UserError(f"skip must be in [0, 1), got {skip}")


def _check(paths: int, ruin: float, confidence: float) -> None:
    if paths < 1:
        raise UserError(f"paths must be >= 1, got {paths}")
    if not 0.0 < ruin <= 1.0:
        raise UserError(f"ruin must be a drawdown fraction in (0, 1], got {ruin}")
    if not 0.0 < confidence < 1.0:
        raise UserError(f"confidence must be in (0, 1), got {confidence}")


def _fan(rows: FloatArray, steps: npt.NDArray[np.int64]) -> pd.DataFrame:
    values = np.percentile(rows, FAN_PERCENTILES, axis=0)
    return pd.DataFrame(
        {f"p{int(q)}": values[i] for i, q in enumerate(FAN_PERCENTILES)},
        index=pd.Index(steps + 1, name="step"),
    )


def monte_carlo(
    trades: pd.DataFrame,
    equity: pd.Series,
    *,
    method: str,
    cash: float,
    annualization: float,
    paths: int = 1_000,
    seed: int = 0,
    skip: float = 0.1,
    block: float | None = None,
    ruin: float = 0.5,
    confidence: float = 0.95,
) -> MonteCarloResult:
    """Monte Carlo of a backtest (its ``trades`` and ``equity``) by ``method`` (:data:`METHODS`).

    Every method draws paths of the backtest's bar returns (see the module docstring); each
    path's Sharpe ratio and maximum drawdown are the performance module's, so ``skip=0`` (or any
    path that reorders nothing) reproduces the backtest's own figures.
    """
    if method not in METHODS:
        raise UserError(f"unknown Monte Carlo method {method!r}; use one of {', '.join(METHODS)}")
    returns = simple_returns(equity.to_numpy(dtype=np.float64))
    if method == "block":
        return block_bootstrap(
            returns, cash=cash, annualization=annualization,
            paths=paths, seed=seed, block=block, ruin=ruin, confidence=confidence,
        )  # fmt: skip
    return simulate_trades(
        returns, trade_segments(trades, equity), method=method, cash=cash,
        annualization=annualization, paths=paths, seed=seed, skip=skip, ruin=ruin,
        confidence=confidence,
    )  # fmt: skip
