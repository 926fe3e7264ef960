"""Bar series: the OHLCV arrays of one symbol and timeframe, the form bars take in backtests.

Bars stay as NumPy arrays in the hot path (DESIGN, principle 8); ``Bar`` records are made only for
strategies that ask for per-bar callbacks. ``ts`` holds open times in UTC milliseconds; bar ``i`` is
known at ``ts[i] + timeframe``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.core.errors import DataError
from tradewind.core.money import to_decimal
from tradewind.core.records import Bar
from tradewind.core.timeframe import Timeframe

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, eq=False)
class BarSeries:
    """OHLCV arrays of one symbol on one timeframe, in time order, read-only.

    Shapes: every array has length ``n``; ``ts`` is int64 milliseconds, the rest float64.
    """

    symbol: str
    timeframe: Timeframe
    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in _COLUMNS:
            if len(getattr(self, name)) != n:
                raise DataError(f"{self.symbol}: column {name} has a different length than ts")
        if n > 1 and not bool(np.all(np.diff(self.ts) > 0)):
            raise DataError(f"{self.symbol}: bar timestamps must be strictly increasing")
        for name in ("ts", *_COLUMNS):
            getattr(self, name).flags.writeable = False

    def __len__(self) -> int:
        return len(self.ts)

    @cached_property
    def close_time(self) -> IntArray:
        """When each bar is complete and may be acted on (open time plus timeframe)."""
        times = self.ts + self.timeframe.ms
        times.flags.writeable = False
        return times

    def bar(self, i: int) -> Bar:
        """Bar ``i`` as a record with exact decimal prices (for callbacks)."""
        return Bar(
            ts=int(self.ts[i]),
            timeframe=self.timeframe,
            open=to_decimal(float(self.open[i])),
            high=to_decimal(float(self.high[i])),
            low=to_decimal(float(self.low[i])),
            close=to_decimal(float(self.close[i])),
            volume=to_decimal(float(self.volume[i])),
            symbol=self.symbol,
        )

    def price(self, i: int, column: str = "close") -> Decimal:
        """One price as ``Decimal`` (shortest round-trip of the stored float)."""
        return to_decimal(float(getattr(self, column)[i]))

    def head(self, n: int) -> BarSeries:
        """The first ``n`` bars (a view): what was known at bar ``n - 1``'s close."""
        return self.slice(0, n)

    def slice(self, start: int, stop: int) -> BarSeries:
        """Bars ``start`` to ``stop - 1`` as a view."""
        return BarSeries(
            self.symbol,
            self.timeframe,
            self.ts[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.volume[start:stop],
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, symbol: str, timeframe: Timeframe) -> BarSeries:
        """Build from a DataFrame with a UTC datetime index or a ``date`` column and OHLCV columns.

        Raises
        ------
        DataError
            If a column is missing or holds NaN, or timestamps are not increasing.
        """
        columns = {c.lower(): c for c in frame.columns}
        missing = [c for c in _COLUMNS if c not in columns]
        if missing:
            raise DataError(f"{symbol}: data lacks column(s) {', '.join(missing)}")
        if "date" in columns:
            dates = pd.DatetimeIndex(frame[columns["date"]])
        elif isinstance(frame.index, pd.DatetimeIndex):
            dates = frame.index
        else:
            raise DataError(f"{symbol}: data needs a UTC datetime index or a 'date' column")
        if dates.tz is None:
            dates = dates.tz_localize("UTC")
        ts = np.asarray(dates.as_unit("ms").asi8, dtype=np.int64)
        arrays = {}
        for name in _COLUMNS:
            try:
                values = np.ascontiguousarray(
                    frame[columns[name]].to_numpy(dtype=np.float64, copy=True)
                )
            except (TypeError, ValueError):
                raise DataError(
                    f"{symbol}: column {name} holds values that are not numbers"
                ) from None
            bad = np.flatnonzero(~np.isfinite(values))
            if name != "volume" and bad.size:
                raise DataError(f"{symbol}: {name} is NaN or infinite at row {int(bad[0])}")
            arrays[name] = values
        return cls(symbol, timeframe, ts.copy(), **arrays)


class BarBuffer:
    """Bars of one symbol as they close (paper and live trading): appends in amortised O(1), and
    :meth:`series` gives every bar so far as a :class:`BarSeries` of read-only views.

    The buffers grow by doubling, so the views stay valid while the series is in use.
    """

    def __init__(self, symbol: str, timeframe: Timeframe, capacity: int = 1024) -> None:
        self.symbol = symbol
        self.timeframe = timeframe
        self._ts = np.zeros(max(capacity, 16), dtype=np.int64)
        self._values = np.zeros((len(_COLUMNS), len(self._ts)), dtype=np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def last_open(self) -> int | None:
        """Open time of the newest bar (None before the first)."""
        return int(self._ts[self._n - 1]) if self._n else None

    def append(self, bar: Bar) -> None:
        """Add a closed bar, newer than every bar so far.

        Raises
        ------
        DataError
            If the bar is not newer than the last one, or a price is not a finite number.
        """
        if self._n and bar.ts <= self._ts[self._n - 1]:
            raise DataError(f"{self.symbol}: bar {bar.ts} is not after {self._ts[self._n - 1]}")
        row = [float(bar.open), float(bar.high), float(bar.low), float(bar.close)]
        if not all(np.isfinite(row)):
            raise DataError(f"{self.symbol}: bar {bar.ts} has a price that is not a number")
        if self._n == len(self._ts):
            self._ts = np.concatenate([self._ts, np.zeros_like(self._ts)])
            self._values = np.concatenate([self._values, np.zeros_like(self._values)], axis=1)
        self._ts[self._n] = bar.ts
        self._values[:, self._n] = [*row, float(bar.volume)]
        self._n += 1

    def series(self) -> BarSeries:
        """Every bar so far (views: nothing is copied)."""
        n = self._n
        v = self._values
        columns = {"ts": self._ts[:n], "open": v[0, :n], "high": v[1, :n], "low": v[2, :n],
                   "close": v[3, :n], "volume": v[4, :n]}  # fmt: skip
        # Built without BarSeries.__post_init__: its checks (equal lengths, increasing times)
        # hold by construction here (append refuses an older bar), and they read the whole
        # history, which a session would pay again at every bar it closes.
        out = object.__new__(BarSeries)
        object.__setattr__(out, "symbol", self.symbol)
        object.__setattr__(out, "timeframe", self.timeframe)
        for name, view in columns.items():
            view.flags.writeable = False
            object.__setattr__(out, name, view)
        return out

    def last_values(self) -> tuple[float, float, float, float, float]:
        """The newest bar's ``(open, high, low, close, volume)`` as floats."""
        o, h, lo, c, v = self._values[:, self._n - 1].tolist()
        return o, h, lo, c, v
