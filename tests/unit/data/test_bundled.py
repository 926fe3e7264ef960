"""The bundled month equals the shared CSV it was converted from, and carries honest metadata."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from tradewind.data.bundled import BUNDLED_KEY, bundled_path, load_bundled
from tradewind.data.grid import infer_price_step
from tradewind.data.kinds import DataKind
from tradewind.data.meta import VolumeUnit
from tradewind.data.validate import validate


def test_bundled_month_equals_the_source_csv(shared_data: Path) -> None:
    frame, _ = load_bundled()
    source = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv")
    assert len(frame) == len(source) == 45_031
    dates = pd.to_datetime(source["timestamp"], utc=True).astype("datetime64[ms, UTC]")
    assert (frame["date"] == dates).all()
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(frame[name], source[name])


def test_bundled_month_is_valid_and_its_tick_is_derived_from_the_data() -> None:
    frame, meta = load_bundled()
    report = validate(frame, DataKind.CANDLES, BUNDLED_KEY.tf)
    assert report.ok
    assert report.gap_count == 0
    prices = [frame[c] for c in ("open", "high", "low", "close")]
    assert infer_price_step(*prices) == meta.instrument.price_step == Decimal("0.125")
    assert meta.volume_unit is VolumeUnit.QUOTE
    assert meta.instrument.quote == "USD"
    assert meta.instrument.symbol == "BTC-PERP"
    assert "a95c8042b00133829d252ae8cf68f78fc176a973" in meta.source


def test_bundled_file_ships_beside_its_readme() -> None:
    readme = (bundled_path().parent / "README.md").read_text()
    assert bundled_path().name in readme
    assert "LGPL-3.0" in readme
    assert "a95c8042b00133829d252ae8cf68f78fc176a973" in readme
