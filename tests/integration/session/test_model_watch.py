"""The feedback loop of a session trading a registered model, on real 5m bars fed one close at a
time to the paper driver, with the bot's SQLite database as the registry: every prediction
recorded and resolved with the label that happened, the trades equal to the backtest's, accuracy
below the floor recalibrating, and a feature shifted in the replay raising the drift alert and the
configured rollback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from tradewind.backtest.api import prepare, run
from tradewind.backtest.spec import Account, BacktestSpec, Window
from tradewind.config import MlConfig
from tradewind.core.timeframe import Timeframe
from tradewind.ml.artifact import ModelCard, bars_digest, file_digests
from tradewind.ml.calibrated import fit_calibrated
from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import FeatureInputs, feature
from tradewind.ml.feedback import rolling_quality
from tradewind.ml.models import BoostingSettings
from tradewind.ml.study import StudySettings
from tradewind.ml.targets import DIRECTION_NAMES, direction_labels
from tradewind.ops.jobs import work
from tradewind.ops.model_watch import ModelWatch
from tradewind.persistence.bots import bot_url, open_bot
from tradewind.persistence.engine import Engine
from tradewind.persistence.jobs import jobs
from tradewind.persistence.model_feedback import resolved_predictions
from tradewind.persistence.model_registry import (
    RegisteredModel,
    promote_model,
    register_model,
    registered_models,
)
from tradewind.series.bars import BarSeries
from tradewind.session.driver import PaperDriver
from tradewind.strategies.builtin.ml_ensemble import MlEnsemble
from tradewind.strategies.builtin.ml_signal import MlSignal

# Features whose distribution stays within the drift limits over the clean replay (measured:
# ret_1's PSI at most 0.29 with KS p >= 0.04, bb_position's 0.21). The volatility features
# (natr_14, rv_30) and the oscillators (rsi_14, stoch_k) drift on these real weeks by themselves
# (PSI up to 4.9): a model with them alerts on the clean replay too.
FEATURES = ("ret_1", "bb_position")
HORIZON = 12
TRAIN_END = (1800, 2400)  # bars each version is trained on (v1, v2)
WARM = (1900, 2500)  # the session's warm-up bars
LIVE = 2500 + 700  # the session trades bars 2500..3199
PARAMS = {"entry": 0.5, "exit_below": 0.45}


@pytest.fixture(scope="module")
def frame(shared_data: Path) -> pd.DataFrame:
    return pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")


def _series(frame: pd.DataFrame) -> BarSeries:
    return BarSeries.from_frame(frame, "ETH/BTC", Timeframe.parse("5m"))


def _register(engine: Engine, bars: BarSeries, folder: Path, seed: int) -> RegisteredModel:
    ds = build_dataset(FeatureInputs(bars), direction_labels(bars, HORIZON),
                       tuple(feature(f) for f in FEATURES), sample_step=2)  # fmt: skip
    settings = StudySettings(boosting=BoostingSettings(num_boost_round=25, min_data_in_leaf=20,
                                                       seed=seed))  # fmt: skip
    card = ModelCard(
        model_type="", target="direction", horizon=HORIZON, features=(),
        parameters={"labels": "triple_barrier", "barrier": 1.0}, symbol=bars.symbol,
        timeframe=str(bars.timeframe), data_start_ts=int(bars.ts[0]),
        data_end_ts=int(bars.ts[-1]), data_hash=bars_digest(bars), code_version="0.test",
    )  # fmt: skip
    model = fit_calibrated(ds, "lightgbm", settings, card, class_names=DIRECTION_NAMES)
    model.save(folder)
    return register_model(engine, name="eth-dir", version=seed, card=model.card, folder=folder,
                          files=file_digests(folder))  # fmt: skip


@pytest.fixture
def registry(frame: pd.DataFrame, tmp_path: Path) -> tuple[Engine, list[RegisteredModel]]:
    """The bot's database with eth-dir v1 (archived) and v2 (production)."""
    bot = open_bot("ml", bots_dir=tmp_path / "bots")
    bars = _series(frame)
    entries = [
        _register(bot.engine, bars.head(end), tmp_path / "models" / f"v{v}", v)
        for v, end in enumerate(TRAIN_END, start=1)
    ]
    promote_model(bot.engine, "eth-dir", 1)
    promote_model(bot.engine, "eth-dir", 2)
    return bot.engine, entries


@dataclass
class Replay:
    """What a session over the replay did."""

    driver: PaperDriver
    strategy: MlSignal
    watch: ModelWatch
    alerts: list[tuple[str, dict[str, Any]]]


def _replay(
    frame: pd.DataFrame, engine: Engine, pin: str, settings: MlConfig, bot_id: int | None = None
) -> Replay:
    """The paper driver over the replay, the watch called after every instant as a session's
    operator side calls it."""
    spec = BacktestSpec(account=Account(cash=1, stake="50%"))
    strategy = MlSignal(model=pin, **PARAMS)  # type: ignore[arg-type]
    driver = PaperDriver(prepare({"ETH/BTC": frame.iloc[WARM[0] : WARM[1]]}, spec), [strategy])
    alerts: list[tuple[str, dict[str, Any]]] = []
    watch = ModelWatch(engine, [strategy], settings, lambda t, p: alerts.append((t, p)),
                       bot_id=bot_id)  # fmt: skip
    assert watch.active
    full = _series(frame.iloc[:LIVE])
    for i in range(WARM[1], LIVE):
        driver.add("ETH/BTC", full.bar(i))
        for report in driver.flush():
            watch.on_close(driver.bars, report.bars, report.close_ms)
    return Replay(driver, strategy, watch, alerts)


def test_every_prediction_is_recorded_and_resolved_and_the_trades_equal_the_backtest(
    frame: pd.DataFrame, registry: tuple[Engine, list[RegisteredModel]]
) -> None:
    engine, (_, v2) = registry
    settings = MlConfig(feedback_window=100, drift_every=25, min_accuracy=0.05,
                        max_confidence_gap=1.0)  # fmt: skip
    replay = _replay(frame, engine, v2.pin, settings)
    # No alert on the clean replay: the same settings find the shifted one below.
    assert replay.alerts == []
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT COUNT(*), COUNT(outcome) FROM model_predictions WHERE model_id = :m"),
            {"m": v2.model_id},
        ).one()
    live = LIVE - WARM[1]
    assert rows[0] == live  # every live bar predicted once (all past the training data)
    assert rows[1] == live - HORIZON  # resolved once the horizon has passed, not before
    scored = resolved_predictions(engine, v2.model_id)
    bars = _series(frame.iloc[:LIVE])
    labels = direction_labels(bars, HORIZON)
    at = np.searchsorted(bars.ts, scored.bar_ts)
    assert np.array_equal(scored.outcome, labels.value[at].astype(np.int64))
    # The probabilities recorded are the model's, computed over all bars at once.
    model = replay.strategy.pinned.get(v2.pin)
    direct = model.probabilities(model.feature_matrix(FeatureInputs(bars)), at)
    assert np.array_equal(scored.probabilities, direct)
    # The rolling accuracy the operators see is the feedback arithmetic's over those rows.
    quality = rolling_quality(scored.probabilities, scored.classes, scored.outcome, 100)
    (view,) = replay.watch.views()
    assert view["accuracy"] == pytest.approx(quality.accuracy[-1])
    assert (view["predictions"], view["resolved"]) == (live, live - HORIZON)
    # Predicting each new bar only (the rows before kept) trades exactly as the backtest.
    spec = BacktestSpec(account=Account(cash=1, stake="50%"))
    first = frame["date"].iloc[WARM[1]]
    prepared = prepare({"ETH/BTC": frame.iloc[WARM[0] : LIVE]},
                       BacktestSpec(account=spec.account, window=Window(start=first)))  # fmt: skip
    expected = run("ml_signal", prepared, {"model": v2.pin, **PARAMS}).trades
    got = replay.driver.result().trades
    assert len(expected) >= 3, "too few trades to compare"
    columns = ["side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "pnl"]
    pd.testing.assert_frame_equal(
        got[columns].reset_index(drop=True), expected[columns].reset_index(drop=True)
    )


def _shifted(frame: pd.DataFrame, start: int, factor: float) -> pd.DataFrame:
    """Every bar from ``start`` on moves ``factor`` times as far from its previous close: the
    returns (and so the volatility features) shift, the bounded oscillators do not."""
    out = frame.copy()
    base = float(frame["close"].iloc[start - 1])
    for column in ("open", "high", "low", "close"):
        values = frame[column].to_numpy(dtype=np.float64)
        out.loc[start:, column] = base * (values[start:] / base) ** factor
    return out


def test_a_feature_shifted_in_the_replay_alerts_and_rolls_back(
    frame: pd.DataFrame, registry: tuple[Engine, list[RegisteredModel]]
) -> None:
    engine, (v1, v2) = registry
    # Both features passed the training-time stationarity check, recorded with the model.
    assert v2.card.monitored == FEATURES
    settings = MlConfig(feedback_window=100, drift_every=25, min_accuracy=0.05,
                        max_confidence_gap=1.0, rollback_on=("drift",))  # fmt: skip
    replay = _replay(_shifted(frame, WARM[1] + 200, 4.0), engine, v2.pin, settings)
    kinds = [t for t, _ in replay.alerts]
    assert kinds[:2] == ["alert.model_drift", "alert.model_rollback"], replay.alerts
    drift = replay.alerts[0][1]
    assert "ret_1" in drift["message"]
    assert "bb_position" not in drift["message"]
    assert drift["version"] == 2
    stages = {e.version: e.stage for e in registered_models(engine, "eth-dir")}
    assert stages == {1: "production", 2: "rolled_back"}
    assert replay.strategy.model == v1.pin  # the session trades the restored version
    with engine.connect() as connection:
        by_model = dict(connection.execute(text(
            "SELECT model_id, MIN(bar_ts) FROM model_predictions GROUP BY model_id"
        )).all())  # fmt: skip
    assert set(by_model) == {v1.model_id, v2.model_id}  # v1's predictions recorded after it


def test_accuracy_below_the_floor_alerts_and_recalibrates_once_per_window(
    frame: pd.DataFrame, registry: tuple[Engine, list[RegisteredModel]]
) -> None:
    engine, (_, v2) = registry
    settings = MlConfig(feedback_window=100, min_accuracy=0.95, drift_every=100_000)
    replay = _replay(frame, engine, v2.pin, settings)
    kinds = {t for t, _ in replay.alerts}
    assert kinds == {"alert.model_accuracy"}
    assert all("recalibrated" in p["message"] for _, p in replay.alerts)
    (view,) = replay.watch.views()
    # Judged again only on a full window resolved after each recalibration.
    assert view["recalibrations"] == len(replay.alerts) == (LIVE - WARM[1] - HORIZON) // 100
    scored = resolved_predictions(engine, v2.model_id)
    model = replay.strategy.pinned.get(v2.pin)
    bars = _series(frame.iloc[:LIVE])
    at = np.searchsorted(bars.ts, scored.bar_ts)
    raw = model.probabilities(model.feature_matrix(FeatureInputs(bars)), at)
    same = np.all(scored.probabilities == raw, axis=1)
    # Predictions before the first alert are the model's own; every one after it recalibrated.
    first_changed = int(np.argmin(same))
    assert same[:first_changed].all()
    assert not same[first_changed:].any()
    assert first_changed == 100 + HORIZON


def test_retraining_is_queued_on_schedule_and_the_worker_runs_it_behind_the_gate(
    frame: pd.DataFrame, registry: tuple[Engine, list[RegisteredModel]], tmp_path: Path
) -> None:
    engine, (_, v2) = registry
    bot = open_bot("ml", bots_dir=tmp_path / "bots")
    candles = tmp_path / "ETH_BTC-5m.feather"
    frame.iloc[:LIVE].reset_index(drop=True).to_feather(candles)
    every = 100 * 5 / 1440  # a hundred 5m bars, in days
    settings = MlConfig(drift_every=100_000, min_accuracy=0.05, max_confidence_gap=1.0,
                        retrain_every_days=every, retrain_data=str(candles))  # fmt: skip
    _replay(frame, engine, v2.pin, settings, bot_id=bot.bot_id)
    # Due every hundred bars, but queued once: the first job still waits for a worker.
    [queued] = jobs(engine, bot.bot_id)
    assert (queued["kind"], queued["state"], queued["requested_by"]) == (
        "ml_retrain", "queued", "schedule")  # fmt: skip
    assert queued["spec"] == {"model": "eth-dir", "data": str(candles)}
    assert work(bot_url("ml", tmp_path / "bots"), once=True, nice=0) == 1
    [done] = jobs(engine, bot.bot_id)
    assert done["state"] == "done", done
    assert done["result"]["version"] == 3
    stages = {e.version: e.stage for e in registered_models(engine, "eth-dir")}
    assert stages[3] == ("production" if done["result"]["promoted"] else "candidate")
    assert stages[2] == ("archived" if done["result"]["promoted"] else "production")


def test_every_member_of_an_ensemble_of_registered_models_is_watched(
    frame: pd.DataFrame, registry: tuple[Engine, list[RegisteredModel]]
) -> None:
    engine, (v1, v2) = registry
    strategy = MlEnsemble(models=f"{v1.pin},{v2.pin}", weights="1,2", threshold=0.5,
                          exit_below=0.45)  # fmt: skip
    spec = BacktestSpec(account=Account(cash=1, stake="50%"))
    driver = PaperDriver(prepare({"ETH/BTC": frame.iloc[WARM[0] : WARM[1]]}, spec), [strategy])
    settings = MlConfig(drift_every=100_000, min_accuracy=0.05, max_confidence_gap=1.0)
    watch = ModelWatch(engine, [strategy], settings, lambda t, p: None)
    full = _series(frame.iloc[: WARM[1] + 100])
    for i in range(WARM[1], WARM[1] + 100):
        driver.add("ETH/BTC", full.bar(i))
        for report in driver.flush():
            watch.on_close(driver.bars, report.bars, report.close_ms)
    views = {v["version"]: v for v in watch.views()}
    assert {k: (v["predictions"], v["resolved"]) for k, v in views.items()} == {
        1: (100, 100 - HORIZON), 2: (100, 100 - HORIZON),
    }  # fmt: skip
    # Each member's own probabilities are recorded under its own version.
    for entry in (v1, v2):
        scored = resolved_predictions(engine, entry.model_id)
        model = strategy.pinned.get(entry.pin)
        at = np.searchsorted(full.ts, scored.bar_ts)
        direct = model.probabilities(model.feature_matrix(FeatureInputs(full)), at)
        assert np.array_equal(scored.probabilities, direct)
