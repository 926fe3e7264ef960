"""The feedback loop's record: every prediction a registered model made, and its outcome.

A session records each prediction (the bar it was made at, when its horizon ends, the class
probabilities) as it makes it; once the horizon has passed it resolves it with the class that
happened. :func:`resolved_predictions` hands the scored history to
:func:`tradewind.ml.feedback.rolling_quality`. Recording is idempotent per model, symbol and
bar, so a restarted session that predicts a bar again does not count it twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from tradewind.core.errors import UserError
from tradewind.persistence.models import ModelPredictionRow
from tradewind.persistence.types import to_ms, utc_ms

__all__ = [
    "DuePrediction",
    "ScoredPredictions",
    "due_predictions",
    "record_prediction",
    "resolve_prediction",
    "resolved_predictions",
]

_PREDICTIONS = ModelPredictionRow.__table__


@dataclass(frozen=True, slots=True)
class DuePrediction:
    """A prediction whose horizon has passed and whose outcome is not recorded yet."""

    prediction_id: int
    symbol: str
    bar_ts: int
    due_ts: int


@dataclass(frozen=True, slots=True)
class ScoredPredictions:
    """Resolved predictions of one model, in bar order."""

    bar_ts: npt.NDArray[np.int64]
    classes: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float64]
    outcome: npt.NDArray[np.int64]


def record_prediction(
    engine: Engine, *, model_id: int, symbol: str, bar_ts: int, due_ts: int,
    classes: list[int], probabilities: list[float],
) -> bool:  # fmt: skip
    """Record one prediction; False when that model, symbol and bar is already recorded.

    Raises
    ------
    UserError
        When the probabilities do not match the classes or are not finite.
    """
    if len(classes) != len(probabilities) or not all(np.isfinite(probabilities)):
        raise UserError("a prediction needs one finite probability per class")
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(_PREDICTIONS),
                {"model_id": model_id, "symbol": symbol, "bar_ts": utc_ms(bar_ts),
                 "due_ts": utc_ms(due_ts), "classes": json.dumps([int(c) for c in classes]),
                 "probabilities": json.dumps([float(p) for p in probabilities]),
                 "outcome": None, "resolved_at": None},
            )  # fmt: skip
    except IntegrityError:
        return False
    return True


def due_predictions(engine: Engine, model_id: int, now_ts: int) -> list[DuePrediction]:
    """Unresolved predictions of ``model_id`` whose horizon ended by ``now_ts``, oldest first."""
    t = _PREDICTIONS.c
    query = (
        select(t.id, t.symbol, t.bar_ts, t.due_ts)
        .where(t.model_id == model_id, t.outcome.is_(None), t.due_ts <= utc_ms(now_ts))
        .order_by(t.bar_ts, t.id)
    )
    with engine.connect() as connection:
        return [
            DuePrediction(int(r.id), str(r.symbol), to_ms(r.bar_ts), to_ms(r.due_ts))
            for r in connection.execute(query)
        ]


def resolve_prediction(engine: Engine, prediction_id: int, outcome: int) -> None:
    """Record the class that happened (once: a resolved prediction keeps its first outcome)."""
    with engine.begin() as connection:
        connection.execute(
            update(_PREDICTIONS)
            .where(_PREDICTIONS.c.id == prediction_id, _PREDICTIONS.c.outcome.is_(None))
            .values(outcome=int(outcome), resolved_at=datetime.now(UTC))
        )


def resolved_predictions(
    engine: Engine, model_id: int, *, symbol: str | None = None, limit: int | None = None
) -> ScoredPredictions:
    """The latest ``limit`` resolved predictions (all by default), returned in bar order.

    Raises
    ------
    UserError
        When the recorded predictions do not share one set of classes.
    """
    t = _PREDICTIONS.c
    query = (
        select(t.bar_ts, t.classes, t.probabilities, t.outcome)
        .where(t.model_id == model_id, t.outcome.is_not(None))
        .order_by(t.bar_ts.desc(), t.id.desc())
    )
    if symbol is not None:
        query = query.where(t.symbol == symbol)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        rows = list(connection.execute(query))[::-1]
    kinds = {r.classes for r in rows}
    if len(kinds) > 1:
        raise UserError(f"model {model_id}'s predictions hold different class sets: {kinds}")
    classes = json.loads(rows[0].classes) if rows else []
    return ScoredPredictions(
        np.array([to_ms(r.bar_ts) for r in rows], dtype=np.int64),
        np.array(classes, dtype=np.int64),
        np.array([json.loads(r.probabilities) for r in rows], dtype=np.float64).reshape(
            len(rows), len(classes)
        ),
        np.array([int(r.outcome) for r in rows], dtype=np.int64),
    )
