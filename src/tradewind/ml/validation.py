"""Splits that cannot leak, and the metrics every model is reported with beside a naive baseline.

A sample is a bar ``t`` whose label reads bars ``t..end[t]``. Two samples whose spans overlap
share information, so a model trained on one and tested on the other is tested on what it saw.

- **Purging** drops from training every sample whose span overlaps the test window's span.
- **Embargo** also drops the ``embargo`` samples after a test window (serial correlation in the
  features outlives the label span).

For a test window starting at bar ``s``, every training sample before it satisfies
``end[i] + embargo < s``; with ``end[i] = i + horizon`` training ends at least ``horizon +
embargo`` bars before the test window. :func:`unpurged_kfold` is the shuffled K-fold many published
results use; it is here only to show (in the leak test) what it lets through.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Split:
    """Training and test sample positions (indices into the sample arrays), both sorted."""

    train: IntArray
    test: IntArray


def _purge(
    candidates: IntArray, bars: IntArray, end: IntArray, test: IntArray, embargo: int
) -> IntArray:
    """Keep candidates whose span ends before the test window (with embargo) or starts after it."""
    lo = int(bars[test].min())
    hi = int(end[test].max())
    keep = (end[candidates] + embargo < lo) | (bars[candidates] > hi + embargo)
    return candidates[keep]


def _blocks(count: int, groups: int) -> list[IntArray]:
    if groups < 2 or count < groups:
        raise UserError(f"cannot cut {count} samples into {groups} groups")
    return [b.astype(np.int64) for b in np.array_split(np.arange(count), groups)]


def purged_walk_forward(
    bars: IntArray, end: IntArray, *, n_splits: int = 5, embargo: int = 0, min_train: float = 0.3
) -> list[Split]:
    """Expanding-window walk-forward: train on the past only, purged and embargoed.

    Parameters
    ----------
    bars, end : numpy.ndarray
        Per sample, its bar and the last bar its label reads (sorted by bar).
    n_splits : int
        Number of consecutive test windows after the first ``min_train`` share of samples.
    embargo : int
        Extra bars between a training label's end and the test window's first bar.
    min_train : float
        Share of samples in the first training window (0..1).
    """
    count = bars.shape[0]
    if not 0 < min_train < 1:
        raise UserError(f"min_train must be a share in (0, 1), got {min_train!r}")
    first = int(count * min_train)
    splits = []
    for block in _blocks(count - first, n_splits):
        test = block + first
        train = _purge(np.arange(int(test[0]), dtype=np.int64), bars, end, test, embargo)
        if train.shape[0] > 0:
            splits.append(Split(train, test))
    return splits


def combinatorial_purged(
    bars: IntArray, end: IntArray, *, n_groups: int = 6, n_test: int = 2, embargo: int = 0
) -> list[Split]:
    """Combinatorial purged CV: every choice of ``n_test`` of ``n_groups`` blocks as the test set.

    Training uses the other blocks, purged around each test block and embargoed after it.
    """
    if not 1 <= n_test < n_groups:
        raise UserError(f"n_test must be in 1..{n_groups - 1}, got {n_test}")
    blocks = _blocks(bars.shape[0], n_groups)
    splits = []
    for chosen in itertools.combinations(range(n_groups), n_test):
        test = np.concatenate([blocks[g] for g in chosen])
        train = np.concatenate([blocks[g] for g in range(n_groups) if g not in chosen])
        for g in chosen:
            train = _purge(train, bars, end, blocks[g], embargo)
        splits.append(Split(train, test))
    return splits


def unpurged_kfold(count: int, *, n_splits: int = 5, seed: int = 0) -> list[Split]:
    """Shuffled K-fold with no purging: the leaky baseline the leak test contrasts."""
    order = np.random.default_rng(seed).permutation(count).astype(np.int64)
    return [
        Split(np.sort(np.setdiff1d(order, fold)), np.sort(fold))
        for fold in np.array_split(order, n_splits)
    ]


def check_purged(split: Split, bars: IntArray, end: IntArray, embargo: int) -> None:
    """Raise AssertionError if a training span reaches into a test window or its embargo.

    Each contiguous run of test samples is one window ``[first bar, last label end]``; a training
    sample must end more than ``embargo`` bars before it or start more than ``embargo`` after.
    """
    test = np.sort(split.test)
    breaks = np.flatnonzero(np.diff(test) > 1) + 1
    for block in np.split(test, breaks):
        lo, hi = int(bars[block].min()), int(end[block].max())
        train = split.train
        bad = train[~((end[train] + embargo < lo) | (bars[train] > hi + embargo))]
        if bad.shape[0]:
            i = int(bad[0])
            raise AssertionError(
                f"training sample {i} (bars {int(bars[i])}..{int(end[i])}) is within {embargo} "
                f"bars of the test window {lo}..{hi}"
            )


@dataclass(frozen=True, slots=True)
class Scores:
    """Out-of-sample classification scores (log loss natural log; Brier summed over classes)."""

    accuracy: float
    log_loss: float
    auc: float
    brier: float
    count: int


def _one_hot(y: npt.NDArray[np.int64], classes: npt.NDArray[np.int64]) -> FloatArray:
    return (y[:, None] == classes[None, :]).astype(np.float64)


def _auc_binary(score: FloatArray, positive: npt.NDArray[np.bool_]) -> float:
    pos = int(positive.sum())
    neg = positive.shape[0] - pos
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(score.shape[0])
    sorted_scores = score[order]
    # Average ranks over ties (Mann-Whitney U).
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[positive].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def score(y: npt.NDArray[np.int64], proba: FloatArray, classes: npt.NDArray[np.int64]) -> Scores:
    """Accuracy, log loss, macro one-vs-rest AUC and Brier score of probabilities ``proba``.

    ``proba[:, k]`` is the probability of ``classes[k]``; rows are renormalised and clipped at
    1e-15 for the log loss (a certain wrong answer costs about 34.5 nats, not infinity).
    """
    if proba.shape != (y.shape[0], classes.shape[0]):
        raise UserError(f"proba has shape {proba.shape}, expected {(y.shape[0], classes.shape[0])}")
    if y.shape[0] == 0:
        raise UserError("score: no samples")
    p = np.clip(proba, 1e-15, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    truth = _one_hot(y, classes)
    accuracy = float(np.mean(classes[np.argmax(proba, axis=1)] == y))
    log_loss = float(-np.mean(np.log((p * truth).sum(axis=1))))
    brier = float(np.mean(((proba - truth) ** 2).sum(axis=1)))
    aucs = [_auc_binary(proba[:, k], truth[:, k] > 0) for k in range(classes.shape[0])]
    finite = [a for a in aucs if np.isfinite(a)]
    auc = float(np.mean(finite)) if finite else float("nan")
    return Scores(accuracy, log_loss, auc, brier, int(y.shape[0]))


def majority_baseline(
    y_train: npt.NDArray[np.int64], count: int, classes: npt.NDArray[np.int64]
) -> FloatArray:
    """Predict the training class frequencies for every test sample (argmax: the majority)."""
    freq = np.array([np.mean(y_train == c) for c in classes])
    return np.tile(freq, (count, 1))


def persistence_baseline(
    y: npt.NDArray[np.int64],
    bars: IntArray,
    end: IntArray,
    train: IntArray,
    test: IntArray,
    classes: npt.NDArray[np.int64],
) -> FloatArray:
    """Predict the latest label already known at each test bar (its span ended by then).

    Its probability is the training share of samples whose label equals their latest known one;
    the rest is spread over the other classes by training frequency.
    """
    known_end = end.copy()
    # For sample i, the latest sample j whose label had ended by bar i (end[j] <= bar i).
    order = np.argsort(known_end, kind="mergesort")
    pos = np.searchsorted(known_end[order], bars, side="right") - 1
    last = np.where(pos >= 0, y[order[np.maximum(pos, 0)]], -(10**9))
    hit = float(np.mean(last[train] == y[train])) if train.shape[0] else 0.0
    freq = np.array([np.mean(y[train] == c) for c in classes])
    out = np.empty((test.shape[0], classes.shape[0]))
    for row, i in enumerate(test):
        match = classes == last[i]
        if not match.any():
            out[row] = freq
            continue
        rest = np.where(match, 0.0, freq)
        total = rest.sum()
        out[row] = np.where(match, hit, (1.0 - hit) * rest / total if total > 0 else 0.0)
    return out
