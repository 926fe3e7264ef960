"""What a live session saw, written to its run folder: every market message with the exchange's
time and this machine's receive time, every bar as announced, and a journal of signal
evaluations, intents, orders and fills with their times.

Layout under ``<run_dir>/recording/``::

    messages/part-00001.parquet   date (exchange time), received_ms, stream, symbol, kind,
                                  payload (the raw message, JSON text: exact decimals)
    bars/part-00001.parquet       date (bar open), symbol, timeframe, open..volume (exact text),
                                  source (stream, warmup, backfill, revised), exchange_ms,
                                  received_ms
    journal/part-00001.parquet    date (engine time), received_ms, kind (signal, intent, order,
                                  fill, alert), strategy, symbol, payload (JSON text)
    books/part-00001.parquet      date (the book's exchange time), received_ms, symbol, message
                                  (its number in the session), side (0 bid, 1 ask), price, size:
                                  the top levels a ``book`` fill model walked, one snapshot per
                                  change (only sessions with that fill model write it)
    catalog/<exchange>/...        the same market data as catalog series (candles, trades,
                                  book_deltas, funding_rate), written by :meth:`close`, each row
                                  with its ``received_ms``: ``tradewind backtest --data`` and the
                                  drift report read them like any downloaded series

Rows are buffered in memory and written as a new part file (parquet, zstd) every
``flush_rows`` rows or on :meth:`SessionRecorder.flush`, in a worker thread, so the event loop
never waits on the disk. Parts are never rewritten: a crash loses at most the unflushed buffer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tradewind.core.market_events import BarClosed, BarRevised, MarketEvent, StreamAlert
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.kinds import DATE, RECEIVED, DataKind

_DATE = pa.timestamp("ms", tz="UTC")
_SCHEMAS = {
    "messages": pa.schema(
        [(DATE, _DATE), (RECEIVED, pa.int64()), ("stream", pa.string()),
         ("symbol", pa.string()), ("kind", pa.string()), ("payload", pa.string())]
    ),
    "bars": pa.schema(
        [(DATE, _DATE), ("symbol", pa.string()), ("timeframe", pa.string()),
         ("open", pa.string()), ("high", pa.string()), ("low", pa.string()),
         ("close", pa.string()), ("volume", pa.string()), ("source", pa.string()),
         ("exchange_ms", pa.int64()), (RECEIVED, pa.int64()), ("venue", pa.string()),
         ("secondary", pa.bool_())]
    ),
    "journal": pa.schema(
        [(DATE, _DATE), (RECEIVED, pa.int64()), ("kind", pa.string()),
         ("strategy", pa.string()), ("symbol", pa.string()), ("payload", pa.string())]
    ),
    "books": pa.schema(
        [(DATE, _DATE), (RECEIVED, pa.int64()), ("symbol", pa.string()),
         ("message", pa.int64()), ("side", pa.int8()), ("price", pa.float64()),
         ("size", pa.float64())]
    ),
}  # fmt: skip


class JournalKind(StrEnum):
    """What a journal row records."""

    SIGNAL = "signal"
    """A strategy evaluated its signals on a closed bar (payload: the values it saw)."""
    INTENT = "intent"
    """A strategy emitted an intent (and the risk gate's decision)."""
    ORDER = "order"
    """An order was created, sent, acknowledged, cancelled or rejected."""
    FILL = "fill"
    """An order filled (price, quantity, fee)."""
    ALERT = "alert"
    """A stream alert (stale, disconnected, resync ...)."""
    CONTEXT = "context"
    """The market context across venues that the strategies saw from then on."""


def wall_ms() -> int:
    """Return this machine's clock in ms since the epoch."""
    return time.time_ns() // 1_000_000


def _kind_of(stream: str) -> str:
    if "#snapshot" in stream:
        return "depth_snapshot"
    name = stream.split("@", 1)[1] if "@" in stream else stream
    for prefix, kind in (("kline_", "kline"), ("depth", "depth"), ("trade", "trade"),
                         ("aggTrade", "trade"), ("bookTicker", "ticker"), ("markPrice", "mark"),
                         ("ticker", "ticker_24h")):  # fmt: skip
        if name.startswith(prefix):
            return kind
    return name


def _exchange_ms(message: Mapping[str, Any], received_ms: int) -> int:
    for key in ("E", "T"):
        value = message.get(key)
        if isinstance(value, int):
            return value
    return received_ms


@dataclass
class _Buffer:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    parts: int = 0
    since: float = 0.0
    """When its oldest buffered row came (monotonic seconds)."""


class SessionRecorder:
    """Records a live session into ``<run_dir>/recording`` (layout in the module docstring).

    Parameters
    ----------
    run_dir
        The session's run folder (created when missing).
    exchange
        The exchange's ccxt id, for the catalog export.
    flush_rows
        Buffered rows of one table that trigger a background write.
    flush_seconds
        The longest a row waits in memory: a table's rows are written once the oldest is this
        old, so a quiet table (the journal) does not grow for hours before its first write and
        memory stays flat however long the session runs.
    clock
        This machine's clock in ms (receive times of journal rows).
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        exchange: str = "binance",
        flush_rows: int = 20_000,
        flush_seconds: float = 30.0,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.root = Path(run_dir) / "recording"
        self.exchange = exchange
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.clock = clock
        self._buffers = {name: _Buffer() for name in _SCHEMAS}
        self._writes: set[asyncio.Task[None]] = set()
        self._writer: ThreadPoolExecutor | None = None
        self.counts = dict.fromkeys(_SCHEMAS, 0)
        self._last_exchange_ms: dict[str, int] = {}

    # ----------------------------------------------------------------- recording
    def market_message(
        self, stream: str, symbol: str, message: Mapping[str, Any], received_ms: int
    ) -> None:
        """Record one raw market message (the feed's recorder hook).

        A message without an exchange time (a spot depth snapshot) is dated with the exchange
        time of the symbol's latest message: the best estimate of the exchange's clock then.
        """
        if "E" in message or "T" in message:
            exchange_ms = _exchange_ms(message, received_ms)
            self._last_exchange_ms[symbol] = exchange_ms
        else:
            exchange_ms = self._last_exchange_ms.get(symbol, received_ms)
        self._add(
            "messages",
            (exchange_ms, received_ms, stream, symbol, _kind_of(stream),
             orjson.dumps(message).decode()),
        )  # fmt: skip

    def market_event(self, event: MarketEvent) -> None:
        """Record a bar as announced (closed or revised; with the source it came from and
        whether that is a secondary one, when several feed the session) or a stream alert; ignore
        the rest (their raw messages are recorded already)."""
        if isinstance(event, BarClosed | BarRevised):
            bar = event.bar
            source = "revised" if isinstance(event, BarRevised) else event.source.value
            self._add(
                "bars",
                (bar.ts, bar.symbol, str(bar.timeframe), str(bar.open), str(bar.high),
                 str(bar.low), str(bar.close), str(bar.volume), source, event.exchange_ms,
                 event.received_ms, getattr(event, "venue", ""),
                 bool(getattr(event, "secondary", False))),
            )  # fmt: skip
        elif isinstance(event, StreamAlert):
            payload = {"stream": event.stream, "alert": event.kind.value,
                       "state": event.state.value, "detail": event.detail}  # fmt: skip
            symbol = ",".join(event.symbols)
            self.journal(JournalKind.ALERT, ts_ms=event.received_ms, payload=payload, symbol=symbol)

    def journal(
        self,
        kind: JournalKind,
        *,
        ts_ms: int,
        payload: Mapping[str, Any],
        strategy: str = "",
        symbol: str = "",
    ) -> None:
        """Record a signal evaluation, intent, order, fill or alert at engine time ``ts_ms``.

        ``payload`` must be JSON-serialisable; ``Decimal`` values are written as their exact text.
        """
        text = orjson.dumps(payload, default=str).decode()
        self._add("journal", (ts_ms, self.clock(), kind.value, strategy, symbol, text))

    def book_levels(
        self,
        symbol: str,
        *,
        ts_ms: int,
        received_ms: int,
        message: int,
        levels: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> None:
        """Record one book snapshot a ``book`` fill model was fed: ``levels`` are its sides
        (0 bid, 1 ask), prices and sizes, ``message`` its number in the session."""
        sides, prices, sizes = levels
        for side, price, size in zip(sides.tolist(), prices.tolist(), sizes.tolist(), strict=True):
            self._add("books", (ts_ms, received_ms, symbol, message, side, price, size))

    def _add(self, table: str, row: tuple[Any, ...]) -> None:
        buffer = self._buffers[table]
        now = time.monotonic()
        if not buffer.rows:
            buffer.since = now
        buffer.rows.append(row)
        self.counts[table] += 1
        if len(buffer.rows) >= self.flush_rows or now - buffer.since >= self.flush_seconds:
            self._write_soon(table)

    # ----------------------------------------------------------------- writing
    def _write_soon(self, table: str) -> None:
        buffer = self._buffers[table]
        rows, buffer.rows = buffer.rows, []
        buffer.parts += 1
        path = self.root / table / f"part-{buffer.parts:05d}.parquet"
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            _write_part(path, table, rows)
            return
        task = loop.create_task(self._in_writer(_write_part, path, table, rows))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _in_writer(self, fn: Callable[..., Any], *args: Any) -> Any:
        # One writer thread for the session's whole life (not the loop's shared pool): the
        # buffers each write allocates come back to one allocator arena, so a session that writes
        # a part every few seconds for days keeps a flat resident size.
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    async def flush(self) -> None:
        """Write every buffered row and wait for the writes."""
        for table, buffer in self._buffers.items():
            if buffer.rows:
                self._write_soon(table)
        if self._writes:
            await asyncio.gather(*list(self._writes))

    async def close(self) -> list[Path]:
        """Flush, then export the market data as catalog series; return the series written."""
        await self.flush()
        try:
            written: list[Path] = await self._in_writer(
                export_catalog, self.root.parent, self.exchange
            )
        finally:
            if self._writer is not None:
                self._writer.shutdown(wait=False)
                self._writer = None
        return written


def _write_part(path: Path, table: str, rows: list[tuple[Any, ...]]) -> None:
    schema = _SCHEMAS[table]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema.names]
    # The system allocator hands the write's buffers back; Arrow's default pool keeps their pages,
    # which a long session saw as resident memory growing with every part written.
    pool = pa.system_memory_pool()
    arrays = [
        pa.array(list(col), type=schema.field(i).type, memory_pool=pool)
        for i, col in enumerate(columns)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), tmp, compression="zstd")
    tmp.replace(path)


def read_table(run_dir: Path, table: str) -> pd.DataFrame:
    """Read one recorded table (``messages``, ``bars``, ``journal`` or ``books``) of a run, in
    write order.

    An unrecorded table reads as an empty frame with its columns.
    """
    folder = Path(run_dir) / "recording" / table
    parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    if not parts:
        return _SCHEMAS[table].empty_table().to_pandas()
    return pa.concat_tables([pq.read_table(p) for p in parts]).to_pandas()


def export_catalog(run_dir: Path, exchange: str = "binance") -> list[Path]:
    """Write the recorded market data of ``run_dir`` as catalog series under
    ``recording/catalog``; return the parquet files written.

    Candles are the bars as last announced (a revision replaces its bar); trades and book deltas
    come from the raw messages (book snapshots are the REST snapshots the feed installed, marked
    ``is_snapshot``); funding rates are the last rate published before each funding time.
    """
    catalog = Catalog(Path(run_dir) / "recording" / "catalog")
    written: list[Path] = []
    bars = read_table(run_dir, "bars")
    for (symbol, timeframe), rows in bars.groupby(["symbol", "timeframe"], sort=True):
        last = rows.drop_duplicates(DATE, keep="last").sort_values(DATE)
        frame = pd.DataFrame({DATE: last[DATE].astype("datetime64[ms, UTC]")})
        for name in ("open", "high", "low", "close", "volume"):
            frame[name] = last[name].astype(np.float64).to_numpy()
        frame[RECEIVED] = last[RECEIVED].to_numpy()
        key = SeriesKey(exchange, str(symbol), str(timeframe), DataKind.CANDLES)
        written.append(catalog.write(key, frame.reset_index(drop=True)))
    messages = read_table(run_dir, "messages")
    # Snapshots and diffs of one book make one series.
    messages["series"] = messages["kind"].replace({"depth_snapshot": "depth"})
    for (symbol, kind), rows in messages.groupby(["symbol", "series"], sort=True):
        frame, series = _series(str(kind), rows)
        if frame is None or series is None:
            continue
        key = SeriesKey(exchange, str(symbol), "8h" if series is DataKind.FUNDING else None, series)
        written.append(catalog.write(key, frame))
    return written


def _series(kind: str, rows: pd.DataFrame) -> tuple[pd.DataFrame | None, DataKind | None]:
    payloads = [orjson.loads(p) for p in rows["payload"]]
    received = rows[RECEIVED].to_numpy()
    if kind == "trade":
        frame = pd.DataFrame({
            DATE: pd.to_datetime([int(p["T"]) for p in payloads], unit="ms", utc=True),
            "id": [str(p.get("t", p.get("a"))) for p in payloads],
            "price": [float(p["p"]) for p in payloads],
            "amount": [float(p["q"]) for p in payloads],
            "side": ["sell" if p.get("m") else "buy" for p in payloads],
            RECEIVED: received,
        })  # fmt: skip
        return frame.sort_values(DATE, kind="stable").reset_index(drop=True), DataKind.TRADES
    if kind == "depth":
        return _book_rows(rows, payloads), DataKind.BOOK_DELTAS
    if kind == "mark":
        settled: dict[int, tuple[float, int]] = {}
        for p, got in zip(payloads, received, strict=True):
            if p.get("r") not in (None, "") and p.get("T"):
                settled[int(p["T"])] = (float(p["r"]), int(got))
        last_seen = max((int(p["E"]) for p in payloads), default=0)
        times = sorted(t for t in settled if t <= last_seen)
        if not times:
            return None, None
        frame = pd.DataFrame({
            DATE: pd.to_datetime(times, unit="ms", utc=True),
            "rate": [settled[t][0] for t in times],
            RECEIVED: [settled[t][1] for t in times],
        })  # fmt: skip
        return frame, DataKind.FUNDING
    return None, None


def _book_rows(rows: pd.DataFrame, payloads: list[dict[str, Any]]) -> pd.DataFrame:
    out: dict[str, list[Any]] = {k: [] for k in (DATE, "side", "price", "size", "sequence",
                                                 "is_snapshot", RECEIVED)}  # fmt: skip
    for p, when, got in zip(payloads, rows[DATE], rows[RECEIVED], strict=True):
        snapshot = "lastUpdateId" in p
        sequence = int(p["lastUpdateId"] if snapshot else p["u"])
        for side, key in (
            ("bid", "bids" if snapshot else "b"),
            ("ask", "asks" if snapshot else "a"),
        ):
            for price, size in p.get(key, []):
                out[DATE].append(when)
                out["side"].append(side)
                out["price"].append(float(price))
                out["size"].append(float(size))
                out["sequence"].append(sequence)
                out["is_snapshot"].append(snapshot)
                out[RECEIVED].append(int(got))
    frame = pd.DataFrame(out)
    frame[DATE] = pd.to_datetime(frame[DATE], utc=True).astype("datetime64[ms, UTC]")
    return frame.sort_values(DATE, kind="stable").reset_index(drop=True)
