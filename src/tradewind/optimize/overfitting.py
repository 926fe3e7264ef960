"""How much of a search's best result is luck: the Deflated Sharpe Ratio and the Probability of
Backtest Overfitting.

- Deflated Sharpe Ratio (Bailey and Lopez de Prado, "The Deflated Sharpe Ratio", 2014): the
  probability that the chosen strategy's true Sharpe ratio is above zero, after allowing for the
  number of trials, the spread of their Sharpe ratios, and the skewness and kurtosis of the chosen
  returns. The benchmark is the Sharpe ratio the best of N skill-less trials would reach by luck.
- Probability of Backtest Overfitting (Bailey, Borwein, Lopez de Prado and Zhu, 2015): split the
  periods into S blocks, take every half of them as in-sample and the rest as out-of-sample
  (combinatorially symmetric cross-validation), and count how often the in-sample winner ranks
  below the out-of-sample median.

Sharpe ratios here are per period (not annualised), as both papers use them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError

FloatArray = npt.NDArray[np.float64]
EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """The Sharpe ratio the best of ``n_trials`` skill-less trials is expected to reach.

    ``sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))`` with ``g`` the Euler-Mascheroni
    constant and ``V`` the variance of the trials' Sharpe ratios (per period).
    """
    if n_trials < 1:
        raise UserError(f"n_trials must be >= 1, got {n_trials}")
    if n_trials == 1:
        return 0.0
    first = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    second = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(max(sharpe_variance, 0.0)) * (
        (1.0 - EULER_GAMMA) * first + EULER_GAMMA * second
    )


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark: float, observations: int, skewness: float, kurtosis: float
) -> float:
    """P(true Sharpe > ``benchmark``) given an observed per-period ``sharpe`` over
    ``observations`` periods with this ``skewness`` and (non-excess) ``kurtosis``."""
    if observations < 2:
        raise UserError(f"at least 2 observations are needed, got {observations}")
    denominator = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if denominator <= 0.0:
        return float("nan")
    z = (sharpe - benchmark) * math.sqrt(observations - 1) / math.sqrt(denominator)
    return _NORMAL.cdf(z)


@dataclass(frozen=True)
class DeflatedSharpe:
    """The Deflated Sharpe Ratio and what went into it."""

    dsr: float
    """Probability that the chosen strategy's true Sharpe exceeds the luck benchmark."""
    sharpe: float
    expected_max_sharpe: float
    n_trials: int
    sharpe_variance: float
    observations: int
    skewness: float
    kurtosis: float


def deflated_sharpe_ratio(
    sharpe: float,
    *,
    n_trials: int,
    sharpe_variance: float,
    observations: int,
    skewness: float,
    kurtosis: float,
) -> DeflatedSharpe:
    """The Deflated Sharpe Ratio of a strategy chosen from ``n_trials`` (all per period).

    Parameters
    ----------
    sharpe
        The chosen strategy's per-period Sharpe ratio.
    n_trials
        Number of (independent) trials the choice was made from.
    sharpe_variance
        Variance of the trials' per-period Sharpe ratios.
    observations
        Number of return periods behind ``sharpe``.
    skewness, kurtosis
        Of the chosen strategy's returns; kurtosis is non-excess (3 for a normal distribution).
    """
    benchmark = expected_max_sharpe(n_trials, sharpe_variance)
    dsr = probabilistic_sharpe_ratio(sharpe, benchmark, observations, skewness, kurtosis)
    return DeflatedSharpe(
        dsr, sharpe, benchmark, n_trials, sharpe_variance, observations, skewness, kurtosis
    )


def per_period_sharpe(returns: FloatArray) -> FloatArray:
    """Per-period Sharpe (mean / sample std) of each row of ``returns`` ``(trials, periods)``;
    NaN where the std is zero."""
    matrix = np.atleast_2d(np.asarray(returns, dtype=np.float64))
    std = matrix.std(axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(std > 0, matrix.mean(axis=1) / std, np.nan)


def deflated_sharpe_from_returns(returns: FloatArray, chosen: int) -> DeflatedSharpe:
    """The DSR of trial ``chosen`` among the rows of ``returns`` ``(trials, periods)``.

    Trials with an undefined Sharpe (no variation: e.g. no trades) do not count as trials.
    """
    matrix = np.atleast_2d(np.asarray(returns, dtype=np.float64))
    sharpes = per_period_sharpe(matrix)
    valid = np.isfinite(sharpes)
    if not valid[chosen]:
        raise UserError("the chosen trial's returns do not vary: its Sharpe ratio is undefined")
    row = matrix[chosen]
    centred = row - row.mean()
    sigma = math.sqrt(float(np.mean(centred**2)))
    skewness = float(np.mean(centred**3)) / sigma**3
    kurtosis = float(np.mean(centred**4)) / sigma**4
    count = int(valid.sum())
    variance = float(np.var(sharpes[valid], ddof=1)) if count > 1 else 0.0
    return deflated_sharpe_ratio(
        float(sharpes[chosen]),
        n_trials=count,
        sharpe_variance=variance,
        observations=row.size,
        skewness=skewness,
        kurtosis=kurtosis,
    )


@dataclass(frozen=True)
class Overfitting:
    """The outcome of combinatorially symmetric cross-validation.

    Attributes
    ----------
    pbo
        Share of splits whose in-sample best trial ranks at or below the out-of-sample median.
    logits
        ``ln(w / (1 - w))`` per split, ``w`` the in-sample winner's relative out-of-sample rank.
    is_sharpe, oos_sharpe
        The in-sample winner's Sharpe in and out of sample, per split (degradation).
    probability_of_loss
        Share of splits where the in-sample winner loses out of sample (Sharpe < 0).
    partitions, combinations
        ``S`` blocks and the number of splits evaluated.
    """

    pbo: float
    logits: FloatArray
    is_sharpe: FloatArray
    oos_sharpe: FloatArray
    probability_of_loss: float
    partitions: int
    combinations: int


def probability_of_backtest_overfitting(
    returns: FloatArray,
    *,
    partitions: int = 16,
    max_combinations: int = 2_000,
    seed: int = 0,
) -> Overfitting:
    """PBO of choosing the best Sharpe among the trials whose returns are the rows of ``returns``.

    Parameters
    ----------
    returns
        ``(trials, periods)`` per-period returns of every trial, on the same periods.
    partitions
        ``S``, an even number of blocks the periods are cut into (trailing periods that do not
        fill a block are dropped); it is lowered to the periods available.
    max_combinations
        Above this many of the ``C(S, S/2)`` splits, a seeded random subset is used.
    seed
        Seed of that subset.

    Raises
    ------
    UserError
        With fewer than 2 trials or fewer than 4 periods.
    """
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] < 2:
        raise UserError("PBO needs the returns of at least 2 trials")
    trials, periods = matrix.shape
    blocks = min(partitions, periods) // 2 * 2
    if blocks < 4:
        raise UserError(f"PBO needs at least 4 periods, got {periods}")
    size = periods // blocks
    cut = matrix[:, : size * blocks].reshape(trials, blocks, size)
    sums = cut.sum(axis=2).T  # (S, N)
    squares = (cut**2).sum(axis=2).T
    splits = _splits(blocks, max_combinations, seed)
    chosen = np.zeros((len(splits), blocks))
    for i, split in enumerate(splits):
        chosen[i, list(split)] = 1.0
    half = blocks // 2 * size
    is_sharpe = _sharpe(chosen @ sums, chosen @ squares, half)
    oos_sharpe = _sharpe((1.0 - chosen) @ sums, (1.0 - chosen) @ squares, half)
    winner = np.argmax(np.where(np.isfinite(is_sharpe), is_sharpe, -np.inf), axis=1)
    rows = np.arange(len(splits))
    best_oos = oos_sharpe[rows, winner]
    finite_oos = np.where(np.isfinite(oos_sharpe), oos_sharpe, -np.inf)
    below = (finite_oos < best_oos[:, None]).sum(axis=1)
    ties = (finite_oos == best_oos[:, None]).sum(axis=1) - 1
    # Rank 1..N of the winner out of sample (ties share the average rank), relative to N + 1.
    omega = (below + 0.5 * ties + 1.0) / (trials + 1.0)
    logits = np.log(omega / (1.0 - omega))
    return Overfitting(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        is_sharpe=is_sharpe[rows, winner],
        oos_sharpe=best_oos,
        probability_of_loss=float(np.mean(best_oos < 0.0)),
        partitions=blocks,
        combinations=len(splits),
    )


def _splits(blocks: int, limit: int, seed: int) -> list[tuple[int, ...]]:
    total = math.comb(blocks, blocks // 2)
    if total <= limit:
        return list(itertools.combinations(range(blocks), blocks // 2))
    rng = np.random.default_rng(seed)
    picked: set[tuple[int, ...]] = set()
    while len(picked) < limit:
        picked.add(tuple(sorted(rng.choice(blocks, blocks // 2, replace=False).tolist())))
    return sorted(picked)


def _sharpe(sums: FloatArray, squares: FloatArray, count: int) -> FloatArray:
    mean = sums / count
    variance = (squares - count * mean**2) / (count - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(variance > 0, mean / np.sqrt(np.maximum(variance, 0.0)), np.nan)
