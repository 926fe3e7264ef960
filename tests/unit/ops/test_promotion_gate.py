"""The promotion gate: a retrained model replaces production only if it beats production and
both naive baselines of the ML study out of sample."""

from __future__ import annotations

import numpy as np

from tradewind.ml.validation import majority_baseline, score
from tradewind.ops.model_retrain import promotion_verdict

CLASSES = np.array([-1, 0, 1], dtype=np.int64)


def _scores(y: np.ndarray, p_right: float) -> object:
    """Scores of a model that gives the true class ``p_right`` and splits the rest."""
    proba = np.full((y.shape[0], 3), (1 - p_right) / 2)
    proba[np.arange(y.shape[0]), np.searchsorted(CLASSES, y)] = p_right
    return score(y, proba, CLASSES)


def test_beating_production_is_not_enough_without_beating_the_baselines() -> None:
    rng = np.random.default_rng(7)
    y = rng.choice(CLASSES, size=600, p=[0.15, 0.7, 0.15])  # mostly NEUTRAL
    majority = score(y, majority_baseline(y, y.shape[0], CLASSES), CLASSES)
    baselines = {"majority class": majority}
    production = _scores(y, 0.40)
    weak = _scores(y, 0.45)  # better than production, far worse than guessing NEUTRAL
    assert weak.log_loss < production.log_loss
    assert weak.log_loss > majority.log_loss
    promoted, reason = promotion_verdict(weak, production, baselines, 1)
    assert not promoted
    assert "but not the naive baseline majority class" in reason
    strong = _scores(y, 0.9)
    assert promotion_verdict(strong, production, baselines, 1) == (
        True, "it beats the production version and the naive baselines out of sample")  # fmt: skip
    promoted, reason = promotion_verdict(production, strong, baselines, 2)
    assert not promoted
    assert reason.startswith("version 2 stays in production")
