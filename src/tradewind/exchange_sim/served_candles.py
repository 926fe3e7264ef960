"""Recorded candles as the simulator serves them: exact, on the grid, on the replay clock.

A :class:`GridCandles` holds one recorded interval with prices in integer ticks of the listing
and volumes in integer units of 1e-8, so every served number is an exact decimal string (the
recording's floats carry noise such as ``0.10441057000000001``; the nearest tick is what Binance
published). A :class:`CandleServer` answers kline requests for one market:

- rows are the recording shifted by the market's :class:`~.timeline.Timeline`, pass after pass,
  up to the replay clock and never beyond;
- the candle that contains the replay clock is served *partial*, as Binance serves it: open, the
  highest and lowest price so far, the last price and the volume so far, from the candle's walk
  (:mod:`.candle_walk`), which is what the replayed book and trades follow too;
- an interval that was not recorded is built from the longest recorded interval that divides it,
  on Binance's grid in server time (see :func:`~.intervals.can_aggregate`).

Rows have Binance's 12 fields. The bundled recordings hold only OHLCV (no quote volume, trade
count or taker-buy volume), so the quote volume is an *estimate*: each recorded candle's volume
times its typical price ``(high + low + close) / 3``, rounded to 1e-8; an aggregated interval sums
the estimates of the candles it is built from, and the partial candle uses its values so far.
Trade count and taker-buy volumes are not estimated: ``0``/``"0"``. Mark-price rows carry ``"0"``
volume and quote volume, as Binance's do.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tradewind.exchange_sim.accounts import fmt_dec
from tradewind.exchange_sim.candle_walk import VOLUME_UNIT_DECIMALS, Walk, walk
from tradewind.exchange_sim.intervals import INTERVAL_MS, can_aggregate, grid_origin_ms
from tradewind.exchange_sim.tables import KlineTable, TradeTable, select_window
from tradewind.exchange_sim.timeline import Timeline

Int64Array = NDArray[np.int64]
_VOLUME_SCALE = 10**VOLUME_UNIT_DECIMALS
_VOLUME_UNIT = Decimal(1).scaleb(-VOLUME_UNIT_DECIMALS)
DEFAULT_STEPS = 8
"""Steps per candle of a walk (the candle flow's default)."""


@dataclass(frozen=True, eq=False)
class GridCandles:
    """One recorded interval on the listing's grid (recording time, ticks, 1e-8 volume units).

    ``volume`` is -1 where none was recorded (mark-price candles).
    """

    interval: str
    open_ms: Int64Array
    open: Int64Array
    high: Int64Array
    low: Int64Array
    close: Int64Array
    volume: Int64Array
    tick: Decimal

    @classmethod
    def from_table(cls, table: KlineTable, tick: Decimal) -> GridCandles:
        """Put ``table`` on the tick grid (nearest tick) and volumes on 1e-8 (nearest unit)."""
        t = float(tick)

        def ticks(values: NDArray[np.float64]) -> Int64Array:
            return np.rint(values / t).astype(np.int64)

        vol = np.where(np.isnan(table.volume), -1.0, np.rint(table.volume * _VOLUME_SCALE))
        return cls(
            interval=table.interval,
            open_ms=table.open_ms,
            open=ticks(table.open),
            high=ticks(table.high),
            low=ticks(table.low),
            close=ticks(table.close),
            volume=vol.astype(np.int64),
            tick=tick,
        )

    def __len__(self) -> int:
        return len(self.open_ms)

    @property
    def length_ms(self) -> int | None:
        """The interval's length (None for calendar months)."""
        return INTERVAL_MS.get(self.interval)

    def ohlc(self, k: int) -> tuple[int, int, int, int]:
        """Return candle ``k``'s open, high, low and close in ticks."""
        return int(self.open[k]), int(self.high[k]), int(self.low[k]), int(self.close[k])

    def price(self, ticks: int) -> Decimal:
        """Return a price in ticks as a Decimal."""
        return self.tick * ticks

    def end_ms(self) -> int:
        """Return the close of the last candle (exclusive), in recording time."""
        length = self.length_ms or 0
        return int(self.open_ms[-1]) + length if len(self) else 0


def volume_decimal(units: int) -> Decimal:
    """Return a volume in 1e-8 units as a Decimal."""
    return _VOLUME_UNIT * units


Walker = Callable[[GridCandles, int], Walk]


def seeded_walker(symbol: str, seed: int, lot: Decimal, steps: int = DEFAULT_STEPS) -> Walker:
    """Return a walker for tables the flow does not replay (draws keyed by symbol and interval)."""
    lot_units = int(lot / _VOLUME_UNIT) if lot >= _VOLUME_UNIT else 1

    def make(table: GridCandles, k: int) -> Walk:
        key = zlib.crc32(f"{symbol}:{table.interval}".encode())
        weights = np.random.default_rng((seed, key, k)).uniform(0.5, 1.5, size=steps)
        return walk(
            table.ohlc(k), int(table.volume[k]), table.length_ms or 1, steps, weights, lot_units
        )

    return make


def trade_walker(trades: TradeTable, tick: Decimal) -> Walker:
    """Return a walker whose candle ``k`` is the recorded trades inside it, in time order.

    For markets whose book replays recorded trades (their candles were built from them), so the
    partial candle is exactly the trades replayed so far.
    """
    t = float(tick)

    def make(table: GridCandles, k: int) -> Walk:
        open_ms = int(table.open_ms[k])
        length = table.length_ms or 1
        lo = int(np.searchsorted(trades.time_ms, open_ms, side="left"))
        hi = int(np.searchsorted(trades.time_ms, open_ms + length, side="left"))
        if hi <= lo:
            return Walk([0], [int(table.close[k])], [0])
        return Walk(
            [int(v) - open_ms for v in trades.time_ms[lo:hi]],
            [int(v) for v in np.rint(trades.price[lo:hi] / t)],
            [int(v) for v in np.rint(trades.amount[lo:hi] * _VOLUME_SCALE)],
        )

    return make


@dataclass
class Rows:
    """Served candles as arrays: server open times, ticks, 1e-8 volume units (-1: none).

    ``k`` is each row's candle in the recorded table, ``partial_steps`` the steps done in the
    last row when it is still forming, ``prev_close`` the close of the row before the first
    (when :meth:`CandleServer.window` cut some off).
    """

    open_ms: Int64Array
    o: Int64Array
    h: Int64Array
    lo: Int64Array
    c: Int64Array
    v: Int64Array
    length_ms: int | None
    k: Int64Array | None = None
    partial_steps: int | None = None
    prev_close: int | None = None
    source: Rows | None = None
    """For aggregated rows: the recorded rows they are built from."""
    parts: Int64Array | None = None
    """For aggregated rows: the index in ``source`` of each row's first recorded row."""

    @property
    def size(self) -> int:
        """Number of rows."""
        return len(self.open_ms)


class CandleServer:
    """Kline answers of one market (see the module docstring).

    Parameters
    ----------
    tables
        Recorded intervals by name.
    timeline
        The market's recording on the server clock.
    walker
        Returns the walk of candle ``k`` of a table (the flow's own for the replayed table).
    mark
        Mark-price candles (volume served as ``"0"``).
    """

    def __init__(
        self,
        tables: dict[str, GridCandles],
        timeline: Timeline,
        walker: Walker,
        *,
        mark: bool = False,
    ) -> None:
        self.tables = tables
        self.timeline = timeline
        self.walker = walker
        self.mark = mark
        self._stats: dict[str, dict[int, tuple[int, int, int]]] = {}

    def source(self, interval: str) -> GridCandles | None:
        """Return the recorded table serving ``interval`` (itself, or one to aggregate)."""
        if interval in self.tables:
            return self.tables[interval]
        if not can_aggregate(interval):
            return None
        target = INTERVAL_MS[interval]
        sources = [
            t
            for name, t in self.tables.items()
            if name in INTERVAL_MS and target % INTERVAL_MS[name] == 0 and can_aggregate(name)
        ]
        if not sources:
            return None
        return max(sources, key=lambda t: INTERVAL_MS[t.interval])

    def _served(self, table: GridCandles, now_ms: int) -> Rows:
        tl = self.timeline
        n = len(table)
        passes = tl.pass_at(now_ms) + 1
        shifts = tl.offset_ms + tl.period_ms * np.arange(passes, dtype=np.int64)
        open_ms = (table.open_ms[None, :] + shifts[:, None]).ravel()
        cut = int(np.searchsorted(open_ms, now_ms, side="right"))
        rows = Rows(
            open_ms[:cut],
            np.tile(table.open, passes)[:cut],
            np.tile(table.high, passes)[:cut],
            np.tile(table.low, passes)[:cut],
            np.tile(table.close, passes)[:cut],
            np.tile(table.volume, passes)[:cut],
            table.length_ms,
            k=np.tile(np.arange(n, dtype=np.int64), passes)[:cut],
        )
        length = table.length_ms
        if cut and length is not None and now_ms < int(open_ms[cut - 1]) + length:
            k = (cut - 1) % n
            w = self.walker(table, k)
            done = max(1, w.steps_done(now_ms - int(open_ms[cut - 1])))
            o, h, lo, c, v = w.partial(int(table.open[k]), done)
            rows.h[-1], rows.lo[-1], rows.c[-1] = h, lo, c
            rows.o[-1] = o
            if table.volume[k] >= 0:
                rows.v[-1] = v
            rows.partial_steps = done
        return rows

    def base(self) -> GridCandles | None:
        """Return the shortest recorded fixed-length interval (what the flow replays)."""
        fixed = [t for t in self.tables.values() if t.length_ms is not None and len(t)]
        return min(fixed, key=lambda t: t.length_ms or 0) if fixed else None

    def window(self, table: GridCandles, start_ms: int, now_ms: int) -> Rows:
        """Return the served rows of ``table`` that open in ``[start_ms, now_ms]``."""
        rows = self._served(table, now_ms)
        lo = int(np.searchsorted(rows.open_ms, start_ms, side="left"))
        prev = int(rows.c[lo - 1]) if lo > 0 else None
        assert rows.k is not None
        return Rows(
            rows.open_ms[lo:], rows.o[lo:], rows.h[lo:], rows.lo[lo:], rows.c[lo:],
            rows.v[lo:], rows.length_ms, k=rows.k[lo:], partial_steps=rows.partial_steps,
            prev_close=prev,
        )  # fmt: skip

    def trade_stats(self, table: GridCandles, rows: Rows) -> tuple[int, int, int]:
        """Return the walk trades of ``rows``: quote volume (ticks x 1e-8 units), count, last qty.

        Each candle's walk is computed once (cached by candle), however many passes repeat it.
        """
        assert rows.k is not None
        if rows.size == 0:
            return 0, 0, 0
        cache = self._stats.setdefault(table.interval, {})
        ks = rows.k
        full = ks[:-1] if rows.partial_steps is not None else ks
        quote = count = 0
        uniq, times = np.unique(full, return_counts=True)
        for k, repeat in zip(uniq.tolist(), times.tolist(), strict=True):
            if k not in cache:
                w = self.walker(table, k)
                cache[k] = _walk_stats(w, len(w.price_ticks))
            q, n, _ = cache[k]
            quote += q * repeat
            count += n * repeat
        w = self.walker(table, int(ks[-1]))
        steps = rows.partial_steps if rows.partial_steps is not None else len(w.price_ticks)
        q, n, last_qty = _walk_stats(w, steps)
        if rows.partial_steps is not None:
            quote += q
            count += n
        return quote, count, last_qty

    def rows(
        self,
        interval: str,
        start: int | None,
        end: int | None,
        limit: int,
        now_ms: int,
        *,
        clock_ms: int | None = None,
    ) -> list[list[Any]]:
        """Return one page of klines of ``interval`` (Binance's window rule), up to ``now_ms``.

        ``now_ms`` is how far the replay has served; ``clock_ms`` the server's clock. When the
        replay runs behind the clock, the candle it is still forming may already be past its
        close time by the clock, and a client would take it as final (closeTime < serverTime):
        it is left off the page until the replay has finished it.
        """
        table = self.source(interval)
        if table is None:
            return []
        served = self._served(table, now_ms)
        if interval != table.interval:
            served = _aggregate(served, interval)
        keys = served.open_ms
        if clock_ms is not None and len(keys):
            close = _close_ms(int(keys[-1]), served.length_ms)
            if now_ms <= close < clock_ms:
                keys = keys[:-1]
        page = select_window(keys, start, end, limit)
        return [self._row(served, i, table.tick) for i in range(page.start, page.stop)]

    def latest(self, interval: str, now_ms: int) -> tuple[list[Any] | None, list[Any] | None]:
        """Return the candle containing ``now_ms`` (or the last before it) and the one before."""
        table = self.source(interval)
        if table is None:
            return None, None
        served = self._served(table, now_ms)
        if interval != table.interval:
            served = _aggregate(served, interval)
        n = len(served.open_ms)
        last = self._row(served, n - 1, table.tick) if n else None
        before = self._row(served, n - 2, table.tick) if n > 1 else None
        return last, before

    def _row(self, rows: Rows, i: int, tick: Decimal) -> list[Any]:
        open_ms = int(rows.open_ms[i])
        close_ms = _close_ms(open_ms, rows.length_ms)
        volume = int(rows.v[i])
        none = self.mark or volume < 0
        return [
            open_ms,
            fmt_dec(tick * int(rows.o[i])),
            fmt_dec(tick * int(rows.h[i])),
            fmt_dec(tick * int(rows.lo[i])),
            fmt_dec(tick * int(rows.c[i])),
            "0" if none else fmt_dec(volume_decimal(volume)),
            close_ms,
            "0" if none else fmt_dec(quote_estimate(_typical_units(rows, i), tick)),
            0,
            "0",
            "0",
            "0",
        ]


def quote_estimate(units: int, tick: Decimal) -> Decimal:
    """Return a quote-volume estimate from ``volume x (high + low + close)`` in grid units.

    ``units`` is in 1e-8 volume units times price ticks; the result is that over 3 (the typical
    price), in quote units, rounded half-even to 1e-8.
    """
    return (volume_decimal(units) * tick / 3).quantize(_VOLUME_UNIT, ROUND_HALF_EVEN)


def _typical_units(rows: Rows, i: int) -> int:
    """``volume x (high + low + close)`` of served row ``i`` (summed over its recorded rows)."""
    if rows.source is None or rows.parts is None:
        volume = int(rows.v[i])
        return volume * (int(rows.h[i]) + int(rows.lo[i]) + int(rows.c[i])) if volume > 0 else 0
    end = int(rows.parts[i + 1]) if i + 1 < len(rows.parts) else rows.source.size
    return sum(_typical_units(rows.source, j) for j in range(int(rows.parts[i]), end))


def _walk_stats(w: Walk, steps: int) -> tuple[int, int, int]:
    """Quote volume (ticks x 1e-8 units), trade count and last trade size of a walk's first steps."""
    quote = count = last = 0
    for price, qty in zip(w.price_ticks[:steps], w.volume_units[:steps], strict=True):
        if qty > 0:
            quote += price * qty
            count += 1
            last = qty
    return quote, count, last


def _close_ms(open_ms: int, length_ms: int | None) -> int:
    if length_ms is not None:
        return open_ms + length_ms - 1
    # 1M: a candle closes 1 ms before the next month opens.
    month = np.datetime64(open_ms, "ms").astype("datetime64[M]")
    return int((month + 1).astype("datetime64[ms]").astype(np.int64)) - 1


def _aggregate(rows: Rows, interval: str) -> Rows:
    length = INTERVAL_MS[interval]
    if len(rows.open_ms) == 0:
        return Rows(rows.open_ms, rows.o, rows.h, rows.lo, rows.c, rows.v, length)
    origin = grid_origin_ms(interval)
    buckets = (rows.open_ms - origin) // length * length + origin
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], len(buckets)] - 1
    volume = np.add.reduceat(rows.v, starts)
    none = np.minimum.reduceat(rows.v, starts) < 0
    return Rows(
        buckets[starts],
        rows.o[starts],
        np.maximum.reduceat(rows.h, starts),
        np.minimum.reduceat(rows.lo, starts),
        rows.c[ends],
        np.where(none, -1, volume),
        length,
        source=rows,
        parts=starts,
    )
