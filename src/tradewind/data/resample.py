"""Resample candles to a longer timeframe, keeping closed candles only.

Each target candle aggregates the source candles whose open time falls in its bucket
``[start, start + to_tf)`` (buckets aligned to the Unix epoch, like :meth:`Timeframe.floor`): first
open, highest high, lowest low, last close, summed volume (a NaN volume, as in mark-price candles,
makes the sum NaN).

Closed candles only
-------------------
A bucket is closed when its end is at or before ``until``: the moment up to which the data is
known. By default that is the close time of the last source candle (its date + ``from_tf``), so
with 1m data ending at the 10:13 candle (known until 10:14) the 10:00 15m candle is dropped: its
10:14 minute may still come. Gaps inside a closed bucket are treated like quiet minutes: a missing
source candle means nothing traded (exchanges send no candle then), so the bucket aggregates the
candles that exist; a bucket with no source candle at all produces no row (it stays a gap). The
same holds for a first bucket that the data enters part way.

Resampling composes when the horizon is shared: 1m -> 5m -> 15m equals 1m -> 15m given the same
``until``. With the defaults the two can differ in the last bucket only, when the 5m step drops a
partial bucket that was the only evidence that time had moved past a 15m boundary; pass
``until`` through both steps to get identical results.

The kernel is vectorised NumPy (``ufunc.reduceat`` over bucket boundaries), not a pandas resample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe
from tradewind.data.kinds import DATE
from tradewind.data.schema import DATE_DTYPE, date_ms


def resample_arrays(
    ts: np.ndarray,
    o: np.ndarray,
    h: np.ndarray,
    low: np.ndarray,
    c: np.ndarray,
    v: np.ndarray,
    *,
    to_ms: int,
    until_ms: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Aggregate sorted, aligned OHLCV arrays into the ``to_ms`` buckets that end by ``until_ms``.

    All inputs are 1-D arrays of one length ``n`` (``ts`` int64 ms open times, the rest float64);
    the outputs are arrays of the number of closed, non-empty target buckets. The pandas
    equivalent is ``df.resample(to).agg(first/max/min/last/sum)`` without empty buckets and
    without buckets that end after ``until_ms``.
    """
    if ts.size == 0:
        return ts[:0], o[:0], h[:0], low[:0], c[:0], v[:0]
    bucket = ts - ts % to_ms
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [ts.size])) - 1
    # Buckets are sorted, so the closed ones are a prefix.
    keep = int(np.searchsorted(bucket[starts] + to_ms, until_ms, side="right"))
    starts, ends = starts[:keep], ends[:keep]
    if keep == 0:
        return ts[:0], o[:0], h[:0], low[:0], c[:0], v[:0]
    stop = ends[-1] + 1
    return (
        bucket[starts],
        o[starts],
        np.maximum.reduceat(h[:stop], starts),
        np.minimum.reduceat(low[:stop], starts),
        c[ends],
        np.add.reduceat(v[:stop], starts),
    )


def resample(
    frame: pd.DataFrame,
    to_tf: Timeframe,
    from_tf: Timeframe,
    *,
    until: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Resample a candle frame from ``from_tf`` to ``to_tf`` (closed candles only; see module).

    Parameters
    ----------
    frame
        Candles (``date, open, high, low, close, volume``) sorted by unique dates on the
        ``from_tf`` grid, as the catalog stores them after validation.
    to_tf
        Target timeframe; a whole multiple of ``from_tf``.
    from_tf
        The frame's timeframe.
    until
        The moment up to which the data is known; buckets ending later are dropped. Default:
        the close time of the last candle.

    Returns
    -------
    pandas.DataFrame
        Candles on the ``to_tf`` grid; a candle's date is its bucket's open time.

    Raises
    ------
    UserError
        If ``to_tf`` is not a multiple of ``from_tf`` (or not longer).
    DataError
        If the frame is unsorted, has duplicate dates or dates off the ``from_tf`` grid.
    """
    if to_tf.ms <= from_tf.ms or not from_tf.divides(to_tf):
        raise UserError(
            f"cannot resample {from_tf} candles to {to_tf}: the target must be a longer, whole "
            f"multiple of {from_tf}"
        )
    ts = date_ms(frame)
    if ts.size > 1 and (np.diff(ts) <= 0).any():
        raise DataError("resample needs candles sorted by unique dates; validate the series first")
    if (ts % from_tf.ms != 0).any():
        raise DataError(f"resample needs dates on the {from_tf} grid; validate the series first")
    arrays = [frame[name].to_numpy(dtype=np.float64) for name in ("open", "high", "low", "close")]
    volume = frame["volume"].to_numpy(dtype=np.float64)
    if until is None:
        until_ms = int(ts[-1]) + from_tf.ms if ts.size else 0
    else:
        until_ms = int(pd.Timestamp(until).value // 1_000_000)
    out_ts, o, h, low, c, v = resample_arrays(
        ts, *arrays, volume, to_ms=to_tf.ms, until_ms=until_ms
    )
    dates = pd.Series(out_ts.astype("datetime64[ms]")).dt.tz_localize("UTC").astype(DATE_DTYPE)
    return pd.DataFrame({DATE: dates, "open": o, "high": h, "low": low, "close": c, "volume": v})
