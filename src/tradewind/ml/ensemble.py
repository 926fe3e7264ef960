"""A weighted vote of classifiers, and the confidence that decides whether it speaks.

- ``soft``: the weighted mean of the members' (calibrated) class probabilities; the confidence is
  the largest of the combined probabilities.
- ``hard``: each member votes for its most likely class with its weight; the confidence is the
  winning class's share of the total weight.

Members are aligned by class label (a member that lacks a class gives it probability 0). A bar
where any member has no prediction has no vote. The vote *decides* only where the confidence
reaches the threshold (0.70 by default): below it the members disagree too much to act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

METHODS = ("soft", "hard")
DEFAULT_THRESHOLD = 0.70


@dataclass(frozen=True, slots=True)
class Vote:
    """Per bar: the combined class shares, the winner, its confidence, and whether it decides."""

    classes: IntArray
    shares: FloatArray
    winner: IntArray
    confidence: FloatArray
    decided: BoolArray

    def share(self, label: int) -> FloatArray:
        """The combined share of class ``label`` per bar (0 if no member knows it; NaN: no vote)."""
        where = np.flatnonzero(self.classes == label)
        if where.shape[0] == 0:
            out = np.zeros(self.shares.shape[0])
            out[np.isnan(self.confidence)] = np.nan
            return out
        return np.asarray(self.shares[:, int(where[0])], dtype=np.float64)


def weighted_vote(
    members: Sequence[tuple[FloatArray, IntArray]],
    weights: Sequence[float] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    method: str = "soft",
) -> Vote:
    """Combine members' ``(probabilities[bars, k], classes[k])`` by a weighted vote.

    Raises
    ------
    UserError
        For no members, mismatched lengths, a weight that is not positive, a threshold outside
        (0, 1] or an unknown method.
    """
    if not members:
        raise UserError("a vote needs at least one member")
    if method not in METHODS:
        raise UserError(f"vote method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 0 < threshold <= 1:
        raise UserError(f"vote threshold must be in (0, 1], got {threshold!r}")
    w = np.ones(len(members)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(members),) or not (np.isfinite(w).all() and (w > 0).all()):
        raise UserError(f"need one positive weight per member ({len(members)}), got {list(w)}")
    n = members[0][0].shape[0]
    if any(p.shape[0] != n or p.shape[1] != c.shape[0] for p, c in members):
        raise UserError("every member needs one probability row per bar and one column per class")
    classes = np.unique(np.concatenate([c for _, c in members])).astype(np.int64)
    shares = np.zeros((n, classes.shape[0]))
    missing = np.zeros(n, dtype=np.bool_)
    for (proba, own), weight in zip(members, w, strict=True):
        missing |= ~np.isfinite(proba).all(axis=1)
        filled = np.nan_to_num(proba)
        columns = np.searchsorted(classes, own)
        if method == "soft":
            shares[:, columns] += weight * filled
        else:
            pick = columns[np.argmax(filled, axis=1)]
            shares[np.arange(n), pick] += weight
    shares /= w.sum()
    shares[missing] = np.nan
    best = np.argmax(np.nan_to_num(shares, nan=-1.0), axis=1)
    confidence = np.where(missing, np.nan, shares[np.arange(n), best])
    with np.errstate(invalid="ignore"):
        decided = confidence >= threshold
    return Vote(classes, shares, classes[best], confidence, decided)
