"""Recorded market series held as arrays, answering queries with Binance's paging semantics.

The simulator is handed pandas frames (it never reads files: loading belongs to the caller, see
``venues`` in DESIGN section 3) and keeps each series as sorted NumPy arrays, so a page is two
binary searches and a slice.

Binance's time-window rule, shared by klines, mark-price klines, funding rates and aggregate
trades: with ``startTime`` the page holds the *first* ``limit`` rows at or after it (and at or
before ``endTime`` when that is given); with only ``endTime`` or with neither, the *last*
``limit`` rows up to ``endTime`` (the most recent ones). Both bounds are inclusive and compare
against the row's key: a candle's open time, a funding event's ``fundingTime`` or a trade's time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Int64Array = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def select_window(keys: Int64Array, start: int | None, end: int | None, limit: int) -> slice:
    """Return the slice of ``keys`` (sorted ascending) that one Binance page covers.

    Parameters
    ----------
    keys
        Sorted row keys in milliseconds.
    start, end
        Inclusive bounds in milliseconds, or None when the request did not send them.
    limit
        Most rows on the page (already clamped to the endpoint's maximum).

    Returns
    -------
    slice
        Rows ``[lo, hi)`` of the page, in ascending order.
    """
    lo = 0 if start is None else int(np.searchsorted(keys, start, side="left"))
    hi = len(keys) if end is None else int(np.searchsorted(keys, end, side="right"))
    if hi <= lo:
        return slice(lo, lo)
    if start is not None:
        return slice(lo, min(hi, lo + limit))
    return slice(max(lo, hi - limit), hi)


def frame_times_ms(frame: pd.DataFrame, column: str = "date") -> Int64Array:
    """Return a frame's timestamps as int64 milliseconds since the epoch (UTC).

    Accepts a datetime column (any unit, naive means UTC), an integer millisecond column, or a
    ``DatetimeIndex`` when the column is absent.

    Raises
    ------
    ValueError
        If neither the column nor a datetime index is there.
    """
    if column in frame.columns:
        values = frame[column]
    elif isinstance(frame.index, pd.DatetimeIndex):
        values = frame.index.to_series()
    else:
        raise ValueError(f"frame has no {column!r} column and no datetime index")
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.to_numpy(dtype=np.int64)
    stamps = pd.to_datetime(values, utc=True)
    return stamps.dt.as_unit("ms").astype("int64").to_numpy(dtype=np.int64)


def _sorted_unique(keys: Int64Array, what: str) -> None:
    if len(keys) > 1 and not bool(np.all(np.diff(keys) > 0)):
        raise ValueError(f"{what}: timestamps must be strictly increasing")


@dataclass(frozen=True, eq=False)
class KlineTable:
    """Candles of one interval: open times and OHLCV columns, sorted by open time.

    ``volume`` may be NaN (mark-price candles have none); it is served as ``"0"``, as Binance
    serves the ignored volume field of mark-price klines.
    """

    interval: str
    open_ms: Int64Array
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, interval: str) -> KlineTable:
        """Build a table from a frame with ``date`` (open time) and ``open high low close volume``.

        Raises
        ------
        ValueError
            If a column is missing or the open times are not strictly increasing.
        """
        missing = [c for c in ("open", "high", "low", "close") if c not in frame.columns]
        if missing:
            raise ValueError(f"{interval} candles lack columns {missing}")
        keys = frame_times_ms(frame)
        _sorted_unique(keys, f"{interval} candles")
        volume = (
            frame["volume"].to_numpy(dtype=np.float64)
            if "volume" in frame.columns
            else np.full(len(frame), np.nan)
        )
        return cls(
            interval=interval,
            open_ms=keys,
            open=frame["open"].to_numpy(dtype=np.float64),
            high=frame["high"].to_numpy(dtype=np.float64),
            low=frame["low"].to_numpy(dtype=np.float64),
            close=frame["close"].to_numpy(dtype=np.float64),
            volume=volume,
        )

    def __len__(self) -> int:
        return len(self.open_ms)


@dataclass(frozen=True, eq=False)
class FundingTable:
    """Funding events of one perpetual: event times and rates (rates may be negative)."""

    time_ms: Int64Array
    rate: FloatArray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> FundingTable:
        """Build from a frame with ``date`` and ``rate`` (or Freqtrade's ``open`` column).

        Raises
        ------
        ValueError
            If no rate column is present or times are not strictly increasing.
        """
        column = "rate" if "rate" in frame.columns else "open" if "open" in frame.columns else None
        if column is None:
            raise ValueError("funding frame needs a 'rate' column (or Freqtrade's 'open')")
        keys = frame_times_ms(frame)
        _sorted_unique(keys, "funding rates")
        return cls(time_ms=keys, rate=frame[column].to_numpy(dtype=np.float64))

    def __len__(self) -> int:
        return len(self.time_ms)


@dataclass(frozen=True, eq=False)
class TradeTable:
    """Public trades of one market, served as Binance aggregate trades (one trade per aggregate).

    ``trade_id`` doubles as the aggregate id ``a`` and as first/last trade ids ``f``/``l``;
    ``buyer_maker`` is Binance's ``m`` (True means the seller was the aggressor).
    """

    time_ms: Int64Array
    trade_id: Int64Array
    price: FloatArray
    amount: FloatArray
    buyer_maker: NDArray[np.bool_]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> TradeTable:
        """Build from a frame of trades.

        Accepted columns: time as ``date`` or ``timestamp`` (datetime or integer ms); id as
        ``id`` or ``trade_id``; ``price``; amount as ``amount`` or ``quantity``; aggressor as
        ``side`` (``buy``/``sell``) or ``buyer_maker`` (bool or ``"True"``/``"False"``).

        Raises
        ------
        ValueError
            If a needed column is missing, ids are not strictly increasing or times go back.
        """
        time_col = "date" if "date" in frame.columns else "timestamp"
        keys = frame_times_ms(frame, time_col)
        id_col = "id" if "id" in frame.columns else "trade_id"
        amount_col = "amount" if "amount" in frame.columns else "quantity"
        for col in (id_col, "price", amount_col):
            if col not in frame.columns:
                raise ValueError(f"trades frame lacks a {col!r} column")
        ids = frame[id_col].astype("int64").to_numpy(dtype=np.int64)
        if "side" in frame.columns:
            buyer_maker = (frame["side"].astype(str) == "sell").to_numpy()
        elif "buyer_maker" in frame.columns:
            buyer_maker = frame["buyer_maker"].astype(str).str.lower().eq("true").to_numpy()
        else:
            raise ValueError("trades frame needs 'side' or 'buyer_maker'")
        _sorted_unique(ids, "trade ids")
        if len(keys) > 1 and bool(np.any(np.diff(keys) < 0)):
            raise ValueError("trades: timestamps must not decrease")
        return cls(
            time_ms=keys,
            trade_id=ids,
            price=frame["price"].to_numpy(dtype=np.float64),
            amount=frame[amount_col].to_numpy(dtype=np.float64),
            buyer_maker=buyer_maker.astype(np.bool_),
        )

    def __len__(self) -> int:
        return len(self.time_ms)

    def from_id(self, first_id: int, limit: int) -> slice:
        """Return the rows of a ``fromId`` page: ids at or above ``first_id``, oldest first."""
        lo = int(np.searchsorted(self.trade_id, first_id, side="left"))
        return slice(lo, min(len(self.trade_id), lo + limit))


def fmt(value: float) -> str:
    """Format a float as Binance does in JSON strings, without losing a digit.

    The shortest decimal that reads back as the same float, never in exponent notation, so the
    client parses exactly the recorded value. NaN (no value recorded) is served as ``"0"``.
    """
    if np.isnan(value):
        return "0"
    text = repr(value)
    # repr is the shortest round-trip form and 10x faster; only tiny and huge values need the
    # positional formatter to avoid exponents ("1e-08").
    if "e" in text or "n" in text:
        return np.format_float_positional(value, trim="-")
    return text[:-2] if text.endswith(".0") else text
