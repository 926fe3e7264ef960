"""Tweezer top/bottom: our own definition (TA-Lib has none), checked against a plain re-reading
of the documented rules on real data, and on a hand-built pair."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pattern_data import CANDLE_FILES, load_ohlc

from tradewind.indicators.patterns import cdltweezer, cdltweezerbottom, cdltweezertop


def _documented_tweezer(o, h, l, c) -> tuple[np.ndarray, set[int]]:  # noqa: E741
    """The docstring's rules with window means summed afresh; also the bars within rounding of
    a threshold, where a fresh sum and TA-Lib's running sum may legitimately disagree."""
    n = len(o)
    out = np.zeros(n, dtype=np.int32)
    close_calls: set[int] = set()
    for t in range(11, n):
        p = t - 1
        white_first = c[p] >= o[p]
        white_second = c[t] >= o[t]
        mean_body = sum(abs(c[j] - o[j]) for j in range(p - 10, p)) / 10
        mean_range = sum(h[j] - l[j] for j in range(p - 5, p)) / 5
        equal = 0.05 * mean_range
        body = abs(c[p] - o[p])
        gaps = [body - mean_body]
        if white_first and not white_second and body > mean_body:
            gaps.append(abs(h[t] - h[p]) - equal)
            if abs(h[t] - h[p]) <= equal and h[p] > h[p - 1]:
                out[t] = -100
        elif not white_first and white_second and body > mean_body:
            gaps.append(abs(l[t] - l[p]) - equal)
            if abs(l[t] - l[p]) <= equal and l[p] < l[p - 1]:
                out[t] = 100
        scale = max(abs(h[t]), 1.0)
        if any(abs(g) <= 1e-12 * scale for g in gaps):
            close_calls.add(t)
    return out, close_calls


@pytest.mark.parametrize("path", CANDLE_FILES, ids=lambda p: p.name)
def test_matches_documented_rules_on_real_data(shared_data: Path, path: Path) -> None:
    o, h, l, c = load_ohlc(path)  # noqa: E741
    expected, close_calls = _documented_tweezer(o, h, l, c)

    ours = cdltweezer(o, h, l, c)

    differ = set(np.flatnonzero(ours != expected).tolist())
    assert differ <= close_calls, (
        f"differs off rounding ties at {sorted(differ - close_calls)[:10]}"
    )
    np.testing.assert_array_equal(cdltweezertop(o, h, l, c), np.minimum(ours, 0))
    np.testing.assert_array_equal(cdltweezerbottom(o, h, l, c), np.maximum(ours, 0))


def test_real_data_has_both_kinds(shared_data: Path) -> None:
    o, h, l, c = load_ohlc(next(p for p in CANDLE_FILES if p.name.startswith("btc-perp")))  # noqa: E741
    marks = cdltweezer(o, h, l, c)
    assert np.count_nonzero(marks == 100) > 10
    assert np.count_nonzero(marks == -100) > 10


def _filler(n: int) -> list[tuple[float, float, float, float]]:
    # Identical quiet candles: body 0.5, range 1.5 -> mean body 0.5, "equal" 0.05 * 1.5 = 0.075.
    return [(100.0, 101.0, 99.5, 100.5)] * n


def _arrays(rows: list[tuple[float, float, float, float]]) -> tuple[np.ndarray, ...]:
    table = np.array(rows, dtype=np.float64)
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3]


def test_hand_built_top_is_marked_on_the_second_candle_only() -> None:
    rows = [
        *_filler(11),
        (100.0, 102.5, 99.8, 102.0),  # long white candle making a new high
        (102.0, 102.52, 100.3, 100.5),  # black candle, high 0.02 away (<= 0.075)
    ]
    o, h, l, c = _arrays(rows)  # noqa: E741

    marks = cdltweezer(o, h, l, c)
    early = cdltweezer(o[:12], h[:12], l[:12], c[:12])

    assert marks.tolist() == [0] * 12 + [-100]
    assert not early.any()


def test_hand_built_bottom_and_a_near_miss() -> None:
    bottom = [*_filler(11), (100.5, 100.7, 98.0, 98.5), (98.5, 100.0, 98.06, 99.8)]
    miss = [*_filler(11), (100.5, 100.7, 98.0, 98.5), (98.5, 100.0, 98.2, 99.8)]  # lows 0.2 apart

    assert cdltweezer(*_arrays(bottom))[-1] == 100
    assert cdltweezer(*_arrays(miss))[-1] == 0
