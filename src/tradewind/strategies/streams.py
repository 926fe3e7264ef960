"""Signals bar by bar: what a trading session computes when one bar closes, instead of
recomputing a strategy's vectorised signals over every bar it holds.

A strategy may offer a :class:`SignalStream` (:meth:`~tradewind.strategies.base.Strategy.signal_stream`):
fed the bars one at a time from the first, it returns at each bar the flags that
:meth:`~tradewind.strategies.base.Strategy.signals` gives at that bar over the same bars. The
built-ins build theirs from the streaming twins of their indicators
(:mod:`tradewind.indicators.streaming`), O(1) per bar.

Exactness. A session must decide what the backtest decides, bit for bit. Some twins are
bit-identical to the vectorised kernels (SMA, Bollinger bands, Donchian channels); others (RSI,
the MACD signal line, the Supertrend bands) agree to a few units in the last place, because the
kernels fuse multiply-adds or order a sum differently. A flag can therefore differ only where a
comparison is within that rounding of its threshold. Each stream measures how close its
comparisons came: when one is within :data:`GUARD` (relative to the quantity's natural scale:
the close for price levels, 100 for oscillators) the step is reported *unsure* and the session
computes that bar's flags the vectorised way instead. :data:`GUARD` sits about three orders of
magnitude above the largest difference measured between twin and kernel on every bundled candle
file (``tests/unit/strategies/test_signal_streams.py``), so a sure flag is the vectorised flag.
A stream whose state would carry a wrong choice forward (the Supertrend's direction) says so
with ``recovers = False``, and the session stops using it at its first unsure step.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

from tradewind.strategies.base import TIE_TOLERANCE

__all__ = ["GUARD", "Crossing", "SignalStep", "SignalStream", "near"]

GUARD = 1e-13
"""Relative distance from a threshold within which a streamed comparison is not trusted."""

SignalStep = tuple[bool, bool, bool, bool, bool]
"""``(entry_long, exit_long, entry_short, exit_short, sure)`` for one bar."""


class SignalStream(ABC):
    """One strategy's signals, one bar at a time, from the first bar of a series.

    Subclasses hold the indicator state; :meth:`update` takes the bar that has just closed and
    returns its :data:`SignalStep`. A stream gives no confidence: strategies whose signals carry
    one are recomputed.
    """

    recovers: ClassVar[bool] = True
    """False when an unsure step can leave the stream's state different from the vectorised
    computation's (a sticky direction), so that later steps cannot be trusted either."""

    @abstractmethod
    def update(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> SignalStep:
        """Take the next bar; return its flags and whether every comparison was clear of
        :data:`GUARD`."""


def near(value: float, threshold: float, scale: float) -> bool:
    """True when ``value`` lies within :data:`GUARD` x ``scale`` of ``threshold`` (NaN: never:
    an undefined value compares False in both computations)."""
    return abs(value - threshold) <= GUARD * scale


class Crossing:
    """:func:`~tradewind.strategies.base.crossed_above` and ``crossed_below`` of two lines,
    one bar at a time, with the same tie rule (:data:`~tradewind.strategies.base.TIE_TOLERANCE`).

    A crossing at bar ``i`` reads the comparison at ``i - 1`` too, so a step is unsure when
    either bar's comparison came within :data:`GUARD` of the tie boundary.
    """

    __slots__ = ("_above", "_below", "_defined", "_near")

    def __init__(self) -> None:
        self._above = False
        self._below = False
        self._defined = False
        self._near = False

    def update(self, x: float, y: float, scale: float) -> tuple[bool, bool, bool]:
        """Take the two lines' values at the new bar; return ``(crossed_above, crossed_below,
        sure)``. ``scale`` is the lines' natural size (the close, for price levels)."""
        if math.isnan(x) or math.isnan(y):
            defined = above = below = close_call = False
        else:
            defined = True
            # The same operations, in the same order, as base._above on arrays.
            tie = TIE_TOLERANCE * max(abs(x), abs(y))
            above = x - y > tie
            below = y - x > tie
            margin = GUARD * scale
            close_call = abs((x - y) - tie) <= margin or abs((y - x) - tie) <= margin
        both = defined and self._defined
        up = above and not self._above and both
        down = below and not self._below and both
        sure = not (close_call or self._near)
        self._above, self._below, self._defined, self._near = above, below, defined, close_call
        return up, down, sure
