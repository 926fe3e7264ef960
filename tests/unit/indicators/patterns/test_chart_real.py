"""Chart detection on real candles: patterns are found, reported no earlier than their last
swing's confirmation, and the detections up to bar t are those computable from bars <= t."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pattern_data import CANDLE_FILES, load_ohlc

from tradewind.indicators.patterns import (
    ChartParams,
    ChartPattern,
    SwingParams,
    chart_patterns,
    double_tops_bottoms,
    flags,
    harmonic_patterns,
    head_and_shoulders,
    swing_points,
    triangles,
)

PARAMS = ChartParams()
K = PARAMS.swing.right


@pytest.mark.parametrize("path", CANDLE_FILES, ids=lambda p: p.name)
def test_detections_on_real_files_are_well_formed(shared_data: Path, path: Path) -> None:
    _, h, l, c = load_ohlc(path)  # noqa: E741

    found = chart_patterns(h, l, c, PARAMS)

    assert found, f"no chart pattern in {path.name}"
    for d in found:
        assert d.confirmed_at >= d.pivot_indexes[-1] + K, d
        assert d.confirmed_at < len(c)
        assert list(d.pivot_indexes) == sorted(d.pivot_indexes)
        assert 0.0 <= d.score <= 1.0
        for i, price in zip(d.pivot_indexes, d.pivot_prices, strict=True):
            assert price in (h[i], l[i])
        # The target lies on the predicted side of the confirming level, the stop on the other.
        level = d.neckline if d.neckline is not None else d.pivot_prices[-1]
        assert (d.target - level) * d.direction > 0, d
        assert (d.invalidation - level) * d.direction < 0, d
    assert [d.confirmed_at for d in found] == sorted(d.confirmed_at for d in found)


def test_the_long_file_has_every_kind(shared_data: Path) -> None:
    _, h, l, c = load_ohlc(next(p for p in CANDLE_FILES if p.name.startswith("btc-perp")))  # noqa: E741

    names = {d.name for d in chart_patterns(h, l, c, PARAMS)}

    assert names >= {
        "double_top",
        "double_bottom",
        "head_and_shoulders",
        "inverse_head_and_shoulders",
        "ascending_triangle",
        "descending_triangle",
        "symmetrical_triangle",
        "bull_flag",
        "bear_flag",
        "gartley",
        "bat",
        "butterfly",
        "crab",
    }


@pytest.mark.parametrize("path", CANDLE_FILES, ids=lambda p: p.name)
def test_swings_are_reported_k_bars_after_the_extreme(shared_data: Path, path: Path) -> None:
    _, h, l, _ = load_ohlc(path)  # noqa: E741
    params = SwingParams(left=4, right=6)

    pivots = swing_points(h, l, params)

    assert pivots
    for p in pivots:
        assert p.confirmed_at == p.index + 6
        window = h if p.kind == 1 else -l
        value = window[p.index]
        assert np.all(window[p.index - 4 : p.index] < value)
        assert np.all(window[p.index + 1 : p.index + 7] <= value)


DETECTORS: dict[str, Callable[..., list[ChartPattern]]] = {
    "swing_points": lambda h, l, c: swing_points(h, l),  # noqa: E741
    "chart_patterns": chart_patterns,
    "double_tops_bottoms": double_tops_bottoms,
    "head_and_shoulders": head_and_shoulders,
    "triangles": triangles,
    "flags": flags,
    "harmonic_patterns": harmonic_patterns,
}


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_detections_up_to_t_come_from_data_up_to_t(shared_data: Path, name: str) -> None:
    _, h, l, c = load_ohlc(next(p for p in CANDLE_FILES if p.name.startswith("ETH_BTC")))  # noqa: E741
    detect = DETECTORS[name]
    full = detect(h, l, c)
    # Probe right at confirmation bars (the edge a leak would cross) and at random bars.
    confirmations = sorted({d.confirmed_at for d in full})
    rng = np.random.default_rng(3)
    probes = set(confirmations[:: max(1, len(confirmations) // 6)][:6])
    probes |= {t - 1 for t in list(probes)} | set(rng.integers(20, len(c), size=4).tolist())

    for t in sorted(probes):
        truncated = detect(h[: t + 1], l[: t + 1], c[: t + 1])
        assert truncated == [d for d in full if d.confirmed_at <= t], f"{name} at bar {t}"
