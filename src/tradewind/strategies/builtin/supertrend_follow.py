"""Follow the Supertrend: long while it points up, out (or short) when it flips down."""

from __future__ import annotations

import math

import numpy as np

from tradewind.indicators import streaming
from tradewind.indicators.channels import supertrend
from tradewind.series.bars import BarSeries, FloatArray
from tradewind.strategies.base import Signals, Strategy
from tradewind.strategies.builtin._sides import long_short
from tradewind.strategies.params import Param
from tradewind.strategies.registry import register
from tradewind.strategies.streams import SignalStep, SignalStream, near


@register
class SupertrendFollow(Strategy):
    """Enter when the Supertrend direction flips to up; exit when it flips to down."""

    name = "supertrend_follow"
    period = Param(10, low=2, high=200, doc="ATR period")
    multiplier = Param(3.0, low=0.5, high=10.0, doc="band width in ATRs")
    short = Param(False, doc="also hold shorts while the trend points down", shorts_only=True)

    @property
    def warmup(self) -> int:
        """ATR's period and its Wilder smoothing, and time for the direction to flip once: the
        direction is a state that only agrees between two start points after a common flip
        (recursive analysis measured about five periods on the bundled month)."""
        return 10 * int(self.period)

    def indicators(self, bars: BarSeries) -> dict[str, FloatArray]:
        """The Supertrend line and its direction (+1 up, -1 down)."""
        line, direction = supertrend(bars.high, bars.low, bars.close, self.period, self.multiplier)
        return {"supertrend": line, "direction": direction}

    def signals(self, bars: BarSeries) -> Signals:
        """Direction flips of the Supertrend."""
        direction = self.indicators(bars)["direction"]
        previous = np.empty_like(direction)
        previous[0] = np.nan
        previous[1:] = direction[:-1]
        flip_up = (direction == 1.0) & (previous == -1.0)
        flip_down = (direction == -1.0) & (previous == 1.0)
        return long_short(flip_up, flip_down, short=self.short)

    def signal_stream(self) -> SupertrendStream:
        """The same flips bar by bar, from the streaming Supertrend."""
        return SupertrendStream(self)


class SupertrendStream(SignalStream):
    """:meth:`SupertrendFollow.signals` one bar at a time.

    The direction is a state: a close read on the other side of a band (by a rounding
    difference from the vectorised kernel) would flip it here and not there, and every later
    bar would follow. So a close within the guard of either band makes the step unsure and the
    stream is not used again (``recovers = False``).
    """

    recovers = False
    __slots__ = ("_previous", "_short", "_trend")

    def __init__(self, strategy: SupertrendFollow) -> None:
        self._trend = streaming.Supertrend(int(strategy.period), float(strategy.multiplier))
        self._short = bool(strategy.short)
        self._previous = math.nan

    def update(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> SignalStep:
        """Take the next bar: whether the direction flipped at it."""
        _, direction = self._trend.update(high, low, close)
        upper, lower = self._trend.bands
        sure = not (near(close, upper, close) or near(close, lower, close))
        previous, self._previous = self._previous, direction
        flip_up = direction == 1.0 and previous == -1.0
        flip_down = direction == -1.0 and previous == 1.0
        if self._short:
            return flip_up, flip_down, flip_down, flip_up, sure
        return flip_up, flip_down, False, False, sure
