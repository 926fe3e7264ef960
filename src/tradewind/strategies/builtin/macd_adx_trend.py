"""MACD crossovers taken only when ADX says a trend is present."""

from __future__ import annotations

from tradewind.indicators import streaming
from tradewind.indicators.momentum import macd
from tradewind.indicators.trend import adx
from tradewind.series.bars import BarSeries, FloatArray
from tradewind.strategies.base import Signals, Strategy, crossed_above, crossed_below, require
from tradewind.strategies.builtin._sides import long_short
from tradewind.strategies.params import Param
from tradewind.strategies.registry import register
from tradewind.strategies.streams import Crossing, SignalStep, SignalStream, near


@register
class MacdAdxTrend(Strategy):
    """Enter when MACD crosses above its signal line while ADX >= ``adx_min``; exit on the cross down."""

    name = "macd_adx_trend"
    fast = Param(12, low=2, high=100, doc="MACD fast EMA period")
    slow = Param(26, low=3, high=300, doc="MACD slow EMA period")
    signal = Param(9, low=2, high=100, doc="MACD signal EMA period")
    adx_period = Param(14, low=2, high=100, doc="ADX period")
    adx_min = Param(25.0, low=0.0, high=100.0, doc="minimum ADX to enter")
    short = Param(False, doc="also trade the opposite crossing short", shorts_only=True)

    def validate(self) -> None:
        """MACD's fast period must be below its slow period."""
        require(self.fast < self.slow, f"fast ({self.fast}) must be below slow ({self.slow})")

    @property
    def warmup(self) -> int:
        """MACD's and ADX's combined warm-up, generously."""
        return 3 * int(self.slow) + int(self.signal) + 3 * int(self.adx_period)

    def indicators(self, bars: BarSeries) -> dict[str, FloatArray]:
        """The MACD line, its signal line and the ADX."""
        line, signal, _ = macd(bars.close, self.fast, self.slow, self.signal)
        return {"macd": line, "macd_signal": signal,
                "adx": adx(bars.high, bars.low, bars.close, self.adx_period)}  # fmt: skip

    def signals(self, bars: BarSeries) -> Signals:
        """MACD/signal crossings, entries filtered by trend strength."""
        lines = self.indicators(bars)
        line, signal, strength = lines["macd"], lines["macd_signal"], lines["adx"]
        trending = strength >= self.adx_min
        entry = crossed_above(line, signal) & trending
        return long_short(entry, crossed_below(line, signal), short=self.short)

    def signal_stream(self) -> MacdAdxStream:
        """The same signals bar by bar, from the streaming MACD and ADX."""
        return MacdAdxStream(self)


class MacdAdxStream(SignalStream):
    """:meth:`MacdAdxTrend.signals` one bar at a time."""

    __slots__ = ("_adx", "_crossing", "_macd", "_min", "_short")

    def __init__(self, strategy: MacdAdxTrend) -> None:
        self._macd = streaming.MACD(int(strategy.fast), int(strategy.slow), int(strategy.signal))
        self._adx = streaming.ADX(int(strategy.adx_period))
        self._min = float(strategy.adx_min)
        self._short = bool(strategy.short)
        self._crossing = Crossing()

    def update(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> SignalStep:
        """Take the next bar: MACD/signal crossings, entries while ADX >= ``adx_min``."""
        line, signal, _ = self._macd.update(close)
        strength = self._adx.update(high, low, close)
        up, down, sure = self._crossing.update(line, signal, close)
        entry = up and strength >= self._min
        sure = sure and not near(strength, self._min, 100.0)
        if self._short:
            return entry, down, down, entry, sure
        return entry, down, False, False, sure
