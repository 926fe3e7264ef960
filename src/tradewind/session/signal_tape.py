"""A binding's signals kept up to date one closed bar at a time.

A session used to recompute every binding's vectorised signals over every bar it holds whenever
a bar closed: exact (the signal at bar ``i`` is what the backtest computes at ``i``) but a pass
over the history per bar, most of a paper session's decision time. A :class:`SignalTape` feeds
the strategy's :class:`~tradewind.strategies.streams.SignalStream` the new bar instead and
appends its flags to arrays with room to grow, which the binding reads as views.

It stays exact. The tape is started by feeding the stream every bar held and comparing its
flags with the vectorised signals over those bars: a stream that disagrees anywhere is not used.
An unsure step (a comparison within the stream's guard of its threshold) is computed the
vectorised way; a stream that cannot recover from one, or that raises, is dropped and the
binding recomputed from then on. A change of the strategy's parameters (an operator's
``set_params``) starts the tape again with the new ones.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from tradewind.backtest.event import signal_arrays
from tradewind.engine.binding import Binding
from tradewind.series.bars import BarSeries
from tradewind.strategies.base import Strategy
from tradewind.strategies.streams import SignalStream

__all__ = ["SignalTape", "streams_signals"]

log = logging.getLogger(__name__)

_COLUMNS = ("entry_long", "exit_long", "entry_short", "exit_short")


def streams_signals(strategy: Strategy) -> bool:
    """Whether ``strategy``'s :meth:`~Strategy.signal_stream` computes its own signals: the
    class that defines the stream also defines (or inherits unchanged) ``signals`` and
    ``indicators``, and it has no per-bar hook (whose strategies read no signal arrays)."""
    cls = type(strategy)
    if strategy.wants_bar_callback():
        return False
    owner = next(c for c in cls.__mro__ if "signal_stream" in vars(c))
    if owner is Strategy:
        return False
    for name in ("signals", "indicators"):
        defined = next(c for c in cls.__mro__ if name in vars(c))
        if defined not in owner.__mro__:
            return False
    return True


class SignalTape:
    """One binding's signal arrays, extended bar by bar from its strategy's stream.

    Build it with :meth:`start`, which returns None when the strategy has no usable stream.
    """

    __slots__ = ("_flags", "_n", "_params", "_stream", "binding", "fallbacks")

    def __init__(self, binding: Binding, stream: SignalStream, params: dict[str, Any]) -> None:
        self.binding = binding
        self._stream = stream
        self._params = params
        self._flags = np.zeros((4, 1024), dtype=np.bool_)
        self._n = 0
        self.fallbacks = 0
        """Bars whose flags were computed the vectorised way (unsure steps)."""

    @classmethod
    def start(cls, binding: Binding, series: BarSeries) -> SignalTape | None:
        """A tape over ``series`` for ``binding`` (whose arrays hold the vectorised signals over
        it), or None when its strategy has no stream, gives a confidence, or the stream
        disagrees with the vectorised signals anywhere in ``series``."""
        strategy = binding.strategy
        if binding.confidence is not None or not streams_signals(strategy):
            return None
        try:
            stream = strategy.signal_stream()
            if stream is None:
                return None
            tape = cls(binding, stream, strategy.params)
            columns = (series.open, series.high, series.low, series.close, series.volume)
            for row in zip(*(column.tolist() for column in columns), strict=True):
                tape._feed(row)
        except Exception:  # a broken stream costs speed, never the session
            log.warning("%s: its signal stream failed; recomputing its signals", strategy.id,
                        exc_info=True)  # fmt: skip
            return None
        expected = [getattr(binding, name) for name in _COLUMNS]
        got = tape._flags[:, : tape._n]
        if not all(np.array_equal(got[k], expected[k]) for k in range(4)):
            log.warning("%s: its signal stream disagrees with its signals; recomputing them",
                        strategy.id)  # fmt: skip
            return None
        tape._publish()
        return tape

    def advance(self, series: BarSeries, row: tuple[float, float, float, float, float]) -> bool:
        """``series`` has grown by one bar, whose ``(open, high, low, close, volume)`` is
        ``row``: extend the binding's signals to it.

        Returns False when the tape can no longer be used: the caller recomputes the binding's
        signals, and drops the tape or, when :attr:`stale` (the parameters changed), starts a
        new one.
        """
        binding = self.binding
        if self.stale or len(series) != self._n + 1:
            return False
        try:
            sure = self._feed(row)
        except Exception:
            log.warning("%s: its signal stream failed; recomputing its signals",
                        binding.strategy.id, exc_info=True)  # fmt: skip
            return False
        if not sure:
            # A comparison within the guard of its threshold: this bar's flags as the
            # vectorised computation gives them.
            self.fallbacks += 1
            arrays = signal_arrays(binding.strategy, series)
            n = self._n
            for k, name in enumerate(_COLUMNS):
                self._flags[k, n - 1] = arrays[name][n - 1]
            if not self._stream.recovers:
                return False
        self._publish()
        return True

    @property
    def stale(self) -> bool:
        """True when the strategy's parameters are no longer those the stream was built with."""
        return self.binding.strategy.params != self._params

    def _feed(self, row: tuple[float, float, float, float, float]) -> bool:
        step = self._stream.update(*row)
        n = self._n
        if n == self._flags.shape[1]:
            grown = np.zeros((4, 2 * n), dtype=np.bool_)
            grown[:, :n] = self._flags
            self._flags = grown
        flags = self._flags
        flags[0, n], flags[1, n], flags[2, n], flags[3, n] = step[0], step[1], step[2], step[3]
        self._n = n + 1
        return step[4]

    def _publish(self) -> None:
        # Views, not copies: nothing per bar but the new flags. The engine only reads them.
        n, binding, flags = self._n, self.binding, self._flags
        binding.entry_long = flags[0, :n]
        binding.exit_long = flags[1, :n]
        binding.entry_short = flags[2, :n]
        binding.exit_short = flags[3, :n]
