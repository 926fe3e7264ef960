"""Drift: are the inputs a model sees now still like the ones it was trained on?

Per feature, two measures between a reference sample (the training rows) and a current one (the
rows seen since):

- **PSI** (population stability index): the current sample binned at the reference's deciles,
  ``sum((a - e) x ln(a / e))`` over the bins' shares (empty bins count as 1e-4). Rules of thumb:
  below 0.1 stable, 0.1-0.25 moderate, above 0.25 a shift.
- **KS**: the two-sample Kolmogorov-Smirnov statistic (largest gap between the two empirical
  distribution functions) and its p-value.

A feature drifts when its PSI exceeds ``psi_limit`` *and* the KS p-value is below ``p_limit``: PSI
alone flags small samples, KS alone flags tiny shifts in large ones. NaN rows (warm-up) are left
out per feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError

FloatArray = npt.NDArray[np.float64]

EMPTY_SHARE = 1e-4
MIN_ROWS = 20


def psi(reference: FloatArray, current: FloatArray, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference`` (finite values only)."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.shape[0] < MIN_ROWS or cur.shape[0] < MIN_ROWS:
        raise UserError(f"PSI needs at least {MIN_ROWS} finite values in each sample")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1))[1:-1])
    expected = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1)
    actual = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1)
    e = np.maximum(expected / ref.shape[0], EMPTY_SHARE)
    a = np.maximum(actual / cur.shape[0], EMPTY_SHARE)
    return float(np.sum((a - e) * np.log(a / e)))


def ks(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (finite values only)."""
    from scipy.stats import ks_2samp

    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.shape[0] < MIN_ROWS or cur.shape[0] < MIN_ROWS:
        raise UserError(f"KS needs at least {MIN_ROWS} finite values in each sample")
    result = ks_2samp(ref, cur)
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """One feature's drift measures and verdict."""

    name: str
    psi: float
    ks: float
    p_value: float
    drifted: bool


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Every feature's measures; :attr:`drifted` names the ones that moved."""

    features: tuple[FeatureDrift, ...]

    @property
    def drifted(self) -> tuple[str, ...]:
        """Names of the features that drifted (empty: the inputs look like the training data)."""
        return tuple(f.name for f in self.features if f.drifted)


def feature_drift(
    reference: FloatArray, current: FloatArray, names: Sequence[str], *,
    psi_limit: float = 0.25, p_limit: float = 0.01,
) -> DriftReport:  # fmt: skip
    """Compare each column of ``current`` with the same column of ``reference``.

    Raises
    ------
    UserError
        When the matrices' columns do not match ``names``.
    """
    if reference.ndim != 2 or current.ndim != 2:
        raise UserError("drift needs two 2-D feature matrices")
    if reference.shape[1] != len(names) or current.shape[1] != len(names):
        raise UserError(
            f"drift: {len(names)} names for {reference.shape[1]} and {current.shape[1]} columns"
        )
    out = []
    for j, name in enumerate(names):
        index = psi(reference[:, j], current[:, j])
        statistic, p_value = ks(reference[:, j], current[:, j])
        out.append(
            FeatureDrift(name, index, statistic, p_value, index > psi_limit and p_value < p_limit)
        )
    return DriftReport(tuple(out))
