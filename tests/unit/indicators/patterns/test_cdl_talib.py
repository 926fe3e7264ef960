"""Every TA-Lib twin agrees with talib.CDL* bar for bar on every shared candle file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import talib
from pattern_data import CANDLE_FILES, load_ohlc

from tradewind.indicators.patterns import TALIB_TWINS


@pytest.mark.parametrize("name", sorted(TALIB_TWINS))
@pytest.mark.parametrize("path", CANDLE_FILES, ids=lambda p: p.name)
def test_agrees_with_talib(shared_data: Path, path: Path, name: str) -> None:
    o, h, l, c = load_ohlc(path)  # noqa: E741
    expected = getattr(talib, name)(o, h, l, c)

    ours = TALIB_TWINS[name](o, h, l, c)

    assert ours.dtype == np.int32
    assert ours.shape == expected.shape
    differ = np.flatnonzero(ours != expected)
    agreement = 1.0 - differ.size / max(len(o), 1)
    # The target is exact agreement (we reproduce TA-Lib's sums and comparisons); the issue's
    # floor of 99% is asserted too so a failure says how far off we are.
    assert agreement >= 0.99, f"{name}: {agreement:.4%} agreement on {path.name}"
    assert differ.size == 0, (
        f"{name} differs from TA-Lib at bars {differ[:10].tolist()} on {path.name}: "
        f"ours {ours[differ[:10]].tolist()}, talib {expected[differ[:10]].tolist()}"
    )


@pytest.mark.parametrize(
    ("name", "penetration"),
    [("CDLDARKCLOUDCOVER", 0.2), ("CDLMORNINGSTAR", 0.0), ("CDLEVENINGSTAR", 0.6)],
)
def test_penetration_argument_matches_talib(
    shared_data: Path, name: str, penetration: float
) -> None:
    path = next(p for p in CANDLE_FILES if p.name.startswith("btc-perp"))
    o, h, l, c = load_ohlc(path)  # noqa: E741
    expected = getattr(talib, name)(o, h, l, c, penetration=penetration)

    ours = TALIB_TWINS[name](o, h, l, c, penetration=penetration)

    assert np.count_nonzero(expected) > 0
    np.testing.assert_array_equal(ours, expected)


def test_weaker_variants_are_exercised(shared_data: Path) -> None:
    """The +-80 branches of engulfing and harami are hit by real data, not only by accident."""
    o, h, l, c = load_ohlc(next(p for p in CANDLE_FILES if p.name.startswith("UNITTEST")))  # noqa: E741
    for name in ("CDLENGULFING", "CDLHARAMI", "CDLHARAMICROSS"):
        values = set(np.unique(TALIB_TWINS[name](o, h, l, c)).tolist())
        assert {-100, -80, 80, 100} <= values, name
