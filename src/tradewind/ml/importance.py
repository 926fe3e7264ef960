"""Permutation importance: how much a model's out-of-sample log loss worsens without a feature.

Each feature column of the test rows is shuffled (breaking its link to the label while keeping its
distribution) and the log loss measured again; the increase is the feature's importance. Unlike
impurity importance (which the tree models report from training), it is measured out of sample and
is not inflated for features with many distinct values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from tradewind.ml.validation import score

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def permutation_importance(
    predict_proba: Callable[[FloatArray], FloatArray],
    x: FloatArray,
    y: IntArray,
    classes: IntArray,
    *,
    repeats: int = 3,
    seed: int = 0,
) -> FloatArray:
    """Mean log-loss increase per feature (last axis of ``x``) over ``repeats`` shuffles."""
    rng = np.random.default_rng(seed)
    base = score(y, predict_proba(x), classes).log_loss
    out = np.zeros(x.shape[-1])
    for j in range(x.shape[-1]):
        for _ in range(repeats):
            shuffled = x.copy()
            order = rng.permutation(x.shape[0])
            shuffled[..., j] = x[order][..., j]
            out[j] += score(y, predict_proba(shuffled), classes).log_loss - base
    return out / repeats
