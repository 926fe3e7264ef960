"""Reversal chart patterns: double top/bottom and head and shoulders (and its inverse).

Both are read from the alternating swing sequence (:mod:`.swings`) when its newest pivot is
confirmed, then wait up to ``max_wait`` bars for a close through the neckline; a close beyond
the invalidation level first voids the setup. The detection is reported at the breaking close.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.indicators.patterns._breakout import Line, first_break
from tradewind.indicators.patterns.chart_types import (
    ChartPattern,
    Direction,
    Pivot,
    check_bars,
    check_fraction,
)

Prices = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True)
class DoubleParams:
    """Double top/bottom shape limits.

    Attributes
    ----------
    peak_tolerance : float, default 0.15
        The two peaks (troughs) may differ by at most this fraction of the pattern height
        (mean peak minus the trough between them).
    min_height : float, default 0.002
        Smallest height as a fraction of the neckline price (0.002 = 0.2%), to skip noise.
    max_wait : int, default 50
        Bars after the second peak is confirmed during which the neckline must break.
    """

    peak_tolerance: float = 0.15
    min_height: float = 0.002
    max_wait: int = 50

    def __post_init__(self) -> None:
        check_fraction("DoubleParams", "peak_tolerance", self.peak_tolerance)
        check_fraction("DoubleParams", "min_height", self.min_height)
        check_bars("DoubleParams", "max_wait", self.max_wait)


@dataclass(frozen=True, kw_only=True)
class HeadShouldersParams:
    """Head-and-shoulders shape limits.

    Attributes
    ----------
    shoulder_tolerance : float, default 0.3
        The shoulders may differ by at most this fraction of the head height (head minus the
        neckline under it).
    neckline_tolerance : float, default 0.3
        The two neckline troughs may differ by at most this fraction of the head height.
    min_head_excess : float, default 0.1
        The head must stand above the higher shoulder by at least this fraction of its height.
    min_height : float, default 0.002
        Smallest head height as a fraction of the neckline price.
    max_wait : int, default 50
        Bars after the right shoulder is confirmed during which the neckline must break.
    """

    shoulder_tolerance: float = 0.3
    neckline_tolerance: float = 0.3
    min_head_excess: float = 0.1
    min_height: float = 0.002
    max_wait: int = 50

    def __post_init__(self) -> None:
        for name in ("shoulder_tolerance", "neckline_tolerance", "min_head_excess", "min_height"):
            check_fraction("HeadShouldersParams", name, getattr(self, name))
        check_bars("HeadShouldersParams", "max_wait", self.max_wait)


def _closeness(deviation: float, allowance: float) -> float:
    """1 when ``deviation`` is 0, falling linearly to 0 at ``allowance``."""
    if allowance <= 0.0:
        return 1.0
    return max(0.0, 1.0 - deviation / allowance)


def detect_double(
    sequence: list[Pivot], known_at: int, close: Prices, params: DoubleParams
) -> list[ChartPattern]:
    """Check the newest three swings for a double top (high-low-high) or bottom.

    Score: ``1 - |peak2 - peak1| / (peak_tolerance * height)``: 1 for equal peaks, 0 at the
    tolerance limit.
    """
    if len(sequence) < 3:
        return []
    first, trough, second = sequence[-3:]
    sign = int(first.kind)  # +1: two highs around a low (top); -1: bottom
    peak = (first.price + second.price) / 2.0
    height = (peak - trough.price) * sign
    if height <= 0.0 or height < params.min_height * abs(trough.price):
        return []
    allowance = params.peak_tolerance * height
    deviation = abs(second.price - first.price)
    if deviation > allowance:
        return []
    extreme = max(first.price, second.price) if sign > 0 else min(first.price, second.price)
    neck = Line.level(trough.price)
    void = Line.level(extreme)
    stop = min(close.shape[0], known_at + params.max_wait + 1)
    upper, lower = (void, neck) if sign > 0 else (neck, void)
    hit = first_break(close, known_at, stop, upper, lower)
    if hit is None or hit[1] != -sign:
        return []
    return [
        ChartPattern(
            name="double_top" if sign > 0 else "double_bottom",
            direction=Direction(-sign),
            confirmed_at=hit[0],
            pivot_indexes=(first.index, trough.index, second.index),
            pivot_prices=(first.price, trough.price, second.price),
            neckline=trough.price,
            target=trough.price - sign * height,
            invalidation=extreme,
            score=_closeness(deviation, allowance),
        )
    ]


def detect_head_shoulders(
    sequence: list[Pivot], known_at: int, close: Prices, params: HeadShouldersParams
) -> list[ChartPattern]:
    """Check the newest five swings for a head and shoulders (top or inverse).

    The neckline is the line through the two troughs (peaks for the inverse) and may slope.
    Score: ``1 - 0.5 * shoulder_gap / (shoulder_tolerance * height)
    - 0.5 * neckline_gap / (neckline_tolerance * height)``.
    """
    if len(sequence) < 5:
        return []
    left, neck1, head, neck2, right = sequence[-5:]
    sign = int(head.kind)  # +1: head and shoulders top; -1: inverse
    if (head.price - left.price) * sign <= 0.0 or (head.price - right.price) * sign <= 0.0:
        return []
    neck = Line.through(neck1, neck2)
    height = (head.price - neck.at(head.index)) * sign
    if height <= 0.0 or height < params.min_height * abs(neck.at(head.index)):
        return []
    if (left.price - neck.at(left.index)) * sign <= 0.0:
        return []
    if (right.price - neck.at(right.index)) * sign <= 0.0:
        return []
    outer = max(left.price * sign, right.price * sign)
    if head.price * sign - outer < params.min_head_excess * height:
        return []
    shoulder_allow = params.shoulder_tolerance * height
    neck_allow = params.neckline_tolerance * height
    shoulder_gap = abs(left.price - right.price)
    neck_gap = abs(neck2.price - neck1.price)
    if shoulder_gap > shoulder_allow or neck_gap > neck_allow:
        return []
    void = Line.level(right.price)
    stop = min(close.shape[0], known_at + params.max_wait + 1)
    upper, lower = (void, neck) if sign > 0 else (neck, void)
    hit = first_break(close, known_at, stop, upper, lower)
    if hit is None or hit[1] != -sign:
        return []
    bar = hit[0]
    level = neck.at(bar)
    score = 1.0 - 0.5 * (1.0 - _closeness(shoulder_gap, shoulder_allow))
    score -= 0.5 * (1.0 - _closeness(neck_gap, neck_allow))
    pivots = (left, neck1, head, neck2, right)
    return [
        ChartPattern(
            name="head_and_shoulders" if sign > 0 else "inverse_head_and_shoulders",
            direction=Direction(-sign),
            confirmed_at=bar,
            pivot_indexes=tuple(p.index for p in pivots),
            pivot_prices=tuple(p.price for p in pivots),
            neckline=level,
            target=level - sign * height,
            invalidation=right.price,
            score=max(0.0, min(1.0, score)),
        )
    ]
