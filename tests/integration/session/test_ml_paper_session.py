"""A paper session of ``ml_signal`` trading a registered model, against the exchange simulator
replaying the recorded ETH/BTC 5m bars: the session's operator side finds the model in the bot's
registry and records every prediction (resolved once its horizon has passed), the API serves the
model's live accuracy and confidence, the trades equal the backtest of the source file over the
same bars, and the drift report is empty."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import orjson
import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import text

from tradewind.backtest.api import backtest
from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig, MlConfig
from tradewind.connectors.client import create_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.core.timeframe import Timeframe
from tradewind.exchange_sim import Api, LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.ml.artifact import ModelCard, bars_digest, file_digests
from tradewind.ml.calibrated import fit_calibrated
from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import FeatureInputs, feature
from tradewind.ml.models import BoostingSettings
from tradewind.ml.study import StudySettings
from tradewind.ml.targets import DIRECTION_NAMES, direction_labels
from tradewind.ops.api import build_app
from tradewind.persistence.api_tokens import issue_token
from tradewind.persistence.bots import open_bot
from tradewind.persistence.config import DatabaseConfig
from tradewind.persistence.model_registry import promote_model, register_model
from tradewind.series.bars import BarSeries
from tradewind.session.drift import (
    drift_report,
    final_bars_from_exchange,
    instrument_from_settings,
)
from tradewind.session.operate import SessionOps
from tradewind.session.paper import PaperConfig, PaperSession

SYMBOL = "ETH/BTC"
HORIZON = 12
WARMUP = 600
BARS = 200
FEATURES = ("ret_1", "ret_5", "rsi_14", "bb_position", "rv_30")


def _register(bots: Path, frame: pd.DataFrame) -> str:
    """eth-dir v1, trained on the recording's first 2,400 bars, in production in bot "ml"."""
    bars = BarSeries.from_frame(frame.iloc[:2400], SYMBOL, Timeframe.parse("5m"))
    ds = build_dataset(FeatureInputs(bars), direction_labels(bars, HORIZON),
                       tuple(feature(f) for f in FEATURES), sample_step=2)  # fmt: skip
    card = ModelCard(
        model_type="", target="direction", horizon=HORIZON, features=(),
        parameters={"labels": "triple_barrier", "barrier": 1.0}, symbol=SYMBOL, timeframe="5m",
        data_start_ts=int(bars.ts[0]), data_end_ts=int(bars.ts[-1]),
        data_hash=bars_digest(bars), code_version="0.test",
    )  # fmt: skip
    settings = StudySettings(boosting=BoostingSettings(num_boost_round=25, min_data_in_leaf=20))
    model = fit_calibrated(ds, "lightgbm", settings, card, class_names=DIRECTION_NAMES)
    folder = bots / "ml" / "models" / "eth-dir" / "v1"
    model.save(folder)
    bot = open_bot("ml", bots_dir=bots)
    entry = register_model(bot.engine, name="eth-dir", version=1, card=model.card,
                           folder=folder, files=file_digests(folder))  # fmt: skip
    promote_model(bot.engine, "eth-dir", 1)
    bot.engine.dispose()
    return entry.pin


async def test_an_ml_paper_session_records_its_predictions_and_equals_its_backtest(
    shared_data: Path, tmp_path: Path
) -> None:
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    pin = _register(tmp_path / "bots", frame)
    params = {"model": pin, "entry": 0.5, "exit_below": 0.45}
    sim = SimExchange(seed=3, clock=SimClock(speed=math.inf), history=0.5)
    sim.add_listing(shared_listings()["spot:ETHBTC"], klines={"5m": frame})
    app = AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots")),
                    ml=MlConfig(feedback_window=50, drift_every=10_000, min_accuracy=0.01,
                                max_confidence_gap=1.0))  # fmt: skip
    ops = SessionOps(app, "ml")
    async with LoopbackServer(sim) as server:
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("ml_signal", params), symbols=(SYMBOL,),
            timeframe="5m", spec=BacktestSpec(account=Account(cash="1", stake="50%")),
            run_dir=tmp_path / "run", warmup_bars=WARMUP, max_bars=BARS,
        )  # fmt: skip
        result = await PaperSession(config, ops=ops).run()
        market = sim.market(Api.SPOT, "ETHBTC")
        assert market is not None
        timeline = sim.timeline(market)
        assert timeline is not None
        settings = orjson.loads((tmp_path / "run" / "session.json").read_bytes())
        first_live = settings["first_bar_ms"][SYMBOL]
        offset = timeline.offset_at(first_live)
        client = create_client(ExchangeConfig(rest_url=server.rest_url, rate_limit=False))
        final = await asyncio.to_thread(final_bars_from_exchange, tmp_path / "run", client)
    assert result.meta["bars_traded"] == BARS
    # The feedback loop ran inside the session: one prediction per traded bar, each resolved
    # once its horizon had passed, in the bot's database.
    assert ops.models is not None
    assert ops.database is not None
    with ops.database.engine.connect() as connection:
        counts = connection.execute(
            text("SELECT COUNT(*), COUNT(outcome) FROM model_predictions")
        ).one()
    assert tuple(counts) == (BARS, BARS - HORIZON)
    (view,) = ops.models.views()
    assert (view["name"], view["version"], view["resolved"]) == ("eth-dir", 1, BARS - HORIZON)
    assert 0 < view["accuracy"] < 1
    # Not recalibrated (the floor is set out of reach): the probabilities stay the model's, so
    # the session is the backtest. A recalibration would change the later trades, as it should.
    assert view["recalibrations"] == 0
    # The operators read each model's live accuracy and confidence from the API.
    facade = ops.facade
    assert facade is not None
    token = issue_token(ops.database.engine, name="reader", scopes=["read"],
                        bot_id=ops.database.bot_id)  # fmt: skip
    with TestClient(build_app(facade)) as client:
        answer = client.get("/api/v1/models", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()
    assert (row["name"], row["stage"], row["traded"]) == ("eth-dir", "production", True)
    assert row["accuracy"] == view["accuracy"]
    assert row["confidence"] == view["confidence"]
    assert row["resolved"] == BARS - HORIZON
    assert 0 < row["validation_accuracy"] < 1
    # The drift check watches what the training-time check chose: never the volatility level.
    assert "rv_30" in FEATURES
    assert "rv_30" not in row["monitored"]
    assert set(row["monitored"]) <= set(FEATURES)
    # The backtest of the source file over the same bars, from the same first bar.
    seen = result.close[SYMBOL]
    shift = pd.Timedelta(milliseconds=offset)
    window = frame[
        (frame["date"] >= seen.index[0] - shift) & (frame["date"] <= seen.index[-1] - shift)
    ]
    assert len(window) == len(seen)
    start = pd.Timestamp(first_live - offset, unit="ms", tz="UTC")
    instrument = instrument_from_settings(settings["instruments"][SYMBOL])
    expected = backtest("ml_signal", window, params, cash="1", stake="50%", symbol=SYMBOL,
                        timeframe="5m", start=start,
                        instruments={SYMBOL: instrument}).trades  # fmt: skip
    got = result.trades.copy()
    assert len(got) >= 3, "too few round trips to compare"
    got["entry_time"] -= shift
    got["exit_time"] -= shift
    columns = ["side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "fees",
               "pnl"]  # fmt: skip
    pd.testing.assert_frame_equal(
        got[columns].reset_index(drop=True), expected[columns].reset_index(drop=True)
    )
    report = drift_report(tmp_path / "run", {SYMBOL: final[SYMBOL]})
    assert report.ok, report.differences
    assert report.session_trades == report.backtest_trades == len(got)
