"""The market-state port: what the market looks like now, the same answers in every mode.

The risk engine (and, through it, sizing and limits) reads the market through
:class:`MarketState`: the latest price and close time, the closes so far, and the derived features
it needs (Wilder's ATR, volatility as ATR over close, returns and their correlation, quote volume
over a window, staleness). Two implementations give the same answers:

- :class:`ArrayMarketState` over whole bar arrays (backtests): it answers as of the engine's time,
  reading the bars complete then (no Python runs per bar: the ATR is one vectorised pass).
- :class:`RollingMarketState` over bounded rolling buffers (live feeds): each bar is added as it
  closes in O(1) (amortised), and memory stays flat however long it runs: a buffer holds the
  largest look-back declared when it is made, and no more.

They agree at every bar: prices exactly (the same ``Decimal``), the floats to 1e-12 relative
(the ATR is the same recursion; sums run over the same values in the same order). A test runs
both over every recorded candle file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Protocol

import numpy as np

from tradewind.core.errors import UserError
from tradewind.core.money import to_decimal
from tradewind.indicators.streaming.volatility import ATR
from tradewind.indicators.volatility import atr as atr_indicator
from tradewind.series.bars import BarSeries, FloatArray

DAY_MS = 86_400_000
ATR_PERIOD = 14
"""The ATR period the risk engine reads (its sizing and volatility limits)."""


class MarketState(Protocol):
    """What the market looks like at the engine's current time."""

    def last_price(self, symbol: str) -> Decimal | None:
        """Close of the latest complete bar, or None before the first."""
        ...

    def last_close_time(self, symbol: str) -> int | None:
        """When the latest complete bar closed (UTC ms), or None before the first."""
        ...

    def closes(self, symbol: str, count: int) -> FloatArray:
        """The last ``count`` closes, oldest first (fewer while fewer are known)."""
        ...

    def atr(self, symbol: str) -> float | None:
        """Wilder's ATR (:data:`ATR_PERIOD`) at the latest bar; None during its warm-up."""
        ...

    def volatility(self, symbol: str) -> float | None:
        """ATR over the latest close (a fraction of the price); None during warm-up."""
        ...

    def returns(self, symbol: str, window: int) -> FloatArray | None:
        """The last ``window`` simple close-to-close returns; None until ``window + 1`` closes."""
        ...

    def correlation(self, a: str, b: str, window: int) -> float | None:
        """Pearson correlation of the last ``window`` returns of ``a`` and ``b``; None when either
        is unknown or flat."""
        ...

    def quote_volume(self, symbol: str, window_ms: int, now: int) -> float | None:
        """Sum of close x volume over the bars that closed within ``window_ms`` before ``now``;
        None before the first bar."""
        ...

    def staleness(self, symbol: str, now: int) -> int | None:
        """How long ago (ms) the latest bar closed, at ``now``; None before the first."""
        ...


def _correlation(mine: FloatArray | None, theirs: FloatArray | None) -> float | None:
    if mine is None or theirs is None or np.std(mine) == 0 or np.std(theirs) == 0:
        return None
    return float(np.corrcoef(mine, theirs)[0, 1])


class ArrayMarketState:
    """:class:`MarketState` over whole bar arrays, as of ``clock()`` (backtests).

    Parameters
    ----------
    bars
        Bar arrays per symbol (every bar of the run; only those complete at ``clock()`` are read).
    clock
        The engine's current time (UTC ms).
    """

    def __init__(self, bars: Mapping[str, BarSeries], clock: Callable[[], int]) -> None:
        self.bars = bars
        self.clock = clock
        self._atr: dict[str, FloatArray] = {}

    def index(self, symbol: str) -> int:
        """Index of the latest bar of ``symbol`` complete now (-1 before the first)."""
        series = self.bars[symbol]
        return int(np.searchsorted(series.close_time, self.clock(), side="right")) - 1

    def last_price(self, symbol: str) -> Decimal | None:
        i = self.index(symbol)
        return None if i < 0 else self.bars[symbol].price(i)

    def last_close_time(self, symbol: str) -> int | None:
        i = self.index(symbol)
        return None if i < 0 else int(self.bars[symbol].close_time[i])

    def closes(self, symbol: str, count: int) -> FloatArray:
        i = self.index(symbol)
        return self.bars[symbol].close[max(i + 1 - count, 0) : i + 1]

    def atr_series(self, symbol: str) -> FloatArray:
        """The ATR of every bar of ``symbol`` (one vectorised pass, kept until the series grows:
        a trading session's bars grow as they close, and the ATR of the old ones stays)."""
        found = self._atr.get(symbol)
        s = self.bars[symbol]
        if found is None or len(found) != len(s):
            found = self._atr[symbol] = atr_indicator(s.high, s.low, s.close, ATR_PERIOD)
        return found

    def atr(self, symbol: str) -> float | None:
        i = self.index(symbol)
        if i < 0:
            return None
        value = float(self.atr_series(symbol)[i])
        return value if math.isfinite(value) else None

    def volatility(self, symbol: str) -> float | None:
        value = self.atr(symbol)
        return None if value is None else value / float(self.bars[symbol].close[self.index(symbol)])

    def returns(self, symbol: str, window: int) -> FloatArray | None:
        i = self.index(symbol)
        if i < window:
            return None
        close = self.bars[symbol].close[i - window : i + 1]
        return np.diff(close) / close[:-1]

    def correlation(self, a: str, b: str, window: int) -> float | None:
        return _correlation(self.returns(a, window), self.returns(b, window))

    def quote_volume(self, symbol: str, window_ms: int, now: int) -> float | None:
        i = self.index(symbol)
        if i < 0:
            return None
        s = self.bars[symbol]
        begin = int(np.searchsorted(s.close_time, now - window_ms, side="right"))
        begin = min(begin, i + 1)
        return float(np.sum(s.volume[begin : i + 1] * s.close[begin : i + 1]))

    def staleness(self, symbol: str, now: int) -> int | None:
        closed = self.last_close_time(symbol)
        return None if closed is None else now - closed


class _Ring:
    """The last ``capacity`` floats, readable as one contiguous array.

    Each value is written twice, at ``k`` and ``k + capacity``, so the last ``n`` values are always
    the slice ``[k + capacity - n, k + capacity)`` of the doubled buffer (``k`` the next write
    position): reads need no copy, and sums run over the values in arrival order, as they do over
    the whole array.
    """

    __slots__ = ("_data", "capacity", "count", "next")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data = np.zeros(2 * capacity, dtype=np.float64)
        self.next = 0
        self.count = 0

    def push(self, value: float) -> None:
        k = self.next
        self._data[k] = value
        self._data[k + self.capacity] = value
        self.next = k + 1 if k + 1 < self.capacity else 0
        if self.count < self.capacity:
            self.count += 1

    def last(self, n: int) -> FloatArray:
        n = min(n, self.count)
        end = self.next + self.capacity
        return self._data[end - n : end]


class _Series:
    """One symbol's rolling state."""

    __slots__ = ("atr", "atr_value", "close", "close_time", "last", "quote_volume")

    def __init__(self, capacity: int) -> None:
        self.close = _Ring(capacity)
        self.close_time = _Ring(capacity)
        self.quote_volume = _Ring(capacity)
        self.atr = ATR(ATR_PERIOD)
        self.atr_value = math.nan
        self.last: Decimal | None = None


class RollingMarketState:
    """:class:`MarketState` over bounded rolling buffers, fed one closed bar at a time (live).

    Parameters
    ----------
    symbols
        The symbols fed.
    timeframe_ms
        Bar length (UTC ms) of the feed.
    lookback
        The largest look-back any reader declares, in bars (a correlation window plus one, say);
        the buffers also hold the bars of :data:`DAY_MS` (24h quote volume) and the ATR period.

    Raises
    ------
    UserError
        If ``lookback`` or ``timeframe_ms`` is not positive.
    """

    def __init__(self, symbols: Iterable[str], timeframe_ms: int, lookback: int) -> None:
        if timeframe_ms <= 0 or lookback <= 0:
            raise UserError(
                f"a rolling market state needs a positive timeframe and look-back, got "
                f"{timeframe_ms} ms and {lookback} bars"
            )
        day_bars = -(-DAY_MS // timeframe_ms) + 1
        self.capacity = max(lookback, day_bars, ATR_PERIOD + 1)
        """Bars kept per symbol: the largest look-back declared."""
        self._series = {s: _Series(self.capacity) for s in symbols}

    def on_bar(
        self, symbol: str, close_time: int, high: float, low: float, close: float, volume: float
    ) -> None:
        """Add the bar of ``symbol`` that closed at ``close_time`` (UTC ms). O(1)."""
        s = self._series[symbol]
        s.close.push(close)
        s.close_time.push(float(close_time))
        s.quote_volume.push(volume * close)
        s.atr_value = s.atr.update(high, low, close)
        s.last = None  # made on demand: a Decimal per bar costs more than the rest together

    def last_price(self, symbol: str) -> Decimal | None:
        s = self._series[symbol]
        if s.close.count == 0:
            return None
        if s.last is None:
            s.last = to_decimal(float(s.close.last(1)[0]))
        return s.last

    def last_close_time(self, symbol: str) -> int | None:
        s = self._series[symbol]
        return None if s.close.count == 0 else int(s.close_time.last(1)[0])

    def closes(self, symbol: str, count: int) -> FloatArray:
        return self._series[symbol].close.last(count)

    def atr(self, symbol: str) -> float | None:
        value = self._series[symbol].atr_value
        return value if math.isfinite(value) else None

    def volatility(self, symbol: str) -> float | None:
        value = self.atr(symbol)
        return None if value is None else value / float(self.closes(symbol, 1)[0])

    def returns(self, symbol: str, window: int) -> FloatArray | None:
        if window + 1 > self.capacity:
            raise UserError(
                f"a {window}-bar return window needs {window + 1} bars; this market state keeps "
                f"{self.capacity} (declare the look-back when making it)"
            )
        close = self.closes(symbol, window + 1)
        if len(close) < window + 1:
            return None
        return np.diff(close) / close[:-1]

    def correlation(self, a: str, b: str, window: int) -> float | None:
        return _correlation(self.returns(a, window), self.returns(b, window))

    def quote_volume(self, symbol: str, window_ms: int, now: int) -> float | None:
        s = self._series[symbol]
        if s.close.count == 0:
            return None
        times = s.close_time.last(s.close_time.count)
        begin = int(np.searchsorted(times, now - window_ms, side="right"))
        if begin == 0 and s.close.count == self.capacity and times[0] > now - window_ms:
            raise UserError(
                f"a {window_ms} ms volume window reaches past the {self.capacity} bars kept"
            )
        values = s.quote_volume.last(s.quote_volume.count)
        return float(np.sum(values[begin:]))

    def staleness(self, symbol: str, now: int) -> int | None:
        closed = self.last_close_time(symbol)
        return None if closed is None else now - closed
