"""The feedback loop of a running session: every registered model it trades, watched bar by bar.

For each registered model a session's ML strategies trade (by pin, found in the bot's registry by
its files' SHA-256), at every closed bar :class:`ModelWatch`:

- records the model's prediction at that bar (``model_predictions``), once per model, symbol
  and bar, with the bar at which its horizon ends;
- resolves the predictions whose horizon has passed with the label that happened (the model's own
  target and label settings, from its card);
- scores the latest ``feedback_window`` resolved predictions (rolling accuracy, confidence gap):
  below ``min_accuracy`` (default: the card's out-of-sample baseline), or with a mean
  confidence more than ``max_confidence_gap`` above it, it alerts (``alert.model_accuracy``) and
  recalibrates the model's later probabilities on those predictions, which are out of sample by
  construction;
- every ``drift_every`` bars compares the latest ``drift_window`` bars' monitored features (the
  card's, chosen at training by a stationarity check) with the training rows saved with the
  model (PSI and KS per feature at effective sample sizes, :mod:`tradewind.ml.drift`); a drift
  alerts (``alert.model_drift``).

Scheduled retraining: with ``retrain_data`` configured, every ``retrain_every_days`` of bar time
(counted from the first bar the session watched) an ``ml_retrain`` job for each traded production
model is queued for the jobs worker, unless one for that model is still waiting or running; the
worker promotes the new version only if it beats production out of sample (a running session
keeps trading its pin; a rollback or a restart picks up the registry's production version).

A cause named in ``rollback_on`` also rolls the model back: the registry takes the production
version out and restores the one it replaced (files checked first), and every strategy trading
the old pin trades the restored one from the next bar (``alert.model_rollback``). Alerts go to the
event hub, so the notifier and the API's event stream tell the operators. Nothing here may stop
the trading loop: a failure is logged and the bar goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tradewind.config import MlConfig
from tradewind.core.errors import UserError
from tradewind.ml.artifact import parse_pin
from tradewind.ml.calibrated import CalibratedModel
from tradewind.ml.calibration import Calibrator
from tradewind.ml.drift import SCALE_DEPENDENT, feature_drift
from tradewind.ml.feedback import needs_recalibration, rolling_quality
from tradewind.ml.targets import VOLATILITY_WINDOW, target_labels
from tradewind.persistence.engine import Engine
from tradewind.persistence.jobs import enqueue_job, jobs
from tradewind.persistence.model_feedback import (
    due_predictions,
    record_prediction,
    resolve_prediction,
    resolved_predictions,
)
from tradewind.persistence.model_registry import (
    RegisteredModel,
    model_by_digest,
    rollback_model,
    rollback_target,
)
from tradewind.series.bars import BarSeries
from tradewind.strategies.base import Strategy
from tradewind.strategies.builtin._direction import WalkForwardStrategy

__all__ = ["ModelState", "ModelWatch"]

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], None]


@dataclass
class ModelState:
    """What the watch knows of one registered model: its entry, and its latest scores."""

    entry: RegisteredModel
    pin: str
    model: CalibratedModel
    recorded: int = 0
    resolved: int = 0
    accuracy: float | None = None
    confidence: float | None = None
    recalibrations: int = 0
    hold_until: int = 0
    drifted: tuple[str, ...] = ()
    bars_since_drift: dict[str, int] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        """The model's state for operators (API, dashboard)."""
        return {
            "name": self.entry.name, "version": self.entry.version, "stage": self.entry.stage,
            "model_type": self.entry.card.model_type, "predictions": self.recorded,
            "resolved": self.resolved, "accuracy": self.accuracy,
            "confidence": self.confidence,
            "baseline_accuracy": self.entry.card.metrics.get("baseline_accuracy"),
            "recalibrations": self.recalibrations, "drifted": list(self.drifted),
        }  # fmt: skip


class ModelWatch:
    """The feedback loop over a session's registered models (see the module docstring).

    Parameters
    ----------
    engine
        The bot's database: its model registry and the predictions table.
    strategies
        The session's strategies; those trading registered models by pin are watched.
    settings
        The ``[ml]`` config.
    publish
        ``publish(topic, payload)`` of the session's event hub.
    bot_id
        The bot the scheduled retraining jobs are queued for.
    """

    def __init__(
        self, engine: Engine, strategies: Sequence[Strategy], settings: MlConfig,
        publish: Publish, *, bot_id: int | None = None,
    ) -> None:  # fmt: skip
        self.engine = engine
        self.bot_id = bot_id
        self._retrain_anchor: int | None = None
        self.settings = settings
        self.publish = publish
        self.strategies = [s for s in strategies if isinstance(s, WalkForwardStrategy)]
        self.models: dict[str, ModelState] = {}
        for strategy in self.strategies:
            for pin in strategy.pins():
                self._watch(strategy, pin)

    @property
    def active(self) -> bool:
        """Whether any registered model is watched."""
        return bool(self.models)

    def _watch(self, strategy: WalkForwardStrategy, pin: str) -> None:
        if pin in self.models:
            return
        folder, digest = parse_pin(pin)
        entry = model_by_digest(self.engine, digest)
        if entry is None:
            log.warning("model %s is not in this bot's registry: its predictions are not "
                        "recorded (register it with `tradewind ml train --register`)", folder)  # fmt: skip
            return
        self.models[pin] = ModelState(entry, pin, strategy.pinned.get(pin))

    def views(self) -> list[dict[str, Any]]:
        """Every watched model's state (name, version, accuracy, confidence, drift)."""
        return [state.view() for state in self.models.values()]

    # -- every closed bar -----------------------------------------------------------------------

    def on_close(self, bars: Mapping[str, BarSeries], index: Mapping[str, int], ts: int) -> None:
        """Bars closed: ``index`` names each symbol's new bar in ``bars``; ``ts`` the close."""
        for pin in list(self.models):
            state = self.models.get(pin)
            if state is None:
                continue  # rolled back earlier in this loop
            try:
                self._step(state, bars, index, ts)
            except Exception:
                log.exception("the feedback loop failed on model %s v%d", state.entry.name,
                              state.entry.version)  # fmt: skip
        self._schedule(ts)

    def _schedule(self, ts: int) -> None:
        """Queue the retraining of each traded production model when it falls due."""
        data = self.settings.retrain_data
        if data is None:
            return
        if self._retrain_anchor is None:
            self._retrain_anchor = ts
        if ts - self._retrain_anchor < self.settings.retrain_every_days * 86_400_000:
            return
        self._retrain_anchor = ts
        waiting = {
            j["spec"].get("model") for j in jobs(self.engine, self.bot_id, limit=200)
            if j["kind"] == "ml_retrain" and j["state"] in ("queued", "running")
        }  # fmt: skip
        for state in list(self.models.values()):
            name = state.entry.name
            if state.entry.stage != "production" or name in waiting:
                continue
            try:
                queued = enqueue_job(self.engine, kind="ml_retrain",
                                     spec={"model": name, "data": data},
                                     requested_by="schedule", bot_id=self.bot_id)  # fmt: skip
            except Exception:
                log.exception("could not queue the retraining of model %s", name)
                continue
            waiting.add(name)
            log.info("retraining of model %s queued as job %d (every %g days)", name, queued,
                     self.settings.retrain_every_days)  # fmt: skip

    def _strategy(self, pin: str) -> WalkForwardStrategy:
        return next(s for s in self.strategies if pin in s.pins())

    def _step(self, state: ModelState, bars: Mapping[str, BarSeries], index: Mapping[str, int],
              ts: int) -> None:  # fmt: skip
        strategy = self._strategy(state.pin)
        for symbol, i in index.items():
            series = bars[symbol]
            rows = strategy.pinned.rows(state.pin, series)
            self._record(state, series, i, rows.proba[i])
            if self._resolve(state, series) and self._quality(state, strategy, ts):
                return
            if self._drift(state, symbol, rows.matrix, ts):
                return  # rolled back: the restored model is watched from the next bar

    def _record(self, state: ModelState, bars: BarSeries, i: int, proba: np.ndarray) -> None:
        if not np.isfinite(proba).all():
            return  # warming up, or in the model's training period
        due = int(bars.ts[i]) + state.entry.card.horizon * bars.timeframe.ms
        if record_prediction(
            self.engine, model_id=state.entry.model_id, symbol=bars.symbol,
            bar_ts=int(bars.ts[i]), due_ts=due, classes=state.model.classes.tolist(),
            probabilities=[float(p) for p in proba],
        ):  # fmt: skip
            state.recorded += 1

    def _resolve(self, state: ModelState, bars: BarSeries) -> bool:
        """Resolve the predictions due; whether any was."""
        due = [
            d for d in due_predictions(self.engine, state.entry.model_id, int(bars.ts[-1]))
            if d.symbol == bars.symbol
        ]  # fmt: skip
        if not due:
            return False
        card = state.entry.card
        options = {k: card.parameters[k] for k in ("method", "barrier", "dead_zone")
                   if k in card.parameters}  # fmt: skip
        if "labels" in card.parameters:
            options["method"] = card.parameters["labels"]
        offset = 0
        if card.target == "direction":
            # A direction label at bar j reads bars j - VOLATILITY_WINDOW .. j + horizon only
            # (the barrier's volatility is a fixed-window std), so the bars from there on give
            # the same labels as the whole history, at a fraction of the cost per bar.
            first = int(np.searchsorted(bars.ts, min(d.bar_ts for d in due)))
            offset = max(0, first - VOLATILITY_WINDOW - 1)
        window = bars.slice(offset, len(bars)) if offset else bars
        labels, _ = target_labels(
            window, card.target, card.horizon, **(options if card.target == "direction" else {})
        )
        last = len(bars) - 1
        before = state.resolved
        for prediction in due:
            j = int(np.searchsorted(bars.ts, prediction.bar_ts)) - offset
            last_j = last - offset
            if j < 0 or j > last_j or int(window.ts[j]) != prediction.bar_ts:
                continue  # the bar left the session's window: it stays unresolved
            if labels.defined[j] and int(labels.end[j]) <= last_j:
                resolve_prediction(self.engine, prediction.prediction_id, int(labels.value[j]))
                state.resolved += 1
        return state.resolved > before

    def _quality(self, state: ModelState, strategy: WalkForwardStrategy, ts: int) -> bool:
        window = self.settings.feedback_window
        scored = resolved_predictions(self.engine, state.entry.model_id, limit=window)
        if scored.outcome.shape[0] < window:
            return False
        quality = rolling_quality(scored.probabilities, scored.classes, scored.outcome, window)
        state.accuracy = float(quality.accuracy[-1])
        state.confidence = float(quality.accuracy[-1] + quality.confidence_gap[-1])
        floor = self.settings.min_accuracy
        if floor is None:
            floor = float(state.entry.card.metrics.get("baseline_accuracy", 0.0))
        if state.resolved < state.hold_until or not needs_recalibration(
            quality, min_accuracy=floor, max_confidence_gap=self.settings.max_confidence_gap
        ):
            return False
        # Judged again only on a full window of predictions resolved after this one.
        state.hold_until = state.resolved + window
        message = (
            f"model {state.entry.name} v{state.entry.version}: accuracy {state.accuracy:.3f} "
            f"over its last {window} resolved predictions (floor {floor:.3f}), mean confidence "
            f"{state.confidence:.3f}"
        )
        if "accuracy" in self.settings.rollback_on:
            return self._rollback(state, "model_accuracy", message, ts)
        calibrator = Calibrator("platt").fit(scored.probabilities, scored.outcome, scored.classes)
        strategy.pinned.recalibrate(state.pin, calibrator)
        state.recalibrations += 1
        self._alert("model_accuracy", f"{message}; recalibrated on them", state, ts)
        return False

    def _drift(self, state: ModelState, symbol: str, matrix: np.ndarray, ts: int) -> bool:
        reference = state.model.reference
        if reference is None:
            return False
        seen = state.bars_since_drift.get(symbol, 0) + 1
        state.bars_since_drift[symbol] = seen
        if seen < self.settings.drift_every:
            return False
        state.bars_since_drift[symbol] = 0
        current = matrix[-self.settings.drift_window :]
        current = current[np.isfinite(current).all(axis=1)]
        if current.shape[0] < self.settings.drift_window // 2:
            return False  # too few complete rows yet to judge
        names = state.model.pipeline.features
        monitored = state.entry.card.monitored
        if monitored is None:  # a model from before the training-time choice: no levels
            monitored = tuple(n for n in names if n not in SCALE_DEPENDENT)
        report = feature_drift(
            reference, current, names, monitored=monitored,
            psi_limit=self.settings.psi_limit, p_limit=self.settings.p_limit,
        )  # fmt: skip
        drifted, before = report.drifted, state.drifted
        state.drifted = drifted
        if not drifted or before:
            return False  # told when the drift began; told again only after it cleared
        worst = sorted((f for f in report.features if f.drifted), key=lambda f: -f.psi)
        named = ", ".join(f"{f.name} (PSI {f.psi:.2f}, KS p {f.p_value:.1e})" for f in worst)
        message = (
            f"model {state.entry.name} v{state.entry.version} on {symbol}: features drifted "
            f"from its training data over the last {current.shape[0]} bars: {named}"
        )
        if "drift" in self.settings.rollback_on:
            return self._rollback(state, "model_drift", message, ts)
        self._alert("model_drift", message, state, ts)
        return False

    # -- rollback -------------------------------------------------------------------------------

    def _rollback(self, state: ModelState, kind: str, message: str, ts: int) -> bool:
        """Alert, then roll the model back if it is its name's production version."""
        self._alert(kind, message, state, ts)
        name = state.entry.name
        try:
            current = model_by_digest(self.engine, parse_pin(state.pin)[1])
            if current is None or current.stage != "production":
                raise UserError(f"version {state.entry.version} is not in production")
            target = rollback_target(self.engine, name)
            CalibratedModel.load_verified(target.path, target.sha256, target.files)
            removed, restored = rollback_model(self.engine, name)
        except Exception as error:
            self._alert("model_rollback", f"model {name}: no rollback ({error})", state, ts)
            return False
        for strategy in self.strategies:
            if state.pin in strategy.pins():
                strategy.replace_pin(state.pin, restored.pin)
        del self.models[state.pin]
        self.models[restored.pin] = ModelState(
            restored, restored.pin, self._strategy(restored.pin).pinned.get(restored.pin)
        )
        self._alert(
            "model_rollback",
            f"model {name}: version {removed.version} rolled back ({kind.removeprefix('model_')}); "
            f"version {restored.version} trades from the next bar",
            state, ts,
        )  # fmt: skip
        return True

    def _alert(self, kind: str, message: str, state: ModelState, ts: int) -> None:
        log.warning("%s", message)
        self.publish(f"alert.{kind}", {"ts": ts, "message": message,
                                        "model": state.entry.name,
                                        "version": state.entry.version})  # fmt: skip
