"""Harmonic XABCD patterns (Gartley, Bat, Butterfly, Crab) with Fibonacci-ratio tolerances.

Five alternating swings X, A, B, C, D are measured as four ratios:

- ``ab = |AB| / |XA|`` (B's retracement of XA),
- ``bc = |BC| / |AB|``,
- ``cd = |CD| / |BC|``,
- ``xd = |AD| / |XA|`` (D's retracement, or extension past X, of XA).

A pattern matches when every ratio lies in its spec's range widened by ``tolerance``
(``low * (1 - tolerance) .. high * (1 + tolerance)``). D is a swing, so the pattern is known, and
reported, when D is confirmed. A pattern ending on a swing low is bullish.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.core.errors import UserError
from tradewind.indicators.patterns.chart_types import (
    ChartPattern,
    Direction,
    Pivot,
    PivotKind,
    check_fraction,
)

Prices = npt.NDArray[np.float64]
Range = tuple[float, float]


@dataclass(frozen=True, kw_only=True)
class HarmonicSpec:
    """The ratio ranges of one harmonic pattern (see the module docstring for the ratios)."""

    name: str
    ab: Range
    bc: Range
    cd: Range
    xd: Range

    def __post_init__(self) -> None:
        for field in ("ab", "bc", "cd", "xd"):
            low, high = getattr(self, field)
            if not 0 < low <= high:
                raise UserError(f"HarmonicSpec {self.name!r}: {field} needs 0 < low <= high")


# The commonly published ratios (Carney's conventions); Butterfly's CD range is the narrower
# 1.618-2.24 so it stays distinct from the Crab's deeper 2.24-3.618 extension.
GARTLEY = HarmonicSpec(
    name="gartley", ab=(0.618, 0.618), bc=(0.382, 0.886), cd=(1.272, 1.618), xd=(0.786, 0.786)
)
BAT = HarmonicSpec(
    name="bat", ab=(0.382, 0.5), bc=(0.382, 0.886), cd=(1.618, 2.618), xd=(0.886, 0.886)
)
BUTTERFLY = HarmonicSpec(
    name="butterfly", ab=(0.786, 0.786), bc=(0.382, 0.886), cd=(1.618, 2.24), xd=(1.272, 1.618)
)
CRAB = HarmonicSpec(
    name="crab", ab=(0.382, 0.618), bc=(0.382, 0.886), cd=(2.24, 3.618), xd=(1.618, 1.618)
)


@dataclass(frozen=True, kw_only=True)
class HarmonicParams:
    """Harmonic detection settings.

    Attributes
    ----------
    tolerance : float, default 0.05
        Relative widening of every ratio range (0.05: 5% below the low end, 5% above the high).
    specs : tuple of HarmonicSpec
        The patterns to look for; Gartley, Bat, Butterfly and Crab by default.
    target_retracement : float, default 0.618
        The target is D plus this fraction of AD, back towards A.
    """

    tolerance: float = 0.05
    specs: tuple[HarmonicSpec, ...] = (GARTLEY, BAT, BUTTERFLY, CRAB)
    target_retracement: float = 0.618

    def __post_init__(self) -> None:
        check_fraction("HarmonicParams", "tolerance", self.tolerance, upper=1.0)
        check_fraction("HarmonicParams", "target_retracement", self.target_retracement)
        if not self.specs:
            raise UserError("HarmonicParams.specs must name at least one pattern")


def _ratio_score(value: float, bounds: Range, tolerance: float) -> float | None:
    """Closeness of ``value`` to the middle of ``bounds``; None outside the widened range.

    1 at the middle of the range, falling linearly to 0 at the widened edge on that side.
    """
    low, high = bounds
    lowest, highest = low * (1.0 - tolerance), high * (1.0 + tolerance)
    if not lowest <= value <= highest:
        return None
    middle = (low + high) / 2.0
    reach = (highest - middle) if value >= middle else (middle - lowest)
    if reach <= 0.0:
        return 1.0
    return max(0.0, 1.0 - abs(value - middle) / reach)


def detect_harmonic(
    sequence: list[Pivot], known_at: int, close: Prices, params: HarmonicParams
) -> list[ChartPattern]:
    """Check the newest five swings against every spec; one detection per matching spec.

    Score: the mean of the four ratio scores (each 1 at the middle of its range, 0 at the
    widened edge). Target: D + ``target_retracement`` x AD towards A. Invalidation: the price
    at which D would pass the widened end of the ``xd`` range.
    """
    del close  # harmonics complete at D; no breakout to wait for
    if len(sequence) < 5:
        return []
    x, a, b, c, d = sequence[-5:]
    xa = abs(a.price - x.price)
    ab_len = abs(a.price - b.price)
    bc_len = abs(c.price - b.price)
    if xa <= 0.0 or ab_len <= 0.0 or bc_len <= 0.0:
        return []
    ratios = (
        ab_len / xa,
        bc_len / ab_len,
        abs(c.price - d.price) / bc_len,
        abs(a.price - d.price) / xa,
    )
    direction = Direction.BULLISH if d.kind == PivotKind.LOW else Direction.BEARISH
    toward_a = 1.0 if direction == Direction.BULLISH else -1.0
    found: list[ChartPattern] = []
    for spec in params.specs:
        scores = [
            _ratio_score(value, bounds, params.tolerance)
            for value, bounds in zip(ratios, (spec.ab, spec.bc, spec.cd, spec.xd), strict=True)
        ]
        if any(s is None for s in scores):
            continue
        deepest_xd = spec.xd[1] * (1.0 + params.tolerance)
        pivots = (x, a, b, c, d)
        found.append(
            ChartPattern(
                name=spec.name,
                direction=direction,
                confirmed_at=known_at,
                pivot_indexes=tuple(p.index for p in pivots),
                pivot_prices=tuple(p.price for p in pivots),
                neckline=None,
                target=d.price + toward_a * params.target_retracement * abs(a.price - d.price),
                invalidation=a.price - toward_a * deepest_xd * xa,
                score=sum(s for s in scores if s is not None) / 4.0,
            )
        )
    return found
