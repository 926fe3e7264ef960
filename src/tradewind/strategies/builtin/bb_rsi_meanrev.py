"""Mean reversion: buy an oversold close below the lower Bollinger band, sell back at the middle."""

from __future__ import annotations

import numpy as np

from tradewind.indicators import streaming
from tradewind.indicators.momentum import rsi
from tradewind.indicators.volatility import bbands
from tradewind.series.bars import BarSeries, FloatArray
from tradewind.strategies.base import Signals, Strategy, require
from tradewind.strategies.params import Param
from tradewind.strategies.registry import register
from tradewind.strategies.streams import SignalStep, SignalStream, near


@register
class BbRsiMeanRev(Strategy):
    """Long when close < lower band and RSI < ``rsi_low``; exit when close > middle band or RSI >
    ``rsi_high``. With ``short``, the mirror image at the upper band."""

    name = "bb_rsi_meanrev"
    bb_period = Param(20, low=5, high=200, doc="Bollinger period")
    bb_dev = Param(2.0, low=0.5, high=4.0, doc="Bollinger width in standard deviations")
    rsi_period = Param(14, low=2, high=100, doc="RSI period")
    rsi_low = Param(30.0, low=1.0, high=50.0, doc="RSI below which a long may open")
    rsi_high = Param(70.0, low=50.0, high=99.0, doc="RSI above which a long closes")
    short = Param(False, doc="also fade the upper band short", shorts_only=True)

    def validate(self) -> None:
        """The RSI thresholds must be ordered."""
        require(self.rsi_low < self.rsi_high, "rsi_low must be below rsi_high")

    @property
    def warmup(self) -> int:
        """The longer of the two look-backs, with RSI's smoothing: Wilder's average forgets its
        seed slowly, and recursive analysis measures about five periods to settle within 1%."""
        return max(int(self.bb_period), 6 * int(self.rsi_period))

    def indicators(self, bars: BarSeries) -> dict[str, FloatArray]:
        """The Bollinger bands and the RSI of the close."""
        upper, middle, lower = bbands(bars.close, self.bb_period, self.bb_dev, self.bb_dev)
        return {"bb_upper": upper, "bb_middle": middle, "bb_lower": lower,
                "rsi": rsi(bars.close, self.rsi_period)}  # fmt: skip

    def signals(self, bars: BarSeries) -> Signals:
        """Band-and-RSI extremes in, mean out."""
        lines = self.indicators(bars)
        upper, middle, lower = lines["bb_upper"], lines["bb_middle"], lines["bb_lower"]
        strength = lines["rsi"]
        close = bars.close
        with np.errstate(invalid="ignore"):
            entry_long = (close < lower) & (strength < self.rsi_low)
            exit_long = (close > middle) | (strength > self.rsi_high)
            if not self.short:
                return Signals(entry_long=entry_long, exit_long=exit_long)
            entry_short = (close > upper) & (strength > self.rsi_high)
            exit_short = (close < middle) | (strength < self.rsi_low)
        return Signals(entry_long, exit_long, entry_short, exit_short)

    def signal_stream(self) -> BbRsiStream:
        """The same signals bar by bar, from the streaming Bollinger bands and RSI."""
        return BbRsiStream(self)


class BbRsiStream(SignalStream):
    """:meth:`BbRsiMeanRev.signals` one bar at a time. The streaming bands are bit-identical to
    the vectorised ones; the RSI agrees to rounding, so an RSI within the guard of either
    threshold makes the step unsure."""

    __slots__ = ("_bands", "_high", "_low", "_rsi", "_short")

    def __init__(self, strategy: BbRsiMeanRev) -> None:
        dev = float(strategy.bb_dev)
        self._bands = streaming.BBands(int(strategy.bb_period), dev, dev)
        self._rsi = streaming.RSI(int(strategy.rsi_period))
        self._low = float(strategy.rsi_low)
        self._high = float(strategy.rsi_high)
        self._short = bool(strategy.short)

    def update(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> SignalStep:
        """Take the next bar: band-and-RSI extremes in, mean out."""
        upper, middle, lower = self._bands.update(close)
        strength = self._rsi.update(close)
        sure = not (near(strength, self._low, 100.0) or near(strength, self._high, 100.0))
        entry_long = close < lower and strength < self._low
        exit_long = close > middle or strength > self._high
        if not self._short:
            return entry_long, exit_long, False, False, sure
        entry_short = close > upper and strength > self._high
        exit_short = close < middle or strength < self._low
        return entry_long, exit_long, entry_short, exit_short, sure
