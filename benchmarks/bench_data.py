"""Market-data layer: validation, resampling (against pandas' resample) and the parquet catalog.

All on the bundled real BTC-perp month (45,031 one-minute candles).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import Row, best_time
from tradewind.core.timeframe import Timeframe
from tradewind.data.bundled import BUNDLED_KEY, load_bundled
from tradewind.data.catalog import Catalog
from tradewind.data.kinds import DataKind
from tradewind.data.resample import resample
from tradewind.data.validate import validate

_AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def _pandas_resample(frame: pd.DataFrame, rule: str) -> pd.DataFrame:
    out = frame.set_index("date").resample(rule).agg(_AGG).dropna(subset=["open"])
    return out.reset_index()


def run(quick: bool) -> list[Row]:
    """Time validation, resampling and a catalog round trip; check each result first."""
    frame, meta = load_bundled()
    repeat = 3 if quick else 7
    m1 = Timeframe.parse("1m")
    rows: list[Row] = []

    report = validate(frame, DataKind.CANDLES, m1)
    assert report.ok
    assert report.rows == 45_031
    assert report.gap_count == 0
    rows.append(
        Row(
            "data",
            "validate 45k 1m candles",
            best_time(lambda: validate(frame, DataKind.CANDLES, m1), repeat=repeat),
            target="< 10 ms",
        )
    )

    for rule in ("5m", "1h"):
        tf = Timeframe.parse(rule)
        ours = resample(frame, tf, m1)
        ref = _pandas_resample(frame, rule.replace("m", "min"))
        # Same candles except pandas also emits the unclosed last bucket.
        ref = ref.iloc[: len(ours)]
        assert np.array_equal(ours["high"].to_numpy(), ref["high"].to_numpy())
        assert np.allclose(ours["volume"].to_numpy(), ref["volume"].to_numpy(), rtol=1e-12)
        rows.append(
            Row(
                "data",
                f"resample 45k 1m -> {rule}",
                best_time(lambda tf=tf: resample(frame, tf, m1), repeat=repeat),
                peer_name="pandas resample().agg",
                peer=best_time(
                    lambda rule=rule: _pandas_resample(frame, rule.replace("m", "min")),
                    repeat=repeat,
                ),
            )
        )

    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog(Path(tmp))
        catalog.write(BUNDLED_KEY, frame, meta=meta)
        assert catalog.read(BUNDLED_KEY).equals(frame)
        rows.append(
            Row(
                "data",
                "catalog write 45k candles (zstd)",
                best_time(lambda: catalog.write(BUNDLED_KEY, frame), repeat=repeat),
            )
        )
        rows.append(
            Row(
                "data",
                "catalog read 45k candles",
                best_time(lambda: catalog.read(BUNDLED_KEY), repeat=repeat),
            )
        )
    return rows
