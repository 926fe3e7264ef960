"""Public chart-pattern detection: one pass over the swing sequence, any set of detectors.

Every function takes ``high, low, close`` (equal length, finite) and returns a list of
:class:`ChartPattern` ordered by ``confirmed_at``. The pass is causal by construction: swings
are added at their confirmation bars, each detector sees only the sequence as it stood at that
bar, and breakout searches start there. Hence the detections with ``confirmed_at <= t`` computed
from ``data[:t + 1]`` are exactly those computed from the whole history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import numpy.typing as npt

from tradewind.indicators.patterns._inputs import price_arrays
from tradewind.indicators.patterns.chart_types import ChartPattern, Pivot, SwingParams
from tradewind.indicators.patterns.continuations import (
    FlagParams,
    TriangleParams,
    detect_flag,
    detect_triangle,
)
from tradewind.indicators.patterns.harmonic import HarmonicParams, detect_harmonic
from tradewind.indicators.patterns.reversals import (
    DoubleParams,
    HeadShouldersParams,
    detect_double,
    detect_head_shoulders,
)
from tradewind.indicators.patterns.swings import alternating_swings, swing_points

Prices = npt.NDArray[np.float64]
Detector = Callable[[list[Pivot], int, Prices], list[ChartPattern]]


@dataclass(frozen=True, kw_only=True)
class ChartParams:
    """Settings of every chart detector, for :func:`chart_patterns`."""

    swing: SwingParams = field(default_factory=SwingParams)
    double: DoubleParams = field(default_factory=DoubleParams)
    head_shoulders: HeadShouldersParams = field(default_factory=HeadShouldersParams)
    triangle: TriangleParams = field(default_factory=TriangleParams)
    flag: FlagParams = field(default_factory=FlagParams)
    harmonic: HarmonicParams = field(default_factory=HarmonicParams)


def _scan(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    swing: SwingParams,
    detectors: list[Detector],
) -> list[ChartPattern]:
    h, lo, c = price_arrays(high=high, low=low, close=close)
    found: list[ChartPattern] = []
    for pivot, sequence in alternating_swings(swing_points(h, lo, swing)):
        for detector in detectors:
            found.extend(detector(sequence, pivot.confirmed_at, c))
    found.sort(key=lambda d: (d.confirmed_at, d.pivot_indexes, d.name))
    return found


def double_tops_bottoms(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    *,
    swing: SwingParams | None = None,
    params: DoubleParams | None = None,
) -> list[ChartPattern]:
    """Detect double tops (bearish) and double bottoms (bullish).

    Parameters
    ----------
    high, low, close : array-like of float
        Bar prices, oldest first, equal length.
    swing : SwingParams, optional
        Swing-point windows (default 5 bars each side).
    params : DoubleParams, optional
        Shape limits and breakout wait.

    Returns
    -------
    list of ChartPattern
        Reported at the close through the neckline (the trough between the peaks); target one
        pattern height beyond it; invalidation at the more extreme peak.
    """
    detector = partial(detect_double, params=params or DoubleParams())
    return _scan(high, low, close, swing or SwingParams(), [detector])


def head_and_shoulders(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    *,
    swing: SwingParams | None = None,
    params: HeadShouldersParams | None = None,
) -> list[ChartPattern]:
    """Detect head-and-shoulders tops (bearish) and inverse ones (bullish).

    Parameters
    ----------
    high, low, close : array-like of float
        Bar prices, oldest first, equal length.
    swing : SwingParams, optional
        Swing-point windows.
    params : HeadShouldersParams, optional
        Shape limits and breakout wait.

    Returns
    -------
    list of ChartPattern
        Reported at the close through the (possibly sloping) neckline; ``neckline`` is its value
        at that bar, target one head height beyond it, invalidation the right shoulder.
    """
    detector = partial(detect_head_shoulders, params=params or HeadShouldersParams())
    return _scan(high, low, close, swing or SwingParams(), [detector])


def triangles(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    *,
    swing: SwingParams | None = None,
    params: TriangleParams | None = None,
) -> list[ChartPattern]:
    """Detect ascending, descending and symmetrical triangles and their breakouts.

    Parameters
    ----------
    high, low, close : array-like of float
        Bar prices, oldest first, equal length.
    swing : SwingParams, optional
        Swing-point windows.
    params : TriangleParams, optional
        Flatness tolerance, minimum height and breakout wait.

    Returns
    -------
    list of ChartPattern
        Direction is the breakout's; ``neckline`` the broken boundary at the breakout bar,
        target one triangle height beyond it, invalidation the last opposite swing (or the
        opposite boundary at the breakout bar, whichever is further away).
    """
    detector = partial(detect_triangle, params=params or TriangleParams())
    return _scan(high, low, close, swing or SwingParams(), [detector])


def flags(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    *,
    swing: SwingParams | None = None,
    params: FlagParams | None = None,
) -> list[ChartPattern]:
    """Detect bull and bear flags that break out in the direction of their pole.

    Parameters
    ----------
    high, low, close : array-like of float
        Bar prices, oldest first, equal length.
    swing : SwingParams, optional
        Swing-point windows.
    params : FlagParams, optional
        Pole size, retracement, duration and breakout wait.

    Returns
    -------
    list of ChartPattern
        Reported at the breakout close; target one pole length beyond the broken boundary;
        invalidation the flag's far extreme.
    """
    detector = partial(detect_flag, params=params or FlagParams())
    return _scan(high, low, close, swing or SwingParams(), [detector])


def harmonic_patterns(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    *,
    swing: SwingParams | None = None,
    params: HarmonicParams | None = None,
) -> list[ChartPattern]:
    """Detect Gartley, Bat, Butterfly and Crab XABCD patterns.

    Parameters
    ----------
    high, low, close : array-like of float
        Bar prices, oldest first, equal length (``close`` is validated but harmonics complete
        at D without a breakout).
    swing : SwingParams, optional
        Swing-point windows.
    params : HarmonicParams, optional
        Ratio tolerance, specs and target retracement.

    Returns
    -------
    list of ChartPattern
        Reported when D is confirmed (D's bar + ``swing.right``).
    """
    detector = partial(detect_harmonic, params=params or HarmonicParams())
    return _scan(high, low, close, swing or SwingParams(), [detector])


def chart_patterns(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    params: ChartParams | None = None,
) -> list[ChartPattern]:
    """Run every chart and harmonic detector in one pass over the swings.

    Parameters
    ----------
    high, low, close : array-like of float
        Bar prices, oldest first, equal length.
    params : ChartParams, optional
        Settings of each detector.

    Returns
    -------
    list of ChartPattern
        All detections, ordered by confirmation bar.
    """
    p = params or ChartParams()
    detectors: list[Detector] = [
        partial(detect_double, params=p.double),
        partial(detect_head_shoulders, params=p.head_shoulders),
        partial(detect_triangle, params=p.triangle),
        partial(detect_flag, params=p.flag),
        partial(detect_harmonic, params=p.harmonic),
    ]
    return _scan(high, low, close, p.swing, detectors)
