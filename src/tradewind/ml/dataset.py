"""A supervised data set from bars: causal features, a target, and which samples may be used.

Samples are the bars where every feature is past its warm-up, the label is defined and (for the
LSTM) a full window of history exists; ``sample_step`` keeps every k-th such bar (the labels of
neighbouring bars overlap almost entirely, so thinning loses little and saves much time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError
from tradewind.ml.features import Feature, FeatureInputs, feature_matrix
from tradewind.ml.labels import Labels, uniqueness_weights

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Dataset:
    """Feature matrix over all bars, and the usable samples with their labels and spans."""

    matrix: FloatArray
    names: tuple[str, ...]
    bars: IntArray
    end: IntArray
    y: IntArray
    uniqueness: FloatArray
    classes: IntArray

    @property
    def x(self) -> FloatArray:
        """Feature rows of the samples."""
        return np.asarray(self.matrix[self.bars], dtype=np.float64)

    @property
    def count(self) -> int:
        """Number of samples."""
        return int(self.bars.shape[0])


def build_dataset(
    inputs: FeatureInputs,
    labels: Labels,
    features: tuple[Feature, ...] | None = None,
    *,
    min_history: int = 0,
    sample_step: int = 1,
    computed: tuple[FloatArray, tuple[str, ...]] | None = None,
) -> Dataset:
    """Compute features and keep the samples that can be trained on and tested.

    ``computed`` is the ``feature_matrix(inputs, features)`` already computed (a study of several
    targets on the same bars computes it once).

    Raises
    ------
    UserError
        If fewer than 200 samples remain (too few to validate anything honestly).
    """
    if sample_step < 1:
        raise UserError(f"sample_step must be >= 1, got {sample_step}")
    if labels.value.shape[0] != len(inputs.bars):
        raise UserError("labels and bars differ in length")
    matrix, names = feature_matrix(inputs, features) if computed is None else computed
    if matrix.shape[0] != len(inputs.bars):
        raise UserError(f"a feature matrix of {matrix.shape[0]} rows for {len(inputs.bars)} bars")
    complete = np.isfinite(matrix).all(axis=1)
    # A window of min_history rows ending at t must be complete too.
    first_complete = int(np.argmax(complete)) if complete.any() else matrix.shape[0]
    usable = complete & labels.defined
    usable[: first_complete + min_history] = False
    bars = np.flatnonzero(usable).astype(np.int64)[::sample_step]
    if bars.shape[0] < 200:
        raise UserError(
            f"only {bars.shape[0]} usable samples in {len(inputs.bars)} bars (features warm up, "
            "labels need the future): use more bars or a shorter horizon"
        )
    end = labels.end[bars]
    y = labels.value[bars].astype(np.int64)
    weights = uniqueness_weights(bars, end, len(inputs.bars))
    # Interior gaps (a bar with a NaN feature mid-series) would break LSTM windows: fill them with
    # the last complete row, which is causal; warm-up rows stay NaN and are never read.
    filled = matrix.copy()
    for j in range(filled.shape[1]):
        col = filled[:, j]
        bad = ~np.isfinite(col)
        bad[:first_complete] = False
        if bad.any():
            idx = np.where(~bad, np.arange(col.shape[0]), 0)
            np.maximum.accumulate(idx, out=idx)
            col[bad] = col[idx[bad]]
    return Dataset(filled, names, bars, end, y, weights, np.unique(y))
