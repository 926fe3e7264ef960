"""Train one model on every sample and save it with what is needed to use it on new bars.

The saved folder holds the model (see :mod:`tradewind.ml.models`) and ``pipeline.json``: the
feature names in column order, the scaler fitted on the training rows, the target, its horizon
and class names, and the LSTM's window length. :func:`predict_latest` applies it to the latest
closed bar of a series: the per-bar inference path the benchmarks time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError
from tradewind.ml.dataset import Dataset
from tradewind.ml.features import FeatureInputs, Standardiser, feature, feature_matrix
from tradewind.ml.models import load_model
from tradewind.ml.study import StudySettings, fit_model

FloatArray = npt.NDArray[np.float64]

PIPELINE_FILE = "pipeline.json"


@dataclass(frozen=True, slots=True)
class TrainedPipeline:
    """A fitted model with its features, scaler and target description."""

    model: Any
    scaler: Standardiser
    features: tuple[str, ...]
    target: str
    horizon: int
    class_names: dict[int, str]
    sequence_length: int

    def save(self, folder: Path) -> None:
        """Write the model and ``pipeline.json`` into ``folder``."""
        self.model.save(folder)
        meta = {
            "features": list(self.features),
            "scaler_mean": self.scaler.mean.tolist(),
            "scaler_scale": self.scaler.scale.tolist(),
            "target": self.target,
            "horizon": self.horizon,
            "class_names": {str(k): v for k, v in self.class_names.items()},
            "sequence_length": self.sequence_length,
        }
        (folder / PIPELINE_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path) -> TrainedPipeline:
        """Read a saved pipeline (DataError naming a missing or malformed file)."""
        path = folder / PIPELINE_FILE
        if not path.is_file():
            raise DataError(f"{folder} has no {PIPELINE_FILE}: not saved by `tradewind ml train`")
        try:
            meta = json.loads(path.read_text())
            scaler = Standardiser(
                np.asarray(meta["scaler_mean"], dtype=np.float64),
                np.asarray(meta["scaler_scale"], dtype=np.float64),
            )
            return cls(
                load_model(folder),
                scaler,
                tuple(meta["features"]),
                str(meta["target"]),
                int(meta["horizon"]),
                {int(k): str(v) for k, v in meta["class_names"].items()},
                int(meta["sequence_length"]),
            )
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: malformed ({exc})") from None

    def predict_latest(self, inputs: FeatureInputs) -> FloatArray:
        """Class probabilities at the latest bar of ``inputs`` (features computed causally)."""
        chosen = tuple(feature(name) for name in self.features)
        matrix, _ = feature_matrix(inputs, chosen)
        scaled = self.scaler.transform(matrix[-self.sequence_length :])
        row = scaled[None, :, :] if self.model.name == "lstm" else scaled[-1:]
        return np.asarray(self.model.predict_proba(row)[0], dtype=np.float64)


def train_pipeline(
    ds: Dataset,
    model_name: str,
    settings: StudySettings,
    *,
    target: str,
    horizon: int,
    class_names: dict[int, str],
) -> TrainedPipeline:
    """Fit the scaler and one model on every sample of ``ds`` (uniqueness-weighted, the
    study's bootstrap: :func:`~tradewind.ml.study.fit_model`)."""
    everything = np.arange(ds.count, dtype=np.int64)
    scaler = Standardiser.fit(ds.x)
    scaled = scaler.transform(ds.matrix)
    model = fit_model(model_name, ds, scaled, everything, settings)
    return TrainedPipeline(
        model, scaler, ds.names, target, horizon, class_names, settings.sequence_length
    )
