"""Monte Carlo on a backtest's trades and returns: how lucky was the path?

Methods (all seeded and vectorised over paths):

- ``shuffle``: the trades in random order. Compounded returns commute, so final equity cannot
  change; only the path does: use it for drawdown and risk of ruin.
- ``bootstrap``: trades drawn with replacement (final equity, per-trade Sharpe, drawdown).
- ``block``: stationary block bootstrap of bar returns (Politis and Romano 1994): blocks with
  geometric lengths keep short-range dependence (volatility clusters); final equity, annualised
  Sharpe, drawdown.
- ``skip``: each trade missed with probability ``skip`` (missed fills, downtime).

Risk of ruin is the share of paths whose drawdown reaches the user's ``ruin`` depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.core.errors import UserError

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


def trade_returns(pnl: npt.ArrayLike, cash: float) -> FloatArray:
    """Each trade's return on the equity before it (trades in order, one position at a time)."""
    values = np.asarray(pnl, dtype=np.float64)
    before = cash + np.concatenate([[0.0], np.cumsum(values)[:-1]])
    if np.any(before <= 0):
        raise UserError("equity reached zero: trade returns are undefined after ruin")
    return values / before


def simulate_trades(
    returns: npt.ArrayLike,
    *,
    method: str,
    cash: float,
    paths: int = 1_000,
    seed: int = 0,
    skip: float = 0.1,
    ruin: float = 0.5,
    confidence: float = 0.95,
) -> MonteCarloResult:
    """Monte Carlo over per-trade returns (``shuffle``, ``bootstrap`` or ``skip``).

    Parameters
    ----------
    returns
        Each trade's return on the equity before it (:func:`trade_returns`).
    method
        ``shuffle``, ``bootstrap`` or ``skip``.
    cash
        Starting equity.
    paths
        Number of simulated paths (>= 1).
    seed
        Random seed: the same seed gives the same paths.
    skip
        Probability of missing each trade (``skip`` only).
    ruin
        Drawdown depth (fraction, e.g. 0.5) that counts as ruin.
    confidence
        Width of the reported intervals (0.95: 2.5th to 97.5th percentile).
    """
    r = np.asarray(returns, dtype=np.float64)
    _check(paths, ruin, confidence)
    if r.ndim != 1 or r.size < 2:
        raise UserError(f"Monte Carlo needs at least 2 trades, got {r.size}")
    rng = np.random.default_rng(seed)
    if method == "shuffle":
        order = np.argsort(rng.random((paths, r.size)), axis=1)
        sample = r[order]
    elif method == "bootstrap":
        sample = r[rng.integers(0, r.size, size=(paths, r.size))]
    elif method == "skip":
        if not 0.0 <= skip < 1.0:
            raise UserError(f"skip must be in [0, 1), got {skip}")
        sample = np.where(rng.random((paths, r.size)) < skip, 0.0, r)
    else:
        raise UserError(f"unknown trade method {method!r}; use shuffle, bootstrap or skip")
    equity = cash * np.cumprod(1.0 + sample, axis=1)
    std = sample.std(axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sharpe = np.where(std > 0, sample.mean(axis=1) / std, np.nan)
    return _result(method, equity, cash, sharpe, paths, seed, ruin, confidence)


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
    chunk: int = 64,
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
    chunk
        Paths generated at once (memory: ``chunk * n`` floats a few times over).
    """
    r = np.asarray(bar_returns, dtype=np.float64)
    _check(paths, ruin, confidence)
    n = r.size
    if n < 10:
        raise UserError(f"the block bootstrap needs at least 10 bar returns, got {n}")
    mean_block = max(1.0, float(block) if block is not None else n ** (1.0 / 3.0))
    rng = np.random.default_rng(seed)
    finals = np.empty(paths)
    worst = np.empty(paths)
    sharpe = np.empty(paths)
    steps = _fan_steps(n)
    fan_rows = np.empty((paths, steps.size))
    t = np.arange(n)
    for begin in range(0, paths, chunk):
        p = min(chunk, paths - begin)
        # A new block starts at each bar with probability 1/L (geometric lengths, mean L).
        new = rng.random((p, n)) < 1.0 / mean_block
        new[:, 0] = True
        starts = rng.integers(0, n, size=(p, n))
        block_at = np.maximum.accumulate(np.where(new, t, 0), axis=1)
        first = np.take_along_axis(starts, block_at, axis=1)
        sample = r[(first + t - block_at) % n]
        equity = cash * np.cumprod(1.0 + sample, axis=1)
        rows = slice(begin, begin + p)
        finals[rows] = equity[:, -1]
        worst[rows] = _max_drawdown(equity, cash)
        std = sample.std(axis=1, ddof=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            sharpe[rows] = np.where(std > 0, sample.mean(axis=1) / std * math.sqrt(annualization),
                                    np.nan)  # fmt: skip
        fan_rows[rows] = equity[:, steps]
    return MonteCarloResult(
        method="block", paths=paths, seed=seed, confidence=confidence, ruin=ruin,
        final_equity=Distribution.of("final_equity", finals, confidence),
        max_drawdown=Distribution.of("max_drawdown", worst, confidence),
        sharpe=Distribution.of("sharpe", sharpe, confidence),
        risk_of_ruin=float(np.mean(worst >= ruin)),
        fan=_fan(fan_rows, steps),
    )  # fmt: skip


def _check(paths: int, ruin: float, confidence: float) -> None:
    if paths < 1:
        raise UserError(f"paths must be >= 1, got {paths}")
    if not 0.0 < ruin <= 1.0:
        raise UserError(f"ruin must be a drawdown fraction in (0, 1], got {ruin}")
    if not 0.0 < confidence < 1.0:
        raise UserError(f"confidence must be in (0, 1), got {confidence}")


def _max_drawdown(equity: FloatArray, cash: float) -> FloatArray:
    """Depth of the worst drawdown of each row (a positive fraction), counting from ``cash``."""
    peaks = np.maximum(np.maximum.accumulate(equity, axis=1), cash)
    return np.asarray(np.max(1.0 - equity / peaks, axis=1), dtype=np.float64)


def _fan_steps(n: int) -> npt.NDArray[np.int64]:
    return np.unique(np.linspace(0, n - 1, min(n, FAN_POINTS)).astype(np.int64))


def _fan(rows: FloatArray, steps: npt.NDArray[np.int64]) -> pd.DataFrame:
    values = np.percentile(rows, FAN_PERCENTILES, axis=0)
    return pd.DataFrame(
        {f"p{int(q)}": values[i] for i, q in enumerate(FAN_PERCENTILES)},
        index=pd.Index(steps + 1, name="step"),
    )


def _result(
    method: str, equity: FloatArray, cash: float, sharpe: FloatArray, paths: int, seed: int,
    ruin: float, confidence: float,
) -> MonteCarloResult:  # fmt: skip
    worst = _max_drawdown(equity, cash)
    steps = _fan_steps(equity.shape[1])
    return MonteCarloResult(
        method=method, paths=paths, seed=seed, confidence=confidence, ruin=ruin,
        final_equity=Distribution.of("final_equity", equity[:, -1], confidence),
        max_drawdown=Distribution.of("max_drawdown", worst, confidence),
        sharpe=Distribution.of("sharpe", sharpe, confidence),
        risk_of_ruin=float(np.mean(worst >= ruin)),
        fan=_fan(equity[:, steps], steps),
    )  # fmt: skip


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
    """Monte Carlo of a backtest (its ``trades`` and ``equity``) by ``method`` (:data:`METHODS`)."""
    if method not in METHODS:
        raise UserError(f"unknown Monte Carlo method {method!r}; use one of {', '.join(METHODS)}")
    if method == "block":
        values = equity.to_numpy(dtype=np.float64)
        return block_bootstrap(
            values[1:] / values[:-1] - 1.0, cash=cash, annualization=annualization,
            paths=paths, seed=seed, block=block, ruin=ruin, confidence=confidence,
        )  # fmt: skip
    returns = trade_returns(trades["pnl"].to_numpy(dtype=np.float64), cash)
    return simulate_trades(
        returns, method=method, cash=cash, paths=paths, seed=seed, skip=skip, ruin=ruin,
        confidence=confidence,
    )  # fmt: skip
