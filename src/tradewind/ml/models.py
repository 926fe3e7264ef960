"""Models behind one small interface: fit, predict_proba (classifiers) or predict, save, load.

Every model saves into a folder: ``model.json`` (its type, settings and classes) beside the
fitted state in a format that cannot run code when read: scikit-learn through skops (only the
types listed in :data:`_SKOPS_TRUSTED` are accepted), LightGBM as its text model, the LSTM as a
torch state dict read with ``weights_only=True``. Nothing is ever pickled.

A random-forest classifier is also saved compiled, as an ONNX graph (``forest.onnx``, through
skl2onnx: a protobuf of tree tables, no code), and a loaded one predicts through ONNX Runtime
(one thread): a fraction of a millisecond per bar where scikit-learn takes several. Its
probabilities equal scikit-learn's to :data:`ONNX_TOLERANCE` (ONNX Runtime returns them as
float32: ~3e-8 measured on real features; a calibrator's slope scales that, to ~1e-4 at an
isotonic step); the skops file stays beside it for the importances and for checks.

Classifiers take integer labels (e.g. -1/0/+1) and return probabilities with one column per
entry of ``classes`` (sorted). Sample weights multiply into the loss (uniqueness x class weight).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import DataError, UserError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

META_FILE = "model.json"
ONNX_FILE = "forest.onnx"
ONNX_TOLERANCE = 1e-6
"""Largest difference allowed between a compiled forest's probabilities and scikit-learn's."""


class Model(Protocol):
    """What the study and the CLI need from a model."""

    name: ClassVar[str]
    task: str

    def fit(self, x: FloatArray, y: FloatArray, sample_weight: FloatArray | None = None) -> None:
        """Fit on rows ``x`` (2-D; the LSTM takes 3-D windows) and targets ``y``."""
        ...

    def predict_proba(self, x: FloatArray) -> FloatArray:
        """Class probabilities, one column per ``classes`` entry (classifiers)."""
        ...

    def predict(self, x: FloatArray) -> FloatArray:
        """The most likely class (classifiers) or the predicted value (regressors)."""
        ...

    @property
    def classes(self) -> IntArray:
        """The class labels, sorted (empty for a regressor)."""
        ...

    def save(self, folder: Path) -> None:
        """Write the fitted model into ``folder`` (created if missing)."""
        ...


def _write_meta(folder: Path, name: str, task: str, settings: object, classes: IntArray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "type": name,
        "task": task,
        "settings": asdict(settings),  # type: ignore[call-overload]
        "classes": [int(c) for c in classes],
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2))


def read_meta(folder: Path) -> dict[str, Any]:
    """The ``model.json`` of a saved model (UserError naming what is missing or wrong)."""
    path = folder / META_FILE
    if not path.is_file():
        raise UserError(f"{folder} holds no saved model ({META_FILE} missing)")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or "type" not in meta or "task" not in meta:
        raise DataError(f"{path}: not a Tradewind model description")
    return meta


def _check_task(task: str) -> None:
    if task not in ("classifier", "regressor"):
        raise UserError(f"task must be 'classifier' or 'regressor', got {task!r}")


class _Classes:
    """Maps labels (e.g. -1/0/1) to 0..k-1 and back."""

    def __init__(self) -> None:
        self._classes: IntArray = np.empty(0, dtype=np.int64)

    @property
    def classes(self) -> IntArray:
        return self._classes

    def encode(self, y: FloatArray) -> IntArray:
        labels = np.asarray(y).astype(np.int64)
        self._classes = np.unique(labels)
        if self._classes.shape[0] < 2:
            raise UserError(f"a classifier needs at least two classes, got {self._classes}")
        return np.searchsorted(self._classes, labels).astype(np.int64)


@dataclass(frozen=True, slots=True, kw_only=True)
class ForestSettings:
    """Random forest settings (scikit-learn's names and meanings)."""

    n_estimators: int = 200
    max_depth: int | None = 8
    min_samples_leaf: int = 50
    max_features: float = 0.5
    max_samples: float | None = None
    """Share of the training rows each tree's bootstrap draws (None: as many as there are)."""
    seed: int = 0
    n_jobs: int = 1


# The scikit-learn types a saved forest may contain; skops refuses to build anything else.
_SKOPS_TRUSTED = [
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._tree.Tree",
    "numpy.random.mtrand.RandomState",
    "numpy.random._mt19937.MT19937",
    "numpy.dtype",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.str",
]


def _forest_onnx(estimator: Any) -> bytes:
    """The fitted forest classifier as an ONNX graph (probabilities as a plain tensor)."""
    from skl2onnx import to_onnx

    sample = np.zeros((1, int(estimator.n_features_in_)), dtype=np.float64)
    graph = to_onnx(estimator, sample, options={id(estimator): {"zipmap": False}},
                    target_opset={"": 17, "ai.onnx.ml": 3})  # fmt: skip
    return bytes(graph.SerializeToString())


def _onnx_session(graph: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One bar at a time: starting threads costs more than a single row's trees.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


class RandomForestModel(_Classes):
    """scikit-learn random forest (classifier or regressor), saved with skops; a classifier also
    as ONNX, through which a loaded one predicts (see the module docstring)."""

    name: ClassVar[str] = "random_forest"

    def __init__(self, task: str = "classifier", settings: ForestSettings | None = None) -> None:
        super().__init__()
        _check_task(task)
        self.task = task
        self.settings = settings or ForestSettings()
        self._model: Any = None
        self._onnx: Any = None
        self._graph: bytes | None = None

    @property
    def compiled(self) -> bool:
        """Whether predictions go through the ONNX graph (a loaded classifier)."""
        return self._onnx is not None

    def _make(self) -> Any:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        s = self.settings
        kind = RandomForestClassifier if self.task == "classifier" else RandomForestRegressor
        return kind(
            n_estimators=s.n_estimators,
            max_depth=s.max_depth,
            min_samples_leaf=s.min_samples_leaf,
            max_features=s.max_features,
            max_samples=s.max_samples,
            random_state=s.seed,
            n_jobs=s.n_jobs,
        )

    def fit(self, x: FloatArray, y: FloatArray, sample_weight: FloatArray | None = None) -> None:
        """Fit the forest."""
        target = self.encode(y) if self.task == "classifier" else np.asarray(y, np.float64)
        self._model = self._make()
        self._onnx = None
        self._graph = None
        self._model.fit(x, target, sample_weight=sample_weight)

    def compile(self) -> None:
        """Predict through the ONNX graph from now on (a classifier): the graph :meth:`save`
        writes and a loaded model runs, so a model trained for production predicts exactly as
        its reload does."""
        if self.task == "classifier" and self._onnx is None:
            self._graph = _forest_onnx(self._fitted())
            self._onnx = _onnx_session(self._graph)

    def _fitted(self) -> Any:
        if self._model is None:
            raise UserError("the model is not fitted yet")
        return self._model

    def predict_proba(self, x: FloatArray) -> FloatArray:
        """Class probabilities (the share of trees voting each class, weighted)."""
        if self.task != "classifier":
            raise UserError("predict_proba needs a classifier")
        if self._onnx is not None:
            rows = np.ascontiguousarray(x, dtype=np.float64)
            return np.asarray(self._onnx.run(["probabilities"], {"X": rows})[0], np.float64)
        return np.asarray(self._fitted().predict_proba(x), dtype=np.float64)

    def predict(self, x: FloatArray) -> FloatArray:
        """The most likely class, or the mean of the trees' predictions (regressor)."""
        if self.task == "classifier":
            return self.classes[np.argmax(self.predict_proba(x), axis=1)].astype(np.float64)
        return np.asarray(self._fitted().predict(x), dtype=np.float64)

    @property
    def impurity_importance(self) -> FloatArray:
        """Mean decrease in impurity per feature (sums to 1)."""
        return np.asarray(self._fitted().feature_importances_, dtype=np.float64)

    @property
    def estimator(self) -> Any:
        """The fitted scikit-learn estimator (for compiled predictors)."""
        return self._fitted()

    def save(self, folder: Path) -> None:
        """Write ``model.json``, ``forest.skops`` and (a classifier) ``forest.onnx``."""
        import skops.io as sio

        _write_meta(folder, self.name, self.task, self.settings, self.classes)
        sio.dump(self._fitted(), folder / "forest.skops")
        if self.task == "classifier":
            graph = self._graph or _forest_onnx(self._fitted())
            (folder / ONNX_FILE).write_bytes(graph)

    @classmethod
    def load(cls, folder: Path) -> RandomForestModel:
        """Read a saved forest; skops refuses any type outside the trusted list."""
        import skops.io as sio

        meta = read_meta(folder)
        model = cls(meta["task"], ForestSettings(**meta["settings"]))
        path = folder / "forest.skops"
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in _SKOPS_TRUSTED]
        if untrusted:
            raise DataError(f"{path} holds types outside the trusted list: {', '.join(untrusted)}")
        loaded = sio.load(path, trusted=_SKOPS_TRUSTED)
        expected = model._make()
        if type(loaded) is not type(expected):
            raise DataError(
                f"{path} holds a {type(loaded).__name__}, not a {type(expected).__name__}"
            )
        model._model = loaded
        model._classes = np.asarray(meta["classes"], dtype=np.int64)
        if (folder / ONNX_FILE).is_file():
            try:
                model._onnx = _onnx_session((folder / ONNX_FILE).read_bytes())
            except Exception as exc:  # onnxruntime raises its own exception types
                raise DataError(
                    f"{folder / ONNX_FILE}: not a readable ONNX graph ({exc})"
                ) from None
        return model


@dataclass(frozen=True, slots=True, kw_only=True)
class BoostingSettings:
    """LightGBM settings (its parameter names)."""

    num_boost_round: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_data_in_leaf: int = 100
    feature_fraction: float = 0.7
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    seed: int = 0
    num_threads: int = 1


class LightGbmModel(_Classes):
    """LightGBM gradient-boosted trees (classifier or regressor), saved as its text model."""

    name: ClassVar[str] = "lightgbm"

    def __init__(self, task: str = "classifier", settings: BoostingSettings | None = None) -> None:
        super().__init__()
        _check_task(task)
        self.task = task
        self.settings = settings or BoostingSettings()
        self._booster: Any = None

    def _params(self) -> dict[str, Any]:
        s = self.settings
        params: dict[str, Any] = {
            "learning_rate": s.learning_rate,
            "num_leaves": s.num_leaves,
            "min_data_in_leaf": s.min_data_in_leaf,
            "feature_fraction": s.feature_fraction,
            "bagging_fraction": s.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": s.lambda_l2,
            "seed": s.seed,
            "num_threads": s.num_threads,
            "deterministic": True,
            "verbosity": -1,
        }
        if self.task == "regressor":
            params["objective"] = "regression"
        elif self.classes.shape[0] == 2:
            params["objective"] = "binary"
        else:
            params.update(objective="multiclass", num_class=int(self.classes.shape[0]))
        return params

    def fit(self, x: FloatArray, y: FloatArray, sample_weight: FloatArray | None = None) -> None:
        """Boost ``num_boost_round`` trees (no early stopping: it would peek at a test set)."""
        import lightgbm as lgb

        target = self.encode(y) if self.task == "classifier" else np.asarray(y, np.float64)
        data = lgb.Dataset(x, label=target, weight=sample_weight, free_raw_data=True)
        self._booster = lgb.train(self._params(), data, self.settings.num_boost_round)

    def _fitted(self) -> Any:
        if self._booster is None:
            raise UserError("the model is not fitted yet")
        return self._booster

    def predict_proba(self, x: FloatArray) -> FloatArray:
        """Class probabilities."""
        if self.task != "classifier":
            raise UserError("predict_proba needs a classifier")
        # One thread: per-bar calls are single rows, where starting threads costs more than it saves.
        raw = np.asarray(self._fitted().predict(x, num_threads=1), dtype=np.float64)
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, x: FloatArray) -> FloatArray:
        """The most likely class, or the predicted value (regressor)."""
        if self.task == "classifier":
            return self.classes[np.argmax(self.predict_proba(x), axis=1)].astype(np.float64)
        return np.asarray(self._fitted().predict(x, num_threads=1), dtype=np.float64)

    @property
    def impurity_importance(self) -> FloatArray:
        """Total split gain per feature, normalised to sum to 1."""
        gain = np.asarray(self._fitted().feature_importance("gain"), dtype=np.float64)
        total = gain.sum()
        return gain / total if total > 0 else gain

    def save(self, folder: Path) -> None:
        """Write ``model.json`` and ``model.txt`` (LightGBM's text format)."""
        _write_meta(folder, self.name, self.task, self.settings, self.classes)
        self._fitted().save_model(str(folder / "model.txt"))

    @classmethod
    def load(cls, folder: Path) -> LightGbmModel:
        """Read a saved LightGBM model."""
        import lightgbm as lgb

        meta = read_meta(folder)
        model = cls(meta["task"], BoostingSettings(**meta["settings"]))
        model._booster = lgb.Booster(model_file=str(folder / "model.txt"))
        model._classes = np.asarray(meta["classes"], dtype=np.int64)
        return model


def load_model(folder: Path) -> Any:
    """Load any saved model by the type its ``model.json`` names (an explicit registry)."""
    meta = read_meta(folder)
    kind = meta["type"]
    if kind == RandomForestModel.name:
        return RandomForestModel.load(folder)
    if kind == LightGbmModel.name:
        return LightGbmModel.load(folder)
    if kind == "lstm":
        from tradewind.ml.lstm import LstmModel

        return LstmModel.load(folder)
    raise DataError(f"{folder / META_FILE}: unknown model type {kind!r}")
