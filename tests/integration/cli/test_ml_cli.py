"""``tradewind ml evaluate | train`` on real candles: the table, the HTML page, the saved model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tradewind.core.timeframe import Timeframe
from tradewind.ml.features import FeatureInputs
from tradewind.ml.training import TrainedPipeline
from tradewind.series.bars import BarSeries
from tradewind.testing.candles import load_candles

CliRunner = Callable[..., Any]


def _eth(shared_data: Path) -> Path:
    return shared_data / "candles" / "ETH_BTC-5m.feather"


def test_evaluate_prints_models_beside_baselines_and_writes_the_report(
    cli: CliRunner, shared_data: Path, tmp_path: Path
) -> None:
    page = tmp_path / "study.html"
    outcome = cli(
        "ml", "evaluate", "--data", _eth(shared_data), "--horizon", "12", "--splits", "2",
        "--sample-step", "4", "--models", "lightgbm", "--report", page,
    )  # fmt: skip
    assert outcome.code == 0, outcome.err
    for words in ("baseline: majority class", "baseline: persistence", "lightgbm", "beat"):
        assert words in outcome.out
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text
    assert "<svg" in text
    assert "permutation" in text


def test_evaluate_a_regression_target(cli: CliRunner, shared_data: Path) -> None:
    outcome = cli(
        "ml", "evaluate", "--data", _eth(shared_data), "--target", "mae", "--horizon", "12",
        "--splits", "2", "--sample-step", "4", "--models", "lightgbm",
    )  # fmt: skip
    assert outcome.code == 0, outcome.err
    for words in ("baseline: training mean", "lightgbm", "RMSE", "the baseline"):
        assert words in outcome.out


def test_train_saves_a_pipeline_that_predicts_the_latest_bar(
    cli: CliRunner, shared_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "model"
    outcome = cli(
        "ml", "train", "--out", out, "--model", "random_forest", "--data", _eth(shared_data),
        "--target", "regime", "--horizon", "12", "--sample-step", "3",
    )  # fmt: skip
    assert outcome.code == 0, outcome.err
    assert "saved to" in outcome.out
    assert sorted(p.name for p in out.iterdir()) == [
        "forest.onnx",
        "forest.skops",
        "model.json",
        "pipeline.json",
    ]
    pipeline = TrainedPipeline.load(out)
    c = load_candles(_eth(shared_data))
    bars = BarSeries("ETH/BTC", Timeframe.parse("5m"), c.timestamps, c.open, c.high, c.low,
                     c.close, c.volume)  # fmt: skip
    proba = pipeline.predict_latest(FeatureInputs(bars))
    assert proba.shape == (len(pipeline.model.classes),)
    assert np.isclose(proba.sum(), 1.0)
    assert set(pipeline.class_names.values()) == {"trending", "ranging", "volatile", "quiet"}


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--models", "svm"], "unknown model(s) svm"),
        (["--target", "weather"], "unknown target 'weather'"),
        (["--labels", "fixed_horizon"], "dead zone"),
        (["--labels", "zigzag"], "label method"),
    ],
)
def test_evaluate_mistakes_exit_2_naming_them(
    cli: CliRunner, shared_data: Path, args: list[str], names: str
) -> None:
    outcome = cli("ml", "evaluate", "--data", _eth(shared_data), *args)
    assert outcome.code == 2
    assert names in outcome.err
    assert "Traceback" not in outcome.err
