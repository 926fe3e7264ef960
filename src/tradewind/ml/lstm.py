"""An LSTM classifier on PyTorch (CPU), behind the same interface as the tree models.

Input rows are windows: ``x[i]`` is the ``(sequence_length, features)`` block of scaled feature
rows ending at sample i's bar (:func:`windows` builds them from a causal feature matrix, so a
window holds nothing after its last bar). The last hidden state feeds a linear layer over the
classes. Saved as ``model.json`` plus a state dict (``lstm.pt``) loaded with
``weights_only=True``, so reading a model file cannot run code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from tradewind.core.errors import DataError, UserError
from tradewind.ml.models import _Classes, _write_meta, read_meta

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def windows(matrix: FloatArray, rows: IntArray, length: int) -> npt.NDArray[np.float32]:
    """The ``length`` feature rows ending at each of ``rows`` (needs ``rows >= length - 1``)."""
    if rows.shape[0] and int(rows.min()) < length - 1:
        raise UserError(f"row {int(rows.min())} has fewer than {length} rows of history")
    offsets = np.arange(-length + 1, 1)
    return np.asarray(matrix[rows[:, None] + offsets[None, :]], dtype=np.float32)


@dataclass(frozen=True, slots=True, kw_only=True)
class LstmSettings:
    """Network size and training schedule."""

    n_features: int
    hidden: int = 32
    layers: int = 1
    epochs: int = 2
    batch_size: int = 256
    learning_rate: float = 3e-3
    seed: int = 0


class _Net(nn.Module):
    def __init__(self, n_features: int, hidden: int, layers: int, n_classes: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        logits: torch.Tensor = self.head(out[:, -1, :])
        return logits


class LstmModel(_Classes):
    """LSTM over feature windows; a classifier (UP/DOWN/NEUTRAL or any integer classes)."""

    name: ClassVar[str] = "lstm"
    task = "classifier"

    def __init__(self, settings: LstmSettings) -> None:
        super().__init__()
        if settings.hidden < 1 or settings.epochs < 1:
            raise UserError("LSTM hidden size and epochs must be >= 1")
        self.settings = settings
        self._net: _Net | None = None

    def fit(self, x: FloatArray, y: FloatArray, sample_weight: FloatArray | None = None) -> None:
        """Train with Adam on the weighted cross-entropy, in time order within shuffled batches.

        On one thread: batches of 256 small windows gain nothing from a second one, and on a
        shared machine torch's threads wait on each other (measured on a loaded 2-core box: one
        thread 14 s, two 133 s for the same fit). The same thread count everywhere also keeps
        the result the same on every machine.
        """
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            self._fit(x, y, sample_weight)
        finally:
            torch.set_num_threads(previous)

    def _fit(self, x: FloatArray, y: FloatArray, sample_weight: FloatArray | None) -> None:
        s = self.settings
        if x.ndim != 3 or x.shape[2] != s.n_features:
            raise UserError(f"LSTM input must be (samples, steps, {s.n_features}), got {x.shape}")
        target = torch.as_tensor(self.encode(y))
        weight = torch.as_tensor(
            np.ones(x.shape[0]) if sample_weight is None else sample_weight, dtype=torch.float32
        )
        generator = torch.Generator().manual_seed(s.seed)
        torch.manual_seed(s.seed)
        net = _Net(s.n_features, s.hidden, s.layers, int(self.classes.shape[0]))
        optimiser = torch.optim.Adam(net.parameters(), lr=s.learning_rate)
        loss_fn = nn.CrossEntropyLoss(reduction="none")
        inputs = torch.as_tensor(np.asarray(x, dtype=np.float32))
        net.train()
        for _ in range(s.epochs):
            order = torch.randperm(inputs.shape[0], generator=generator)
            for start in range(0, inputs.shape[0], s.batch_size):
                batch = order[start : start + s.batch_size]
                optimiser.zero_grad()
                losses = loss_fn(net(inputs[batch]), target[batch])
                loss = (losses * weight[batch]).sum() / weight[batch].sum()
                loss.backward()  # type: ignore[no-untyped-call]
                optimiser.step()
        net.eval()
        self._net = net

    def _fitted(self) -> _Net:
        if self._net is None:
            raise UserError("the model is not fitted yet")
        return self._net

    def predict_proba(self, x: FloatArray) -> FloatArray:
        """Softmax class probabilities per window."""
        net = self._fitted()
        with torch.inference_mode():
            logits = net(torch.as_tensor(np.asarray(x, dtype=np.float32)))
            return np.asarray(torch.softmax(logits, dim=1).numpy(), dtype=np.float64)

    def predict(self, x: FloatArray) -> FloatArray:
        """The most likely class per window."""
        return self.classes[np.argmax(self.predict_proba(x), axis=1)].astype(np.float64)

    def save(self, folder: Path) -> None:
        """Write ``model.json`` and the state dict ``lstm.pt``."""
        _write_meta(folder, self.name, self.task, self.settings, self.classes)
        torch.save(self._fitted().state_dict(), folder / "lstm.pt")

    @classmethod
    def load(cls, folder: Path) -> LstmModel:
        """Read a saved LSTM; the state dict is loaded with ``weights_only=True``."""
        meta = read_meta(folder)
        model = cls(LstmSettings(**meta["settings"]))
        model._classes = np.asarray(meta["classes"], dtype=np.int64)
        s = model.settings
        net = _Net(s.n_features, s.hidden, s.layers, int(model._classes.shape[0]))
        try:
            state: Any = torch.load(folder / "lstm.pt", weights_only=True)
            net.load_state_dict(state)
        except (RuntimeError, OSError) as exc:
            raise DataError(
                f"{folder / 'lstm.pt'}: not a matching LSTM state dict ({exc})"
            ) from None
        net.eval()
        model._net = net
        return model
