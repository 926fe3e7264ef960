"""What chart-pattern detection returns: swing pivots and pattern detections, plus the swing
parameters every detector shares.

A pivot at bar ``index`` is only known ``right`` bars later, at ``confirmed_at``; detections are
reported at the bar where the whole pattern first became known (``confirmed_at``), never
earlier. Prices are floats: these are analytics, not money.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from tradewind.core.errors import UserError


class Direction(IntEnum):
    """Which way a pattern points: +1 bullish (expects a rise), -1 bearish."""

    BULLISH = 1
    BEARISH = -1


class PivotKind(IntEnum):
    """A swing high (+1) or a swing low (-1)."""

    HIGH = 1
    LOW = -1


@dataclass(frozen=True, slots=True)
class Pivot:
    """A confirmed swing point.

    Attributes
    ----------
    index : int
        Bar of the extreme (the swing high's high or the swing low's low).
    price : float
        The extreme price.
    kind : PivotKind
        HIGH or LOW.
    confirmed_at : int
        First bar at which the swing is known: ``index + right``.
    """

    index: int
    price: float
    kind: PivotKind
    confirmed_at: int


@dataclass(frozen=True, slots=True)
class ChartPattern:
    """One detected chart or harmonic pattern.

    Attributes
    ----------
    name : str
        e.g. ``"double_top"``, ``"inverse_head_and_shoulders"``, ``"ascending_triangle"``,
        ``"bull_flag"``, ``"gartley"``.
    direction : Direction
        The move the pattern predicts.
    confirmed_at : int
        Bar at which the pattern is complete and known (a close through the neckline or boundary
        for breakout patterns; the confirmation of point D for harmonics). Always at least the
        last pivot's ``index + right``.
    pivot_indexes, pivot_prices : tuple
        The pivots that form the pattern, oldest first.
    neckline : float or None
        The level whose break confirmed the pattern, at ``confirmed_at`` (neckline, triangle or
        flag boundary); None for harmonic patterns, which complete at D without a break.
    target : float
        Measured-move objective.
    invalidation : float
        Price beyond which the pattern is void (where a stop would go).
    score : float
        Quality in [0, 1], 1 being the textbook shape; each detector documents its formula.
    """

    name: str
    direction: Direction
    confirmed_at: int
    pivot_indexes: tuple[int, ...]
    pivot_prices: tuple[float, ...]
    neckline: float | None
    target: float
    invalidation: float
    score: float


@dataclass(frozen=True, kw_only=True)
class SwingParams:
    """How swing points are found.

    Attributes
    ----------
    left : int, default 5
        Bars before a swing high that must all be strictly lower (higher for a swing low).
    right : int, default 5
        Bars after it that must not exceed it; the swing is confirmed, and reported, this many
        bars after the extreme (the ``k`` of "confirmed k bars later").
    """

    left: int = 5
    right: int = 5

    def __post_init__(self) -> None:
        for name in ("left", "right"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"SwingParams.{name} must be an integer >= 1, got {value!r}")


def check_fraction(owner: str, name: str, value: float, *, upper: float | None = None) -> None:
    """Raise a UserError unless ``value`` is a finite number >= 0 (and <= ``upper``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"{owner}.{name} must be a number, got {value!r}")
    if not value >= 0 or value == float("inf") or (upper is not None and value > upper):
        bound = f" and <= {upper}" if upper is not None else ""
        raise UserError(f"{owner}.{name} must be finite, >= 0{bound}; got {value!r}")


def check_bars(owner: str, name: str, value: int) -> None:
    """Raise a UserError unless ``value`` is an integer number of bars >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"{owner}.{name} must be an integer >= 1, got {value!r}")
