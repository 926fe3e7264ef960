"""Straight lines through pivots and the search for the first close beyond one of two lines.

Breakout patterns (double tops, head and shoulders, triangles, flags) are confirmed by a close
through a line and voided by a close through another; whichever happens first decides. The
search starts at the bar where the structure became known, so it never looks back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.indicators.patterns.chart_types import Pivot

Prices = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Line:
    """The line through (i0, p0) and (i1, p1); a horizontal level when p0 == p1."""

    i0: int
    p0: float
    i1: int
    p1: float

    @classmethod
    def through(cls, a: Pivot, b: Pivot) -> Line:
        """The line through two pivots."""
        return cls(a.index, a.price, b.index, b.price)

    @classmethod
    def level(cls, price: float) -> Line:
        """A horizontal line at ``price``."""
        return cls(0, price, 1, price)

    @property
    def slope(self) -> float:
        """Price change per bar."""
        return (self.p1 - self.p0) / (self.i1 - self.i0)

    def at(self, i: float) -> float:
        """The line's price at bar ``i``."""
        return self.p0 + self.slope * (i - self.i0)

    def over(self, start: int, stop: int) -> Prices:
        """The line's prices at bars ``start .. stop - 1``."""
        return self.p0 + self.slope * (np.arange(start, stop, dtype=np.float64) - self.i0)


def first_break(
    close: Prices, start: int, stop: int, upper: Line, lower: Line
) -> tuple[int, int] | None:
    """Return ``(bar, +1)`` for the first close above ``upper`` or ``(bar, -1)`` below ``lower``.

    Only bars ``start .. stop - 1`` are searched, and only while ``upper`` stays above
    ``lower``: once sloping lines meet, the channel between them is gone and a "break" would
    mean nothing (a flag's falling boundary can sink below its own lows). None when neither
    line is crossed in that span.
    """
    if start >= stop:
        return None
    tops = upper.over(start, stop)
    bottoms = lower.over(start, stop)
    shut = np.flatnonzero(tops <= bottoms)
    if shut.size:
        stop = start + int(shut[0])
        if start >= stop:
            return None
        tops, bottoms = tops[: stop - start], bottoms[: stop - start]
    window = close[start:stop]
    above = np.flatnonzero(window > tops)
    below = np.flatnonzero(window < bottoms)
    first_up = int(above[0]) if above.size else stop
    first_down = int(below[0]) if below.size else stop
    if first_up == first_down == stop:
        return None
    if first_up < first_down:
        return start + first_up, 1
    return start + first_down, -1
