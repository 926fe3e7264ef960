"""A registered model in a session: each close computes the new bar's features from a bounded
window of history, and what it predicts equals the whole history's computation (bundled month)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tradewind.core.timeframe import Timeframe
from tradewind.data.bundled import BUNDLED_SYMBOL, load_bundled
from tradewind.ml.artifact import ModelCard, bars_digest, make_pin
from tradewind.ml.calibrated import fit_calibrated
from tradewind.ml.dataset import build_dataset
from tradewind.ml.features import FeatureInputs, feature, history_bars
from tradewind.ml.models import BoostingSettings
from tradewind.ml.study import StudySettings
from tradewind.ml.targets import DIRECTION_NAMES, direction_labels
from tradewind.series.bars import BarSeries
from tradewind.strategies.builtin._direction import PinnedModels

FEATURES = ("ret_1", "ret_20", "rsi_14", "ema_gap_50", "adx_14", "bb_width", "regime_volatile",
            "htf_rsi_14", "htf_trend")  # fmt: skip


def test_a_sessions_rows_from_bounded_windows_equal_the_whole_historys(tmp_path: Path) -> None:
    frame, _ = load_bundled()
    month = BarSeries.from_frame(frame, BUNDLED_SYMBOL, Timeframe.parse("1m"))
    train = month.head(15_000)
    chosen = tuple(feature(f) for f in FEATURES)
    ds = build_dataset(FeatureInputs(train), direction_labels(train, 30), chosen, sample_step=5)
    card = ModelCard(
        model_type="", target="direction", horizon=30, features=(), parameters={},
        symbol=train.symbol, timeframe=str(train.timeframe), data_start_ts=int(train.ts[0]),
        data_end_ts=int(train.ts[-1]), data_hash=bars_digest(train), code_version="test",
    )  # fmt: skip
    settings = StudySettings(boosting=BoostingSettings(num_boost_round=60))
    model = fit_calibrated(ds, "lightgbm", settings, card, class_names=DIRECTION_NAMES)
    pin = make_pin(tmp_path / "m", model.save(tmp_path / "m"))
    start, steps = 30_000, 40
    assert history_bars(chosen, month.timeframe) * 3 < start  # the window is a fraction
    session = PinnedModels()
    for k in range(start, start + steps + 1):  # the history grows bar by bar
        grown = session.rows(pin, month.head(k))
    whole = PinnedModels().rows(pin, month.head(start + steps))
    new = slice(start, start + steps)
    assert np.isfinite(whole.matrix[new]).all()
    assert np.allclose(grown.matrix[new], whole.matrix[new], rtol=1e-9, atol=0)
    assert np.array_equal(grown.matrix[:start], whole.matrix[:start], equal_nan=True)
    assert np.isfinite(whole.proba[new]).all()
    assert np.allclose(grown.proba, whole.proba, rtol=0, atol=1e-12, equal_nan=True)
    assert np.array_equal(grown.familiar, whole.familiar)
