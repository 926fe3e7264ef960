"""Turtle-style breakout: enter on a close above the previous N-bar high, exit below the M-bar low."""

from __future__ import annotations

import numpy as np

from tradewind.indicators import streaming
from tradewind.indicators.channels import donchian
from tradewind.series.bars import BarSeries, FloatArray
from tradewind.strategies.base import Signals, Strategy
from tradewind.strategies.params import Param
from tradewind.strategies.registry import register
from tradewind.strategies.streams import SignalStep, SignalStream


def _previous(values: np.ndarray) -> np.ndarray:
    shifted = np.empty_like(values)
    shifted[0] = np.nan
    shifted[1:] = values[:-1]
    return shifted


@register
class DonchianBreakout(Strategy):
    """Long when the close exceeds the highest high of the previous ``entry_period`` bars; exit when
    it falls below the lowest low of the previous ``exit_period`` bars. The channel excludes the
    current bar, otherwise a close could never exceed a high that includes its own bar."""

    name = "donchian_breakout"
    entry_period = Param(20, low=2, high=500, doc="breakout channel, bars")
    exit_period = Param(10, low=2, high=500, doc="exit channel, bars")
    short = Param(False, doc="also trade downside breakouts short", shorts_only=True)

    @property
    def warmup(self) -> int:
        """The longer channel plus the one-bar shift."""
        return max(int(self.entry_period), int(self.exit_period)) + 1

    def indicators(self, bars: BarSeries) -> dict[str, FloatArray]:
        """The previous bars' entry and exit channels (shifted one bar, as the signals use them)."""
        entry_upper, _, entry_lower = donchian(bars.high, bars.low, self.entry_period)
        exit_upper, _, exit_lower = donchian(bars.high, bars.low, self.exit_period)
        return {"entry_upper": _previous(entry_upper), "entry_lower": _previous(entry_lower),
                "exit_upper": _previous(exit_upper), "exit_lower": _previous(exit_lower)}  # fmt: skip

    def signals(self, bars: BarSeries) -> Signals:
        """Closes through the previous bars' channels."""
        lines = self.indicators(bars)
        close = bars.close
        with np.errstate(invalid="ignore"):
            entry_long = close > lines["entry_upper"]
            exit_long = close < lines["exit_lower"]
            if not self.short:
                return Signals(entry_long=entry_long, exit_long=exit_long)
            entry_short = close < lines["entry_lower"]
            exit_short = close > lines["exit_upper"]
        return Signals(entry_long, exit_long, entry_short, exit_short)

    def signal_stream(self) -> DonchianStream:
        """The same breakouts bar by bar, from the streaming Donchian channels."""
        return DonchianStream(self)


class DonchianStream(SignalStream):
    """:meth:`DonchianBreakout.signals` one bar at a time. The channels are maxima and minima of
    the bars' own prices, identical to the vectorised ones, so every step is sure."""

    __slots__ = ("_entry", "_exit", "_previous", "_short")

    def __init__(self, strategy: DonchianBreakout) -> None:
        self._entry = streaming.Donchian(int(strategy.entry_period))
        self._exit = streaming.Donchian(int(strategy.exit_period))
        self._short = bool(strategy.short)
        nan = float("nan")
        self._previous = (nan, nan, nan, nan)  # entry upper, entry lower, exit upper, exit lower

    def update(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> SignalStep:
        """Take the next bar: its close against the previous bars' channels."""
        entry_upper, entry_lower, exit_upper, exit_lower = self._previous
        upper, _, lower = self._entry.update(high, low)
        out_upper, _, out_lower = self._exit.update(high, low)
        self._previous = (upper, lower, out_upper, out_lower)
        if self._short:
            return (close > entry_upper, close < exit_lower, close < entry_lower,
                    close > exit_upper, True)  # fmt: skip
        return close > entry_upper, close < exit_lower, False, False, True
