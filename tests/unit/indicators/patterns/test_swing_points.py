"""Swing points are reported k bars after the extreme, never earlier; the alternating sequence
keeps one extreme per leg."""

from __future__ import annotations

import numpy as np
import pytest
from pattern_data import drawn_path

from tradewind.core.errors import UserError
from tradewind.indicators.patterns import (
    Pivot,
    PivotKind,
    SwingParams,
    alternating_swings,
    swing_points,
)

PARAMS = SwingParams(left=3, right=3)


def test_swing_high_is_reported_at_its_confirmation_bar_not_before() -> None:
    high, low, _ = drawn_path([(0, 100.0), (5, 110.0), (10, 100.0), (15, 108.0)])

    before = swing_points(high[:8], low[:8], PARAMS)  # bars 0..7: only two bars after the peak
    at = swing_points(high[:9], low[:9], PARAMS)

    assert before == []
    assert at == [Pivot(index=5, price=110.0, kind=PivotKind.HIGH, confirmed_at=8)]


def test_both_kinds_found_on_a_zigzag() -> None:
    high, low, _ = drawn_path([(0, 100.0), (5, 110.0), (10, 100.0), (15, 108.0), (20, 104.0)])

    pivots = swing_points(high, low, PARAMS)

    assert [(p.index, p.kind, p.confirmed_at) for p in pivots] == [
        (5, PivotKind.HIGH, 8),
        (10, PivotKind.LOW, 13),
        (15, PivotKind.HIGH, 18),
    ]


def test_a_flat_top_gives_one_pivot_on_its_first_bar() -> None:
    high = np.array([1, 2, 3, 5, 5, 5, 4, 3, 2, 1], dtype=np.float64)

    pivots = swing_points(high, high, PARAMS)

    assert [(p.index, p.kind) for p in pivots] == [(3, PivotKind.HIGH)]


def test_left_window_is_strict_and_right_window_allows_ties() -> None:
    # The peak at bar 3 equals bar 5 on its right (allowed) but a peak equal to a bar on its
    # left (bar 7 equals bar 5) is not a new swing.
    high = np.array([1, 2, 3, 9, 4, 9, 2, 9, 1, 0, 0, 0], dtype=np.float64)

    indexes = [p.index for p in swing_points(high, high + 100, PARAMS) if p.kind == 1]

    assert indexes == [3]


def test_alternation_keeps_the_more_extreme_of_two_highs_and_drops_inverted_legs() -> None:
    h = PivotKind.HIGH
    lo = PivotKind.LOW
    pivots = [
        Pivot(5, 110.0, h, 8),
        Pivot(9, 112.0, h, 12),  # higher high with no low between: replaces bar 5
        Pivot(12, 111.0, h, 15),  # lower high: dropped
        Pivot(15, 113.0, lo, 18),  # a "low" above the last high: inverted leg, dropped
        Pivot(18, 104.0, lo, 21),
    ]

    states = [(p.index, [q.index for q in seq]) for p, seq in alternating_swings(pivots)]

    assert states == [(5, [5]), (9, [9]), (18, [9, 18])]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_swing_windows_are_refused(bad: object) -> None:
    with pytest.raises(UserError, match=r"SwingParams\.left"):
        SwingParams(left=bad)  # type: ignore[arg-type]
