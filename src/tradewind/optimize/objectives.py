"""What a search maximises or minimises: named objectives over the kernel's metrics.

Every objective maps the ``(k, 8)`` metrics matrix (columns in the order of
:data:`tradewind.sim.layout.METRICS`) to one score per trial, so a batch is scored at once. A
user's function gets one trial's metrics as a dict and returns a float.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError
from tradewind.sim.layout import METRICS

FloatArray = npt.NDArray[np.float64]
_COLUMN = {name: i for i, name in enumerate(METRICS)}


@dataclass(frozen=True)
class Objective:
    """A named score and the direction that is better (``"maximize"`` or ``"minimize"``)."""

    name: str
    direction: str
    score: Callable[[FloatArray], FloatArray]

    def __call__(self, metrics: FloatArray) -> FloatArray:
        """Scores of the trials whose metrics are the rows of ``metrics``; NaN where undefined."""
        return np.asarray(self.score(np.atleast_2d(metrics)), dtype=np.float64)


def _column(name: str) -> Callable[[FloatArray], FloatArray]:
    index = _COLUMN[name]
    return lambda m: m[:, index]


def profit_with_drawdown_penalty(penalty: float) -> Objective:
    """Total return minus ``penalty`` times the depth of the worst drawdown (both fractions)."""
    if penalty < 0:
        raise UserError(f"the drawdown penalty must be >= 0, got {penalty}")
    ret, dd = _COLUMN["total_return"], _COLUMN["max_drawdown"]
    return Objective("profit_dd", "maximize", lambda m: m[:, ret] - penalty * np.abs(m[:, dd]))


BUILTIN: dict[str, Objective] = {
    "sharpe": Objective("sharpe", "maximize", _column("sharpe_ratio")),
    "sortino": Objective("sortino", "maximize", _column("sortino_ratio")),
    "calmar": Objective("calmar", "maximize", _column("calmar_ratio")),
    "profit": Objective("profit", "maximize", _column("total_return")),
    "annual_return": Objective("annual_return", "maximize", _column("annual_return")),
    "drawdown": Objective("drawdown", "minimize", lambda m: np.abs(m[:, _COLUMN["max_drawdown"]])),
    "trades": Objective("trades", "maximize", _column("trade_count")),
}
"""Objectives by name; ``profit_dd`` (with its penalty) is built by :func:`resolve_objective`."""


def from_function(name: str, function: Callable[[Mapping[str, float]], float]) -> Objective:
    """Wrap a user's ``function(metrics_dict) -> float`` (maximised) as an objective."""

    def score(matrix: FloatArray) -> FloatArray:
        out = np.empty(matrix.shape[0])
        for i, row in enumerate(matrix):
            try:
                out[i] = float(function(dict(zip(METRICS, row.tolist(), strict=True))))
            except Exception as exc:
                raise UserError(f"objective function {name!r} failed: {exc}") from exc
        return out

    return Objective(name, "maximize", score)


def resolve_objective(spec: str | Objective, *, drawdown_penalty: float = 1.0) -> Objective:
    """An objective from a name, ``path/file.py:function`` or an :class:`Objective`.

    Raises
    ------
    UserError
        For an unknown name or a file without that function.
    """
    if isinstance(spec, Objective):
        return spec
    if spec == "profit_dd":
        return profit_with_drawdown_penalty(drawdown_penalty)
    if spec in BUILTIN:
        return BUILTIN[spec]
    if ":" in spec and spec.split(":", 1)[0].endswith(".py"):
        return from_function(spec, _load_function(spec))
    known = ", ".join([*BUILTIN, "profit_dd"])
    raise UserError(f"unknown objective {spec!r}; use one of {known} or path/file.py:function")


def _load_function(spec: str) -> Callable[[Mapping[str, float]], float]:
    path_text, name = spec.rsplit(":", 1)
    path = Path(path_text)
    if not path.is_file():
        raise UserError(f"objective file not found: {path}")
    module_spec = importlib.util.spec_from_file_location(f"tradewind_objective_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise UserError(f"cannot load objective file {path}")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise UserError(f"{path}: objective file failed to import: {exc}") from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise UserError(f"{path} has no function named {name!r}")
    return function  # type: ignore[no-any-return]
