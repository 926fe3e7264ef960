"""Hand-drawn paths that obviously form each chart and harmonic pattern: detected at the right
bar with the right key prices, and not one bar earlier."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pattern_data import drawn_path, mirrored

from tradewind.core.errors import UserError
from tradewind.indicators.patterns import (
    ChartPattern,
    Direction,
    DoubleParams,
    FlagParams,
    HarmonicParams,
    SwingParams,
    double_tops_bottoms,
    flags,
    harmonic_patterns,
    head_and_shoulders,
    triangles,
)

SWING = SwingParams(left=3, right=3)
Detect = Callable[..., list[ChartPattern]]


def _found(detect: Detect, waypoints: list[tuple[int, float]], name: str, upto: int | None = None):
    high, low, close = drawn_path(waypoints)
    end = len(close) if upto is None else upto
    found = detect(high[:end], low[:end], close[:end], swing=SWING)
    return [d for d in found if d.name == name]


def _only(detect: Detect, waypoints: list[tuple[int, float]], name: str, bar: int) -> ChartPattern:
    """The single ``name`` detection; also proves it is absent from data ending one bar earlier."""
    assert _found(detect, waypoints, name, upto=bar) == [], f"{name} seen before bar {bar}"
    found = _found(detect, waypoints, name, upto=bar + 1)
    assert len(found) == 1, found
    assert found == _found(detect, waypoints, name)
    return found[0]


DOUBLE_TOP = [(0, 100.0), (10, 110.0), (18, 104.0), (26, 110.5), (40, 95.0)]


def test_double_top() -> None:
    # Peaks 110 and 110.5 around a 104 trough; height 6.25. The fall from 110.5 loses 15.5/14
    # per bar and first closes below 104 at bar 32.
    found = _only(double_tops_bottoms, DOUBLE_TOP, "double_top", bar=32)

    assert found.direction == Direction.BEARISH
    assert found.pivot_indexes == (10, 18, 26)
    assert found.pivot_prices == (110.0, 104.0, 110.5)
    assert found.neckline == 104.0
    assert found.target == pytest.approx(104.0 - 6.25)
    assert found.invalidation == 110.5
    assert found.score == pytest.approx(1 - 0.5 / (0.15 * 6.25))


def test_double_bottom_is_the_mirror_image() -> None:
    found = _only(double_tops_bottoms, mirrored(DOUBLE_TOP), "double_bottom", bar=32)

    assert found.direction == Direction.BULLISH
    assert found.neckline == pytest.approx(96.0)
    assert found.target == pytest.approx(96.0 + 6.25)
    assert found.invalidation == pytest.approx(89.5)


def test_double_top_with_unequal_peaks_is_rejected() -> None:
    unequal = [(0, 100.0), (10, 110.0), (18, 104.0), (26, 112.0), (40, 95.0)]
    assert _found(double_tops_bottoms, unequal, "double_top") == []


def test_double_top_voided_when_price_closes_above_the_peak_first() -> None:
    # After the second peak is confirmed price rallies to a new high before any neckline break.
    void_first = [(0, 100.0), (10, 110.0), (18, 104.0), (26, 110.5), (29, 109.0), (33, 112.0)]
    void_first += [(45, 95.0)]
    assert _found(double_tops_bottoms, void_first, "double_top") == []


HEAD_SHOULDERS = [
    (0, 100.0),
    (8, 108.0),
    (14, 104.0),
    (22, 114.0),
    (30, 104.5),
    (38, 108.5),
    (50, 95.0),
]


def test_head_and_shoulders() -> None:
    # Neckline through (14, 104) and (30, 104.5): 104 + (bar - 14) / 32. Head height over it:
    # 114 - 104.25 = 9.75. Falling 1.125 per bar from 108.5 at bar 38, the first close under the
    # neckline is bar 42 (104.0 < 104.875).
    found = _only(head_and_shoulders, HEAD_SHOULDERS, "head_and_shoulders", bar=42)

    assert found.direction == Direction.BEARISH
    assert found.pivot_indexes == (8, 14, 22, 30, 38)
    assert found.neckline == pytest.approx(104.875)
    assert found.target == pytest.approx(104.875 - 9.75)
    assert found.invalidation == 108.5
    allowance = 0.3 * 9.75
    assert found.score == pytest.approx(1 - 0.5 * 0.5 / allowance - 0.5 * 0.5 / allowance)


def test_inverse_head_and_shoulders() -> None:
    found = _only(
        head_and_shoulders, mirrored(HEAD_SHOULDERS), "inverse_head_and_shoulders", bar=42
    )

    assert found.direction == Direction.BULLISH
    assert found.neckline == pytest.approx(200 - 104.875)
    assert found.target == pytest.approx(200 - 104.875 + 9.75)
    assert found.invalidation == pytest.approx(91.5)


ASCENDING = [(0, 95.0), (6, 110.0), (14, 100.0), (22, 110.3), (30, 104.0), (36, 112.0)]


def test_ascending_triangle_breaks_up() -> None:
    # Highs 110 -> 110.3 (flat within 0.1 x height 10), lows 100 -> 104 (rising). Upper line
    # 110 + 0.01875 (bar - 6); the climb of 4/3 per bar from bar 30 first closes above it at 35.
    found = _only(triangles, ASCENDING, "ascending_triangle", bar=35)

    assert found.direction == Direction.BULLISH
    assert found.pivot_indexes == (6, 14, 22, 30)
    assert found.neckline == pytest.approx(110.0 + 0.01875 * 29)
    assert found.target == pytest.approx(110.0 + 0.01875 * 29 + 10.0)
    assert found.invalidation == 104.0
    assert found.score == pytest.approx(1 - 0.3 / 1.0)


def test_descending_triangle_breaks_down() -> None:
    found = _only(triangles, mirrored(ASCENDING), "descending_triangle", bar=35)

    assert found.direction == Direction.BEARISH
    assert found.neckline == pytest.approx(200 - (110.0 + 0.01875 * 29))
    assert found.invalidation == pytest.approx(96.0)


def test_symmetrical_triangle() -> None:
    # Highs 112 -> 109 and lows 100 -> 103 over 16 bars each: equal and opposite slopes.
    waypoints = [(0, 95.0), (6, 112.0), (14, 100.0), (22, 109.0), (30, 103.0), (40, 110.0)]
    found = _only(triangles, waypoints, "symmetrical_triangle", bar=36)

    assert found.direction == Direction.BULLISH
    assert found.neckline == pytest.approx(112.0 - 0.1875 * 30)
    assert found.target == pytest.approx(112.0 - 0.1875 * 30 + 12.0)
    assert found.score == pytest.approx(1.0)


BULL_FLAG = [(0, 104.0), (4, 100.0), (10, 110.0), (14, 107.0), (18, 109.5), (22, 106.5)]
BULL_FLAG += [(34, 116.0)]


def test_bull_flag() -> None:
    # Pole 100 -> 110, flag retraces to 106.5 (35% of the pole); its upper line falls 1/16 per
    # bar from 110 at bar 10. Rising 9.5/12 per bar from bar 22, price closes above it at bar 26.
    found = _only(flags, BULL_FLAG, "bull_flag", bar=26)

    assert found.direction == Direction.BULLISH
    assert found.pivot_indexes == (4, 10, 14, 18, 22)
    assert found.neckline == pytest.approx(109.0)
    assert found.target == pytest.approx(119.0)
    assert found.invalidation == 106.5
    assert found.score == pytest.approx(1 - 0.35 / 0.5)


def test_bear_flag() -> None:
    found = _only(flags, mirrored(BULL_FLAG), "bear_flag", bar=26)

    assert found.direction == Direction.BEARISH
    assert found.neckline == pytest.approx(91.0)
    assert found.target == pytest.approx(81.0)
    assert found.invalidation == pytest.approx(93.5)


def test_too_deep_a_flag_is_rejected() -> None:
    deep = [(0, 104.0), (4, 100.0), (10, 110.0), (14, 104.0), (18, 109.5), (22, 103.0)]
    deep += [(34, 116.0)]
    assert _found(flags, deep, "bull_flag") == []


def _xabcd(x: float, a: float, ab: float, bc: float, xd: float) -> list[tuple[int, float]]:
    """A bullish XABCD path from the ratios: B retraces ab of XA, C bc of AB, D sits xd of XA
    below A; each leg six bars, so D (bar 28) is confirmed at bar 31."""
    b = a - ab * (a - x)
    c = b + bc * (a - b)
    d = a - xd * (a - x)
    return [(0, x + 5.0), (4, x), (10, a), (16, b), (22, c), (28, d), (36, a)]


@pytest.mark.parametrize(
    ("name", "ab", "bc", "xd"),
    [
        ("gartley", 0.618, 0.618, 0.786),
        ("bat", 0.45, 0.6, 0.886),
        ("butterfly", 0.786, 0.6, 1.3),
        ("crab", 0.5, 0.886, 1.618),
    ],
)
def test_harmonic_pattern(name: str, ab: float, bc: float, xd: float) -> None:
    waypoints = _xabcd(100.0, 110.0, ab, bc, xd)
    d = 110.0 - xd * 10.0
    spec_xd_high = {"gartley": 0.786, "bat": 0.886, "butterfly": 1.618, "crab": 1.618}[name]

    found = _only(harmonic_patterns, waypoints, name, bar=31)
    every = harmonic_patterns(*drawn_path(waypoints), swing=SWING)

    assert [p.name for p in every] == [name]  # the ratios fit no other spec
    assert found.direction == Direction.BULLISH
    assert found.pivot_indexes == (4, 10, 16, 22, 28)
    assert found.pivot_prices[-1] == pytest.approx(d)
    assert found.neckline is None
    assert found.target == pytest.approx(d + 0.618 * (110.0 - d))
    assert found.invalidation == pytest.approx(110.0 - spec_xd_high * 1.05 * 10.0)
    assert 0.5 < found.score <= 1.0


def test_bearish_gartley_is_the_mirror_image() -> None:
    waypoints = mirrored(_xabcd(100.0, 110.0, 0.618, 0.618, 0.786))

    found = _only(harmonic_patterns, waypoints, "gartley", bar=31)

    assert found.direction == Direction.BEARISH
    assert found.target == pytest.approx(200 - (102.14 + 0.618 * 7.86))


def test_harmonic_tolerance_is_a_parameter() -> None:
    # AB at 0.66 of XA misses Gartley's 0.618 by 6.8%: outside 5%, inside 10%.
    high, low, close = drawn_path(_xabcd(100.0, 110.0, 0.66, 0.618, 0.786))

    strict = harmonic_patterns(high, low, close, swing=SWING)
    loose = harmonic_patterns(high, low, close, swing=SWING, params=HarmonicParams(tolerance=0.1))

    assert "gartley" not in {p.name for p in strict}
    assert "gartley" in {p.name for p in loose}


@pytest.mark.parametrize(
    "build",
    [
        lambda: DoubleParams(peak_tolerance=-0.1),
        lambda: DoubleParams(max_wait=0),
        lambda: FlagParams(max_retrace=1.5),
        lambda: HarmonicParams(tolerance=float("nan")),
        lambda: HarmonicParams(specs=()),
    ],
)
def test_bad_parameters_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(UserError):
        build()
