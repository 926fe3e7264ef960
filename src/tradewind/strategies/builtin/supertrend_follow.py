"""Follow the Supertrend: long while it points up, out (or short) when it flips down."""

from __future__ import annotations

import numpy as np

from tradewind.indicators.channels import supertrend
from tradewind.series.bars import BarSeries, FloatArray
from tradewind.strategies.base import Signals, Strategy
from tradewind.strategies.builtin._sides import long_short
from tradewind.strategies.params import Param
from tradewind.strategies.registry import register


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
