"""``tradewind ml train --register | list | promote | rollback | pin`` against a bot's database."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tradewind.core.timeframe import Timeframe
from tradewind.ml.artifact import parse_pin
from tradewind.ml.calibrated import CalibratedModel
from tradewind.ml.features import FeatureInputs
from tradewind.ops.jobs import validate_spec, work
from tradewind.persistence.bots import bot_url
from tradewind.persistence.engine import open_database
from tradewind.persistence.jobs import enqueue_job, job
from tradewind.series.bars import BarSeries
from tradewind.testing.candles import load_candles

CliRunner = Callable[..., Any]


def _train(cli: CliRunner, data: Path, model: str) -> Any:
    return cli(
        "ml", "train", "--register", "eth-dir", "--bot", "b1", "--model", model, "--data", data,
        "--horizon", "12", "--sample-step", "8",
    )  # fmt: skip


def _predict(cli: CliRunner, bars: BarSeries) -> np.ndarray:
    outcome = cli("ml", "pin", "eth-dir", "--bot", "b1")
    assert outcome.code == 0, outcome.err
    folder, digest = parse_pin(outcome.out.strip())
    model = CalibratedModel.load_verified(folder, digest)
    return model.probabilities(model.feature_matrix(FeatureInputs(bars)))


def test_register_promote_rollback_and_a_tampered_file(cli: CliRunner, shared_data: Path) -> None:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    c = load_candles(data)
    bars = BarSeries("ETH/BTC", Timeframe.parse("5m"), c.timestamps, c.open, c.high, c.low,
                     c.close, c.volume)  # fmt: skip
    first = _train(cli, data, "lightgbm")
    assert first.code == 0, first.err
    assert "eth-dir version 1 registered (candidate)" in first.out
    assert "baseline" in first.out
    assert _train(cli, data, "random_forest").code == 0

    listed = cli("ml", "list", "--bot", "b1", "--json")
    rows = json.loads(listed.out)
    assert [(r["version"], r["stage"], r["model_type"]) for r in rows] == [
        (1, "candidate", "lightgbm"), (2, "candidate", "random_forest"),
    ]  # fmt: skip
    assert rows[0]["data_hash"] == rows[1]["data_hash"]
    assert len(rows[0]["data_hash"]) == 64
    assert rows[0]["code_version"]
    assert 0 < rows[0]["metrics"]["accuracy"] < 1

    assert cli("ml", "pin", "eth-dir", "--bot", "b1").code == 2  # nothing in production yet
    assert cli("ml", "promote", "eth-dir", "1", "--bot", "b1").code == 0
    v1 = _predict(cli, bars)
    promoted = cli("ml", "promote", "eth-dir", "2", "--bot", "b1")
    assert "version 2 is in production" in promoted.out
    v2 = _predict(cli, bars)
    assert not np.array_equal(v1, v2, equal_nan=True)
    back = cli("ml", "rollback", "eth-dir", "--bot", "b1")
    assert back.code == 0, back.err
    assert "version 2 rolled back; version 1 is in production" in back.out
    assert np.array_equal(_predict(cli, bars), v1, equal_nan=True)
    # The production model's pin is the ml_signal strategy's `model` parameter.
    pin = cli("ml", "pin", "eth-dir", "--bot", "b1").out.strip()
    traded = cli("backtest", "-s", "ml_signal", "-p", f"model={pin}", "-p", "entry=0.5",
                 "-p", "exit_below=0.4", "--data", data, "--json", "run.json")  # fmt: skip
    assert traded.code == 0, traded.err
    # Only the bars after the last one its training labels read may be traded (out of sample).
    data_end = pd.Timestamp(rows[0]["data_end_ts"], unit="ms", tz="UTC")
    for trade in json.loads(Path("run.json").read_text())["trades"]:
        assert pd.Timestamp(trade["entry_time"]) > data_end
    table = cli("ml", "list", "eth-dir", "--bot", "b1")
    assert "rolled_back" in table.out
    assert "production" in table.out

    # A file of version 2 changed on disk: promoting it is refused, naming the file.
    pin = json.loads(cli("ml", "list", "--bot", "b1", "--json").out)[1]["pin"]
    folder, _ = parse_pin(pin)
    forest = folder / "forest.skops"
    forest.write_bytes(forest.read_bytes() + b"\0")
    refused = cli("ml", "promote", "eth-dir", "2", "--bot", "b1")
    assert refused.code == 2
    assert "changed: forest.skops" in refused.err
    assert "refusing to load" in refused.err
    assert "Traceback" not in refused.err
    assert json.loads(cli("ml", "list", "--bot", "b1", "--json").out)[0]["stage"] == "production"


def test_registry_mistakes_are_named(cli: CliRunner, shared_data: Path) -> None:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    for args, words in (
        (["ml", "train", "--data", data], "--out FOLDER"),
        (["ml", "train", "--register", "x", "--out", "o", "--data", data], "drop --out"),
        (["ml", "train", "--register", "bad name!", "--bot", "b1", "--data", data], "model name"),
        (["ml", "list"], "--bot NAME or --db-url"),
        (["ml", "promote", "nope", "1", "--bot", "b2"], "no bot 'b2'"),
    ):
        outcome = cli(*args)
        assert outcome.code == 2, (args, outcome.out)
        assert words in outcome.err, (args, outcome.err)


def test_retrain_is_promoted_only_when_it_beats_production_out_of_sample(
    cli: CliRunner, shared_data: Path, tmp_path: Path
) -> None:
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    early, later = Path("early") / "ETH_BTC-5m.feather", Path("later") / "ETH_BTC-5m.feather"
    for path, rows in ((early, 2500), (later, 4500)):
        path.parent.mkdir()
        frame.iloc[:rows].reset_index(drop=True).to_feather(path)
    first = cli("ml", "train", "--register", "eth-dir", "--bot", "b1", "--data", early,
                "--horizon", "12", "--sample-step", "4")  # fmt: skip
    assert first.code == 0, first.err
    assert cli("ml", "promote", "eth-dir", "1", "--bot", "b1").code == 0
    # No bar after version 1's training data: nothing to compare, nothing promoted.
    same = cli("ml", "retrain", "eth-dir", "--bot", "b1", "--data", early)
    assert same.code == 0, same.err
    assert "eth-dir version 2 trained on ETH/BTC 5m; not promoted: fewer than 20" in same.out
    # Newer bars, through the jobs worker: both versions scored on the candidate's held-out
    # samples after version 1's data; the better log loss wins.
    url = bot_url("b1", Path("user_data") / "bots")
    engine = open_database(url, create=False)
    spec = validate_spec("ml_retrain", {"model": "eth-dir", "data": str(later.resolve())})
    queued = enqueue_job(engine, kind="ml_retrain", spec=spec, requested_by="test", bot_id=None)
    assert work(url, once=True, nice=0) == 1
    done = job(engine, queued)
    engine.dispose()
    assert done is not None
    assert done["state"] == "done", done
    result = done["result"]
    summary = result["summary"]
    assert result["version"] == 3
    numbers = re.search(r"on (\d+) samples .*log loss ([\d.]+) vs ([\d.]+) \(version 1\)", summary)
    assert numbers is not None, summary
    assert int(numbers[1]) >= 20
    better = float(numbers[2]) < float(numbers[3])
    # And it must beat both naive baselines of the study, on log loss and accuracy.
    accuracy = float(re.search(r"accuracy ([\d.]+) vs", summary)[1])  # type: ignore[index]
    baselines = re.findall(r"baseline (majority class|persistence) log loss ([\d.]+), accuracy "
                           r"([\d.]+)", summary)  # fmt: skip
    assert [b[0] for b in baselines] == ["majority class", "persistence"], summary
    beats = all(float(numbers[2]) < float(b[1]) and accuracy > float(b[2]) for b in baselines)
    assert result["promoted"] is (better and beats)
    if better and not beats:
        assert "but not the naive baseline" in summary
    better = better and beats
    stages = {r["version"]: r["stage"] for r in json.loads(
        cli("ml", "list", "--bot", "b1", "--json").out)}  # fmt: skip
    assert stages == ({1: "archived", 2: "candidate", 3: "production"} if better
                      else {1: "production", 2: "candidate", 3: "candidate"})  # fmt: skip
    # The card keeps the recipe: version 3 was trained as version 1 was.
    rows = json.loads(cli("ml", "list", "--bot", "b1", "--json").out)
    assert rows[2]["horizon"] == rows[0]["horizon"] == 12
    assert rows[2]["data_end_ts"] > rows[0]["data_end_ts"]
