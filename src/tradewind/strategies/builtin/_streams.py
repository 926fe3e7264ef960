"""The streaming form of :func:`~tradewind.strategies.builtin._sides.long_short` over two lines
of the close crossing: what the moving-average crossovers stream."""

from __future__ import annotations

from typing import Protocol

from tradewind.strategies.streams import Crossing, SignalStep, SignalStream


class CloseLine(Protocol):
    """A streaming indicator of the close (an SMA or an EMA twin)."""

    def update(self, real: float) -> float:
        """Take the next close; return the line's value."""
        ...


class LineCrossStream(SignalStream):
    """Long when ``fast`` crosses above ``slow``, flat when it crosses below; with ``short``
    the mirror image, as ``long_short(crossed_above, crossed_below, short=...)``."""

    __slots__ = ("_crossing", "_fast", "_short", "_slow")

    def __init__(self, fast: CloseLine, slow: CloseLine, *, short: bool) -> None:
        self._fast = fast
        self._slow = slow
        self._short = short
        self._crossing = Crossing()

    def update(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> SignalStep:
        """Take the next bar: the crossings of the two lines at it."""
        up, down, sure = self._crossing.update(
            self._fast.update(close), self._slow.update(close), close
        )
        if self._short:
            return up, down, down, up, sure
        return up, down, False, False, sure
