"""Triangles (ascending, descending, symmetrical) and flags (bull, bear).

Read from the alternating swing sequence when its newest pivot is confirmed; then the first
close through a boundary within ``max_wait`` bars confirms the pattern, reported at that close.
A triangle may break either way (the detection's direction is the breakout's); a flag must break
in the direction of its pole, and a close beyond the flag's far extreme first voids it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.indicators.patterns._breakout import Line, first_break
from tradewind.indicators.patterns.chart_types import (
    ChartPattern,
    Direction,
    Pivot,
    PivotKind,
    check_bars,
    check_fraction,
)

Prices = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True)
class TriangleParams:
    """Triangle shape limits.

    Attributes
    ----------
    flat_tolerance : float, default 0.1
        A boundary counts as flat when its two pivots differ by at most this fraction of the
        triangle's height (first high minus first low); a sloping boundary must move by more.
    min_height : float, default 0.002
        Smallest height as a fraction of the first low's price.
    max_wait : int, default 50
        Bars after the last pivot is confirmed during which a boundary must break; the search
        also stops at the apex, where the boundaries meet.
    """

    flat_tolerance: float = 0.1
    min_height: float = 0.002
    max_wait: int = 50

    def __post_init__(self) -> None:
        check_fraction("TriangleParams", "flat_tolerance", self.flat_tolerance)
        check_fraction("TriangleParams", "min_height", self.min_height)
        check_bars("TriangleParams", "max_wait", self.max_wait)


@dataclass(frozen=True, kw_only=True)
class FlagParams:
    """Flag shape limits.

    Attributes
    ----------
    min_pole : float, default 0.005
        Smallest pole (the sharp move before the flag) as a fraction of its starting price.
    max_retrace : float, default 0.5
        The flag may give back at most this fraction of the pole.
    max_flag_ratio : float, default 2.0
        The flag may last at most this many times the pole's length in bars.
    max_wait : int, default 30
        Bars after the flag's last pivot is confirmed during which it must break out.
    """

    min_pole: float = 0.005
    max_retrace: float = 0.5
    max_flag_ratio: float = 2.0
    max_wait: int = 30

    def __post_init__(self) -> None:
        check_fraction("FlagParams", "min_pole", self.min_pole)
        check_fraction("FlagParams", "max_retrace", self.max_retrace, upper=1.0)
        check_fraction("FlagParams", "max_flag_ratio", self.max_flag_ratio)
        check_bars("FlagParams", "max_wait", self.max_wait)


def _triangle_kind(
    rise_high: float, rise_low: float, flat: float
) -> tuple[str, float] | tuple[None, float]:
    """Name the triangle from the change of each boundary; second item: flatness score."""
    if abs(rise_high) <= flat and rise_low > flat:
        return "ascending_triangle", (1.0 - abs(rise_high) / flat) if flat > 0 else 1.0
    if abs(rise_low) <= flat and rise_high < -flat:
        return "descending_triangle", (1.0 - abs(rise_low) / flat) if flat > 0 else 1.0
    if rise_high < -flat and rise_low > flat:
        return "symmetrical_triangle", 1.0
    return None, 0.0


def detect_triangle(
    sequence: list[Pivot], known_at: int, close: Prices, params: TriangleParams
) -> list[ChartPattern]:
    """Check the newest four swings (two highs, two lows) for a converging triangle.

    Score: for ascending (descending) triangles, the flatness of the flat side,
    ``1 - |change| / (flat_tolerance * height)``; for symmetrical ones, the symmetry of the two
    slopes, ``1 - ||s_high| - |s_low|| / (|s_high| + |s_low|)``.
    """
    if len(sequence) < 4:
        return []
    window = sequence[-4:]
    h1, h2 = (p for p in window if p.kind == PivotKind.HIGH)
    l1, l2 = (p for p in window if p.kind == PivotKind.LOW)
    height = h1.price - l1.price
    if height <= 0.0 or height < params.min_height * abs(l1.price):
        return []
    name, score = _triangle_kind(
        h2.price - h1.price, l2.price - l1.price, params.flat_tolerance * height
    )
    if name is None:
        return []
    upper = Line.through(h1, h2)
    lower = Line.through(l1, l2)
    if name == "symmetrical_triangle":
        su, sl = abs(upper.slope), abs(lower.slope)
        score = 1.0 - abs(su - sl) / (su + sl)
    closing = upper.slope - lower.slope
    if closing >= 0.0:  # per-bar slopes can still diverge when the pivots are unevenly spaced
        return []
    apex = known_at + (upper.at(known_at) - lower.at(known_at)) / -closing
    stop = min(close.shape[0], known_at + params.max_wait + 1, math.ceil(apex))
    hit = first_break(close, known_at, stop, upper, lower)
    if hit is None:
        return []
    bar, side = hit
    level = (upper if side > 0 else lower).at(bar)
    # The last swing on the far side, or the far boundary itself if that is nearer (a rising
    # upper line near the apex can leave the last swing low above the lower boundary).
    far = min(l2.price, lower.at(bar)) if side > 0 else max(h2.price, upper.at(bar))
    return [
        ChartPattern(
            name=name,
            direction=Direction(side),
            confirmed_at=bar,
            pivot_indexes=tuple(p.index for p in window),
            pivot_prices=tuple(p.price for p in window),
            neckline=level,
            target=level + side * height,
            invalidation=far,
            score=max(0.0, min(1.0, score)),
        )
    ]


def detect_flag(
    sequence: list[Pivot], known_at: int, close: Prices, params: FlagParams
) -> list[ChartPattern]:
    """Check the newest five swings for a flag: a pole, then a channel drifting against it.

    Bull flag: low (pole start), high (pole top), low, lower-or-equal high, lower-or-equal low;
    bear flag mirrored. Breakout: a close through the line joining the flag's two extremes on
    the pole side. Score: ``1 - retrace / max_retrace`` (a shallow flag scores higher).
    """
    if len(sequence) < 5:
        return []
    base, top1, dip1, top2, dip2 = sequence[-5:]
    sign = int(top1.kind)  # +1: bull flag (pole up); -1: bear flag
    pole = (top1.price - base.price) * sign
    if pole <= 0.0 or pole < params.min_pole * abs(base.price):
        return []
    if (top2.price - top1.price) * sign > 0.0 or (dip2.price - dip1.price) * sign > 0.0:
        return []
    deepest = min(dip1.price * sign, dip2.price * sign) * sign
    retrace = (top1.price - deepest) * sign / pole
    if retrace > params.max_retrace:
        return []
    if dip2.index - top1.index > params.max_flag_ratio * (top1.index - base.index):
        return []
    boundary = Line.through(top1, top2)
    void = Line.level(deepest)
    stop = min(close.shape[0], known_at + params.max_wait + 1)
    upper, lower = (boundary, void) if sign > 0 else (void, boundary)
    hit = first_break(close, known_at, stop, upper, lower)
    if hit is None or hit[1] != sign:
        return []
    bar = hit[0]
    level = boundary.at(bar)
    score = 1.0 - retrace / params.max_retrace if params.max_retrace > 0 else 1.0
    pivots = (base, top1, dip1, top2, dip2)
    return [
        ChartPattern(
            name="bull_flag" if sign > 0 else "bear_flag",
            direction=Direction(sign),
            confirmed_at=bar,
            pivot_indexes=tuple(p.index for p in pivots),
            pivot_prices=tuple(p.price for p in pivots),
            neckline=level,
            target=level + sign * pole,
            invalidation=deepest,
            score=max(0.0, min(1.0, score)),
        )
    ]
