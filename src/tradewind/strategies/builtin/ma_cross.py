"""Moving-average crossovers: long when the fast average crosses above the slow one."""

from __future__ import annotations

from tradewind.indicators import streaming
from tradewind.indicators.overlap import ema, sma
from tradewind.series.bars import BarSeries, FloatArray
from tradewind.strategies.base import Signals, Strategy, crossed_above, crossed_below, require
from tradewind.strategies.builtin._sides import long_short
from tradewind.strategies.builtin._streams import LineCrossStream
from tradewind.strategies.params import Param
from tradewind.strategies.registry import register


@register
class SmaCross(Strategy):
    """Enter when SMA(fast) crosses above SMA(slow); exit when it crosses below."""

    name = "sma_cross"
    fast = Param(10, low=2, high=200, doc="fast SMA period, bars")
    slow = Param(30, low=3, high=500, doc="slow SMA period, bars")
    short = Param(False, doc="also trade the opposite crossing short", shorts_only=True)

    def validate(self) -> None:
        """The fast average must be shorter than the slow one."""
        require(self.fast < self.slow, f"fast ({self.fast}) must be below slow ({self.slow})")

    @property
    def warmup(self) -> int:
        """The slow average's window."""
        return int(self.slow)

    def indicators(self, bars: BarSeries) -> dict[str, FloatArray]:
        """The fast and slow SMAs of the close."""
        return {"sma_fast": sma(bars.close, self.fast), "sma_slow": sma(bars.close, self.slow)}

    def signals(self, bars: BarSeries) -> Signals:
        """Crossings of the two simple moving averages of the close."""
        lines = self.indicators(bars)
        fast, slow = lines["sma_fast"], lines["sma_slow"]
        return long_short(crossed_above(fast, slow), crossed_below(fast, slow), short=self.short)

    def signal_stream(self) -> LineCrossStream:
        """The same crossings bar by bar, from the streaming SMAs."""
        return LineCrossStream(
            streaming.SMA(int(self.fast)), streaming.SMA(int(self.slow)), short=bool(self.short)
        )


@register
class EmaCross(Strategy):
    """Enter when EMA(fast) crosses above EMA(slow); exit when it crosses below."""

    name = "ema_cross"
    fast = Param(12, low=2, high=200, doc="fast EMA period, bars")
    slow = Param(26, low=3, high=500, doc="slow EMA period, bars")
    short = Param(False, doc="also trade the opposite crossing short", shorts_only=True)

    def validate(self) -> None:
        """The fast average must be shorter than the slow one."""
        require(self.fast < self.slow, f"fast ({self.fast}) must be below slow ({self.slow})")

    @property
    def warmup(self) -> int:
        """EMAs need several periods to forget their seed; three slow periods."""
        return 3 * int(self.slow)

    def indicators(self, bars: BarSeries) -> dict[str, FloatArray]:
        """The fast and slow EMAs of the close."""
        return {"ema_fast": ema(bars.close, self.fast), "ema_slow": ema(bars.close, self.slow)}

    def signals(self, bars: BarSeries) -> Signals:
        """Crossings of the two exponential moving averages of the close."""
        lines = self.indicators(bars)
        fast, slow = lines["ema_fast"], lines["ema_slow"]
        return long_short(crossed_above(fast, slow), crossed_below(fast, slow), short=self.short)

    def signal_stream(self) -> LineCrossStream:
        """The same crossings bar by bar, from the streaming EMAs."""
        return LineCrossStream(
            streaming.EMA(int(self.fast)), streaming.EMA(int(self.slow)), short=bool(self.short)
        )
