"""Training into the registry, and retraining behind a promotion gate.

:func:`train_and_register` fits, calibrates and scores a classifier on held-out samples, saves it
beside the registry and registers it as a candidate (``tradewind ml train --register``).

:func:`retrain` trains a new version of a registered model on newer candles with the production
version's own recipe (features, target, labels, model settings, from its card) and promotes it
only if it beats the production version out of sample: both are scored on the same samples, the
candidate's scoring part (after its training and calibration parts), which must also lie after
the last bar the production version's training read. No new bars since then: nothing is
compared, the candidate stays a candidate. The gate compares calibrated log loss (the
probabilities the strategies trade and size by); accuracy is reported beside it. The candidate
must also beat the naive baselines of the ML study (majority class, persistence: computed from
its own training part and scored on the same samples) as the study's verdict does, on log loss
and accuracy both: a model no better than a constant guess is never promoted, however much
worse production has become (:func:`promotion_verdict`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tradewind.backtest.results import code_version
from tradewind.core.errors import UserError
from tradewind.ml.artifact import ModelCard, bars_digest, file_digests
from tradewind.ml.calibrated import CalibratedModel, fit_calibrated, holdout_split
from tradewind.ml.dataset import Dataset, build_dataset
from tradewind.ml.features import FeatureInputs, feature
from tradewind.ml.models import BoostingSettings, ForestSettings
from tradewind.ml.study import StudySettings
from tradewind.ml.targets import target_labels
from tradewind.ml.validation import Scores, majority_baseline, persistence_baseline, score
from tradewind.persistence.engine import Engine
from tradewind.persistence.model_registry import (
    RegisteredModel,
    check_model_name,
    next_version,
    promote_model,
    register_model,
    registered_model,
)
from tradewind.series.bars import BarSeries

__all__ = [
    "RetrainOutcome",
    "promotion_verdict",
    "retrain",
    "settings_of",
    "train_and_register",
]


def settings_of(settings: StudySettings, model: str) -> dict[str, object]:
    """The model settings a card records (what :func:`retrain` trains with again)."""
    if model == "random_forest":
        return asdict(settings.forest)
    if model == "lightgbm":
        return asdict(settings.boosting)
    return {"hidden": settings.lstm_hidden, "epochs": settings.lstm_epochs,
            "sequence_length": settings.sequence_length}  # fmt: skip


def train_and_register(
    engine: Engine, models_dir: Path, name: str, bars: BarSeries, ds: Dataset, model: str,
    settings: StudySettings, *, target: str, horizon: int, class_names: dict[int, str],
    parameters: dict[str, Any], holdout: float,
) -> RegisteredModel:  # fmt: skip
    """Fit, calibrate and score a model on ``ds``, save it in ``models_dir/NAME/vN``, and register
    it as a candidate."""
    check_model_name(name)
    last = int(ds.end.max())
    card = ModelCard(
        model_type=model, target=target, horizon=horizon, features=ds.names,
        parameters={**parameters, "holdout": holdout, "settings": settings_of(settings, model)},
        symbol=bars.symbol, timeframe=str(bars.timeframe), data_start_ts=int(bars.ts[0]),
        data_end_ts=int(bars.ts[last]), data_hash=bars_digest(bars),
        code_version=code_version(),
    )  # fmt: skip
    fitted = fit_calibrated(ds, model, settings, card, class_names=class_names, holdout=holdout)
    version = next_version(engine, name)
    folder = models_dir / name / f"v{version}"
    fitted.save(folder)
    return register_model(engine, name=name, version=version, card=fitted.card, folder=folder,
                          files=file_digests(folder))  # fmt: skip


def promotion_verdict(
    candidate: Scores, current: Scores, baselines: dict[str, Scores], current_version: int
) -> tuple[bool, str]:
    """Whether a candidate scored as ``candidate`` replaces production (scored as ``current`` on
    the same samples): a lower log loss than production, and a lower log loss and a higher
    accuracy than every baseline (the study's verdict). The reason names what it failed."""
    if not candidate.log_loss < current.log_loss:
        return False, f"version {current_version} stays in production (it scores as well or better)"
    short = [
        f"{name} (log loss {b.log_loss:.4f}, accuracy {b.accuracy:.4f})"
        for name, b in baselines.items()
        if not (candidate.log_loss < b.log_loss and candidate.accuracy > b.accuracy)
    ]
    if short:
        return False, (
            f"it beats version {current_version} but not the naive baseline {', '.join(short)}; "
            f"version {current_version} stays in production"
        )
    return True, "it beats the production version and the naive baselines out of sample"


@dataclass(frozen=True)
class RetrainOutcome:
    """The new version, the production one it was compared with, and the verdict."""

    candidate: RegisteredModel
    current: RegisteredModel
    samples: int
    candidate_log_loss: float
    current_log_loss: float
    candidate_accuracy: float
    current_accuracy: float
    promoted: bool
    reason: str
    baselines: dict[str, Scores] = field(default_factory=dict)

    def describe(self) -> str:
        """One paragraph for the operator."""
        head = (
            f"{self.candidate.name} version {self.candidate.version} trained on "
            f"{self.candidate.card.symbol} {self.candidate.card.timeframe}"
        )
        if not self.samples:
            return f"{head}; not promoted: {self.reason}"
        verdict = "promoted" if self.promoted else "not promoted"
        return (
            f"{head}; on {self.samples} samples neither model trained on: log loss "
            f"{self.candidate_log_loss:.4f} vs {self.current_log_loss:.4f} (version "
            f"{self.current.version}), accuracy {self.candidate_accuracy:.4f} vs "
            f"{self.current_accuracy:.4f}"
            + "".join(
                f"; baseline {name} log loss {b.log_loss:.4f}, accuracy {b.accuracy:.4f}"
                for name, b in self.baselines.items()
            )
            + f"; {verdict}: {self.reason}"
        )


def _study_settings(card: ModelCard) -> StudySettings:
    saved = dict(card.parameters.get("settings", {}))
    if card.model_type == "random_forest":
        return StudySettings(forest=ForestSettings(**saved))
    if card.model_type == "lightgbm":
        return StudySettings(boosting=BoostingSettings(**saved))
    return StudySettings(lstm_hidden=int(saved["hidden"]), lstm_epochs=int(saved["epochs"]),
                         sequence_length=int(saved["sequence_length"]))  # fmt: skip


def _dataset(card: ModelCard, bars: BarSeries, settings: StudySettings) -> tuple[Dataset, Any]:
    p = card.parameters
    options = {"method": p.get("labels", "triple_barrier"), "barrier": p.get("barrier", 1.0),
               "dead_zone": p.get("dead_zone")}  # fmt: skip
    labels, names = target_labels(
        bars, card.target, card.horizon, **(options if card.target == "direction" else {})
    )
    ds = build_dataset(
        FeatureInputs(bars), labels, tuple(feature(f) for f in card.features),
        min_history=settings.sequence_length - 1, sample_step=int(p.get("sample_step", 1)),
    )  # fmt: skip
    return ds, names


def retrain(engine: Engine, models_dir: Path, name: str, bars: BarSeries) -> RetrainOutcome:
    """Train a new version of ``name`` on ``bars`` and promote it if it beats production.

    Raises
    ------
    UserError
        When ``name`` has no production version, or ``bars`` are another symbol or timeframe.
    """
    current = registered_model(engine, name)
    card = current.card
    if (bars.symbol, str(bars.timeframe)) != (card.symbol, card.timeframe):
        raise UserError(
            f"{name} is a model of {card.symbol} {card.timeframe}; these candles are "
            f"{bars.symbol} {bars.timeframe}"
        )
    settings = _study_settings(card)
    ds, names = _dataset(card, bars, settings)
    holdout = float(card.parameters.get("holdout", 0.3))
    kept = {k: v for k, v in card.parameters.items() if k not in ("settings", "holdout")}
    candidate = train_and_register(
        engine, models_dir, name, bars, ds, card.model_type, settings, target=card.target,
        horizon=card.horizon, class_names=names, parameters=kept, holdout=holdout,
    )  # fmt: skip
    # The candidate's scoring samples, less any the production version's training read.
    split = holdout_split(ds, holdout, 0)
    scoring = split.validate
    scoring = scoring[np.asarray(bars.ts)[ds.bars[scoring]] > card.data_end_ts]
    if scoring.shape[0] < 20:
        return RetrainOutcome(
            candidate, current, 0, float("nan"), float("nan"), float("nan"), float("nan"), False,
            f"fewer than 20 scoring samples lie after version {current.version}'s training data "
            "(retrain on newer candles)",
        )  # fmt: skip
    matrix = ds.matrix
    y = ds.y[scoring]
    rows = ds.bars[scoring]
    scores = {}
    scored = np.ones(scoring.shape[0], dtype=np.bool_)
    for entry in (candidate, current):
        model = CalibratedModel.load_verified(entry.path, entry.sha256, entry.files)
        proba = model.probabilities(matrix, rows)
        known = np.isin(y, model.classes) & np.isfinite(proba).all(axis=1)
        scores[entry.version] = score(y[known], proba[known], model.classes)
        if entry is candidate:
            scored = known
    # The study's baselines, from the candidate's training part, on the samples it was scored on.
    classes = ds.classes
    tested = scoring[scored]
    baselines = {
        "majority class": score(
            ds.y[tested], majority_baseline(ds.y[split.train], tested.shape[0], classes), classes
        ),
        "persistence": score(
            ds.y[tested],
            persistence_baseline(ds.y, ds.bars, ds.end, split.train, tested, classes),
            classes,
        ),
    }
    new, old = scores[candidate.version], scores[current.version]
    promoted, reason = promotion_verdict(new, old, baselines, current.version)
    if promoted:
        candidate = promote_model(engine, name, candidate.version)
    return RetrainOutcome(candidate, current, int(scoring.shape[0]), new.log_loss, old.log_loss,
                          new.accuracy, old.accuracy, promoted, reason, baselines)  # fmt: skip
