"""Live market data over ccxt.pro: candles, trades, L2 books, tickers and mark/funding for spot
and USDT-M perpetuals, several symbols and timeframes at once, healing themselves.

:class:`MarketFeed` opens one WebSocket connection per (market type, stream kind)
(:mod:`.stream_group`) on one ``ccxt.pro`` client, Binance's or Bybit's (what differs between
them is their :class:`~.stream_protocols.StreamProtocol`: Bybit streams candles, best bid and
offer, and trades), reads every raw message through a tap on the client's message handler (exact
decimals, the kline's closed flag, the exchange's event time, this machine's receive time) and
emits :mod:`tradewind.core.market_events` on one queue, in arrival order. What it guarantees:

- **Warm-up before the first decision.** Each (symbol, timeframe) first loads ``warmup_bars``
  closed bars over REST; :meth:`MarketFeed.wait_ready` returns once every one has.
- **No bar missing, none twice.** After every reconnect the candles are backfilled over REST from
  the last closed bar on, *after* the new subscription is acknowledged and *before* the messages
  that arrived meanwhile are applied; :class:`~.candles.CandleTracker` announces each open time
  once, in order, holds bars behind a hole until the hole is filled, and reports revisions.
- **Books** rebuilt from a budgeted, staggered snapshot on every gap, crossed book or reconnect
  (:mod:`.book_sync`).
- **Reconnect** after ``min(cap, base x 2^n)`` seconds with jitter (:mod:`.backoff`), counted per
  connection and reset by a good connection; the exchange's 24-hour close is just a reconnect.
- **A watchdog** in wall (monotonic) time: a stream silent for ``max(3 x push interval, 10 s)``
  gets a ``STALE`` alert and the stale state until data flows again (``FRESH``); when its whole
  connection is silent, the connection is restarted. Trades and book tickers, which push only
  on change, are judged only while another stream of the same symbol is fresh.
- **Nothing blocks the event loop**: per-message work is parsing and a dict update; REST calls are
  awaited in their own tasks; the optional recorder receives raw messages and must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import ccxt

from tradewind.book.book import OrderBook
from tradewind.connectors import binance_streams as bs
from tradewind.connectors.backoff import Backoff
from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.book_sync import BookSync, snapshot_weight
from tradewind.connectors.bybit_book import BybitBookSync
from tradewind.connectors.candle_history import CandleHistory
from tradewind.connectors.candles import CandleTracker
from tradewind.connectors.rate_budget import RateBudget
from tradewind.connectors.stream_group import StreamGroup
from tradewind.connectors.stream_protocols import Route, protocol_for
from tradewind.connectors.watchdog import Watchdog, allowance_s
from tradewind.core.errors import UserError
from tradewind.core.market_events import (
    AlertKind,
    BarSource,
    MarketEvent,
    StreamAlert,
    StreamState,
)
from tradewind.core.timeframe import Timeframe

_log = logging.getLogger(__name__)

RawRecorder = Callable[[str, str, dict[str, Any], int], None]
"""Receives ``(stream name, unified symbol, raw message, received ms)`` for every market message
and every book snapshot the feed installs (stream ``<id>@depth#snapshot``)."""

_ACK_TIMEOUT_S = 10.0


def wall_ms() -> int:
    """Return this machine's clock in ms since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, kw_only=True)
class FeedSpec:
    """What to stream.

    Parameters
    ----------
    symbols
        Unified symbols, spot (``XRP/USDT``) or USDT-M perpetual (``XRP/USDT:USDT``).
    timeframes
        Candle timeframes streamed for every symbol.
    kinds
        Stream kinds; mark price is opened for perpetuals only.
    warmup_bars
        Closed bars loaded over REST before the first decision, per symbol and timeframe.
    backfill
        Fill bars missed while disconnected over REST (off only to test what that costs).
    snapshot_limit
        Levels of each book snapshot (Binance: 5 to 5000; 1000 weighs 50).
    """

    symbols: tuple[str, ...]
    timeframes: tuple[str, ...] = ("1m",)
    kinds: frozenset[StreamKind] = field(default_factory=lambda: frozenset(StreamKind))
    warmup_bars: int = 300
    backfill: bool = True
    snapshot_limit: int = 1000

    def __post_init__(self) -> None:
        if not self.symbols:
            raise UserError("a market feed needs at least one symbol")
        if StreamKind.KLINE in self.kinds and not self.timeframes:
            raise UserError("a candle stream needs at least one timeframe")
        for tf in self.timeframes:
            Timeframe.parse(tf)
        if self.warmup_bars < 0:
            raise UserError(f"warmup_bars must be >= 0, got {self.warmup_bars}")
        if not 5 <= self.snapshot_limit <= 5000:
            raise UserError(f"snapshot_limit must be in 5..5000, got {self.snapshot_limit}")


class MarketFeed:
    """Self-healing market streams of one exchange client (see the module docstring).

    Parameters
    ----------
    client
        A ``ccxt.pro`` exchange (:func:`~tradewind.connectors.client.create_async_client`); the
        feed installs its tap on it, so give it a client of its own.
    spec
        What to stream.
    budget
        Weight budget of the feed's own REST calls (snapshots, warm-up, backfill).
    recorder
        Receives every raw market message (the session's recording).
    backoff
        Template of each connection's reconnect backoff (its seed is offset per connection).
    clock
        This machine's clock in ms (receive times).
    monotonic
        The watchdog's clock in seconds.
    watchdog_period_s
        How often silence is judged.
    """

    def __init__(
        self,
        client: Any,
        spec: FeedSpec,
        *,
        budget: RateBudget | None = None,
        recorder: RawRecorder | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], int] = wall_ms,
        monotonic: Callable[[], float] = time.monotonic,
        watchdog_period_s: float = 1.0,
    ) -> None:
        self.client = client
        self.spec = spec
        self.protocol = protocol_for(str(client.id), book_levels=spec.snapshot_limit)
        self.protocol.check_kinds(spec.kinds)
        self.budget = budget or RateBudget()
        self.recorder = recorder
        self._backoff = backoff or Backoff()
        self.clock = clock
        self.watchdog = Watchdog(monotonic)
        self._monotonic = monotonic
        self.watchdog_period_s = watchdog_period_s
        self.events: asyncio.Queue[MarketEvent] = asyncio.Queue()
        self.groups: list[StreamGroup] = []
        self.trackers: dict[tuple[str, str], CandleTracker] = {}
        self.books: dict[str, BookSync | BybitBookSync] = {}
        self.history: CandleHistory | None = None
        self._by_url: dict[str, StreamGroup] = {}
        self._stream_of: dict[tuple[str, StreamKind, str | None], str] = {}
        self._group_by_watch: dict[str, StreamGroup] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._helpers: set[asyncio.Task[None]] = set()
        self._warm: set[tuple[str, str]] = set()
        self._ready = asyncio.Event()
        self._stopping = False
        self._started_s = monotonic()
        self._original_handler: Callable[[Any, Any], Any] | None = None

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Load markets, open every connection and start the watchdog.

        Raises
        ------
        UserError
            For a symbol the exchange does not list, or a market that is neither spot nor a
            linear (USDT-M) contract.
        """
        if not getattr(self.client, "markets", None):
            await self.client.load_markets()
        self.history = CandleHistory(self.client, self.budget, self.clock,
                                     protocol=self.protocol)  # fmt: skip
        self._build_groups()
        self._original_handler = self.client.handle_message
        self.client.handle_message = self._tap
        if not any(g.kind is StreamKind.KLINE for g in self.groups):
            self._ready.set()
        for group in self.groups:
            self._tasks.append(
                asyncio.get_running_loop().create_task(self._run(group), name=f"feed {group.name}")
            )
        self._tasks.append(
            asyncio.get_running_loop().create_task(self._watch(), name="feed watchdog")
        )

    async def wait_ready(self, timeout_s: float | None = None) -> None:
        """Wait until every candle stream has its warm-up history."""
        await asyncio.wait_for(self._ready.wait(), timeout_s)

    async def stop(self) -> None:
        """Stop every task and close the connections (the client itself is the caller's)."""
        self._stopping = True
        for task in [*self._tasks, *self._helpers]:
            task.cancel()
        for task in [*self._tasks, *self._helpers]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for sync in self.books.values():
            await sync.close()
        self._tasks.clear()
        for group in self.groups:
            group.state = StreamState.STOPPED
        with contextlib.suppress(Exception):
            await self.client.close()

    async def __aenter__(self) -> MarketFeed:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stream(self) -> AsyncIterator[MarketEvent]:
        """Yield events as they come (forever; stop the feed to end the iteration's source)."""
        while True:
            yield await self.events.get()

    def book(self, symbol: str) -> OrderBook:
        """Return the local book of ``symbol`` (check ``in_sync`` of :attr:`books` before use)."""
        return self.books[symbol].book

    def health(self) -> dict[str, StreamState]:
        """Return each connection's state by name."""
        return {g.name: g.state for g in self.groups}

    def ages(self) -> dict[str, float]:
        """Return each connection's silence by name: seconds since its newest message (since the
        feed started for one that has had none)."""
        now = self._monotonic()
        return {g.name: now - (g.last_message_s or self._started_s) for g in self.groups}

    def stale_symbols(self) -> set[str]:
        """Return the symbols with a stream in the stale state (no new risk on them)."""
        out: set[str] = set()
        for group in self.groups:
            if group.state is StreamState.STALE:
                out.update(group.symbols)
        for name in self.watchdog.stale():
            out.add(name.split(" ", 1)[0])
        return out

    # ----------------------------------------------------------------- building
    def _market(self, symbol: str) -> tuple[str, str]:
        try:
            market = self.client.market(symbol)
        except ccxt.BadSymbol:
            raise UserError(f"{self.client.id} has no market {symbol!r}") from None
        if market.get("spot"):
            return "spot", str(market["id"])
        if market.get("swap") and market.get("linear"):
            return "linear", str(market["id"])
        raise UserError(f"{symbol}: only spot and USDT-M perpetual markets can be streamed")

    def _build_groups(self) -> None:
        by_type: dict[str, list[tuple[str, str]]] = {}
        for symbol in self.spec.symbols:
            market_type, market_id = self._market(symbol)
            by_type.setdefault(market_type, []).append((symbol, market_id))
        index = 0
        for market_type, markets in by_type.items():
            for kind in StreamKind:
                if kind not in self.spec.kinds:
                    continue
                if kind is StreamKind.MARK_PRICE and market_type != "linear":
                    continue
                streams: dict[str, tuple[str, str | None]] = {}
                for symbol, market_id in markets:
                    frames: tuple[str | None, ...] = (
                        self.spec.timeframes if kind is StreamKind.KLINE else (None,)
                    )
                    for tf in frames:
                        name = self.protocol.stream_name(market_id, kind, tf)
                        streams[name] = (symbol, tf)
                        self._stream_of[(symbol, kind, tf)] = name
                index += 1
                group = StreamGroup(
                    name=f"{market_type} {kind.value}",
                    market_type=market_type,
                    kind=kind,
                    streams=streams,
                    symbols_by_id={mid: s for s, mid in markets},
                    backoff=Backoff(
                        base_s=self._backoff.base_s,
                        factor=self._backoff.factor,
                        cap_s=self._backoff.cap_s,
                        jitter=self._backoff.jitter,
                        seed=self._backoff.seed + index,
                    ),
                )
                group.message_hash = f"tradewind::{group.name}"
                group.url = self.protocol.url(self.client, market_type, kind, group.message_hash)
                self.groups.append(group)
                self._by_url[group.url] = group
                for name, (symbol, tf) in streams.items():
                    interval = bs.PUSH_INTERVAL_S[kind]
                    self.watchdog.watch(self._watch_name(symbol, name), interval or 0.0)
                    self._group_by_watch[self._watch_name(symbol, name)] = group
                    if kind is StreamKind.KLINE and tf is not None:
                        self.trackers[(symbol, tf)] = CandleTracker(symbol, Timeframe.parse(tf))
                    if kind is StreamKind.DEPTH:
                        self.books[symbol] = self._book_sync(symbol, market_type == "linear")

    @staticmethod
    def _watch_name(symbol: str, stream: str) -> str:
        return f"{symbol} {stream}"

    def _book_sync(self, symbol: str, futures: bool) -> BookSync | BybitBookSync:
        if self.protocol.exchange == "bybit":
            # Bybit's stream carries its own snapshots: a resync resubscribes.
            return BybitBookSync(
                symbol, resubscribe=lambda: self._resubscribe(symbol, StreamKind.DEPTH),
                emit=self.events.put_nowait, clock=self.clock,
                on_resync=lambda reason: self._alert(f"{symbol} depth", (symbol,),
                                                     AlertKind.BOOK_RESYNC, reason),
            )  # fmt: skip
        market_id = self.client.market(symbol)["id"]
        limit = self.spec.snapshot_limit

        async def fetch() -> dict[str, Any]:
            params = {"symbol": market_id, "limit": limit}
            if futures:
                result: dict[str, Any] = await self.client.fapiPublicGetDepth(params)
            else:
                result = await self.client.publicGetDepth(params)
            if self.recorder is not None:
                self.recorder(f"{market_id.lower()}@depth#snapshot", symbol, result, self.clock())
            return result

        def on_resync(reason: str) -> None:
            self._alert(f"{symbol} depth", (symbol,), AlertKind.BOOK_RESYNC, reason)

        return BookSync(
            symbol,
            futures=futures,
            fetch_snapshot=fetch,
            budget=self.budget,
            emit=self.events.put_nowait,
            on_resync=on_resync,
            clock=self.clock,
            weight=snapshot_weight(limit),
        )

    async def _resubscribe(self, symbol: str, kind: StreamKind) -> None:
        """Unsubscribe and subscribe ``symbol``'s stream of ``kind`` again on its connection
        (nothing when it is not connected: the reconnect subscribes afresh)."""
        stream = self._stream_of[(symbol, kind, None)]
        group = self._group_by_watch[self._watch_name(symbol, stream)]
        connection = getattr(self.client, "clients", {}).get(group.url)
        if connection is None:
            return
        for request in (self.protocol.unsubscribe_request, self.protocol.subscribe_request):
            await connection.send(request([stream], self.protocol.request_id(self.client,
                                                                               group.url)))  # fmt: skip

    # ----------------------------------------------------------------- messages
    def _tap(self, client: Any, message: Any) -> Any:
        received = self.clock()
        group = self._by_url.get(client.url)
        route = self.protocol.route(message) if group is not None else None
        if group is None or route is None:
            if group is not None and self.protocol.is_ack(message, group.request_id):
                group.acked.set()
            assert self._original_handler is not None
            return self._original_handler(client, message)
        try:
            self._on_message(group, route, message, received)
        except Exception:
            # A malformed message must not kill the connection's reader; say so loudly.
            _log.exception("%s: could not handle %s", group.name, str(message)[:200])
        return None

    def _on_message(
        self, group: StreamGroup, route: Route, message: dict[str, Any], received: int
    ) -> None:
        kind, market_id, timeframe = route
        symbol = group.symbols_by_id[market_id]
        stream = self._stream_of[(symbol, kind, timeframe)]
        if self.recorder is not None:
            self.recorder(stream, symbol, message, received)
        self._seen(group, symbol, stream)
        if kind is StreamKind.KLINE:
            if group.paused:
                group.pending.append((message, received))
            else:
                self._kline(symbol, message, received)
        elif kind is StreamKind.DEPTH:
            self.books[symbol].on_diff(message, received)
        else:
            for event in self.protocol.events(kind, message, symbol, received):
                self.events.put_nowait(event)

    def _seen(self, group: StreamGroup, symbol: str, stream: str) -> None:
        group.last_message_s = self._monotonic()
        if self.watchdog.seen(self._watch_name(symbol, stream)):
            group.back_from_stale = True
        if group.paused:
            return  # catching up after a reconnect: RECONNECTED says when it is live
        if group.state is StreamState.STARTING:
            group.state = StreamState.LIVE
        if group.back_from_stale and group.state is StreamState.LIVE:
            group.back_from_stale = False
            self._alert(group.name, group.symbols, AlertKind.FRESH, "data flows again")

    def _kline(self, symbol: str, message: dict[str, Any], received: int) -> None:
        route = self.protocol.route(message)
        assert route is not None  # routed as a kline before it was handed here
        tracker = self.trackers[(symbol, str(route[2]))]
        for update in self.protocol.klines(message, received):
            for event in tracker.on_update(update):
                self.events.put_nowait(event)
        if tracker.hole is not None:
            self._fill_hole(tracker)
        if tracker.unconfirmed and self.spec.backfill:
            self._confirm(tracker)

    def _fill_hole(self, tracker: CandleTracker) -> None:
        if not self.spec.backfill:
            for event in tracker.accept_hole():
                self.events.put_nowait(event)
            return
        name = f"hole {tracker.symbol} {tracker.timeframe}"
        if any(t.get_name() == name for t in self._helpers):
            return
        task = asyncio.get_running_loop().create_task(self._backfill_hole(tracker), name=name)
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    def _confirm(self, tracker: CandleTracker) -> None:
        opens, tracker.unconfirmed = tracker.unconfirmed, []
        task = asyncio.get_running_loop().create_task(
            self._check_closed(tracker, opens), name=f"confirm {tracker.symbol}"
        )
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    async def _check_closed(self, tracker: CandleTracker, opens: list[int]) -> None:
        assert self.history is not None
        step = tracker.timeframe.ms
        try:
            rows = await self.history.range(
                tracker.symbol, str(tracker.timeframe), min(opens), max(opens) + step
            )
        except Exception as exc:
            _log.warning("%s %s: could not confirm closed bars: %s", tracker.symbol,
                         tracker.timeframe, exc)  # fmt: skip
            return
        wanted = set(opens)
        checked = [r for r in rows if r.open_ms in wanted]
        for event in tracker.on_history(checked, BarSource.BACKFILL, to_present=False):
            self.events.put_nowait(event)

    async def _backfill_hole(self, tracker: CandleTracker) -> None:
        assert self.history is not None
        hole = tracker.hole
        if hole is None:
            return
        try:
            rows = await self.history.range(tracker.symbol, str(tracker.timeframe), *hole)
            for event in tracker.on_history(rows, BarSource.BACKFILL, to_present=False):
                self.events.put_nowait(event)
        except Exception as exc:
            if self._stopping:
                return  # the feed is closing: the hole no longer matters
            _log.warning("%s %s: hole backfill failed: %s", tracker.symbol, tracker.timeframe, exc)
        if tracker.hole is not None:
            for event in tracker.accept_hole():
                self.events.put_nowait(event)

    def _alert(self, stream: str, symbols: tuple[str, ...], kind: AlertKind, detail: str) -> None:
        state = {
            AlertKind.STALE: StreamState.STALE,
            AlertKind.DISCONNECTED: StreamState.STALE,
            AlertKind.BOOK_RESYNC: StreamState.STALE,
            AlertKind.BACKFILL_FAILED: StreamState.STALE,
        }.get(kind, StreamState.LIVE)
        log = _log.warning if state is StreamState.STALE else _log.info
        log("%s: %s (%s)", stream, kind.value, detail)
        self.events.put_nowait(StreamAlert(stream, symbols, kind, state, detail, self.clock()))

    # ----------------------------------------------------------------- connections
    async def _run(self, group: StreamGroup) -> None:
        first = True
        while not self._stopping:
            reason = await self._connect_once(group, first)
            if self._stopping:
                return
            if group.connects > 0:
                first = False
            group.disconnects += 1
            group.state = StreamState.STALE
            self._alert(group.name, group.symbols, AlertKind.DISCONNECTED, reason)
            self._drop_connection(group)
            for stream, (symbol, tf) in group.streams.items():
                if group.kind is StreamKind.DEPTH:
                    self.books[symbol].invalidate(f"connection lost: {reason}")
                if group.kind is StreamKind.KLINE and tf is not None:
                    # What was forming may have moved on while we were away: the backfill says.
                    self.trackers[(symbol, tf)].forming = None
                self.watchdog.restarted(self._watch_name(symbol, stream))
            await asyncio.sleep(group.backoff.next_delay_s())

    async def _connect_once(self, group: StreamGroup, first: bool) -> str:
        group.acked.clear()
        group.restart.clear()
        group.paused = group.kind is StreamKind.KLINE
        group.pending.clear()
        group.request_id = self.protocol.request_id(self.client, group.url)
        try:
            future = self.client.watch_multiple(
                group.url,
                [group.message_hash],
                self.protocol.subscribe_request(list(group.streams), group.request_id),
                [group.message_hash],
                {"id": str(group.request_id)},
            )
        except Exception as exc:
            return f"subscribe failed: {type(exc).__name__}: {exc}"
        acked = asyncio.ensure_future(group.acked.wait())
        restart = asyncio.ensure_future(group.restart.wait())
        try:
            done, _ = await asyncio.wait(
                {future, acked, restart},
                timeout=_ACK_TIMEOUT_S,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if acked not in done:
                return self._why(future, restart, group, "no subscription ack")
            group.connects += 1
            if group.kind is StreamKind.KLINE:
                try:
                    await self._catch_up(group, first)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._alert(group.name, group.symbols, AlertKind.BACKFILL_FAILED, str(exc))
                    return f"backfill failed: {exc}"
                self._release(group)
            if not first:
                group.state = StreamState.LIVE
                self._alert(group.name, group.symbols, AlertKind.RECONNECTED, "resubscribed")
            group.backoff.reset()
            done, _ = await asyncio.wait({future, restart}, return_when=asyncio.FIRST_COMPLETED)
            return self._why(future, restart, group, "connection ended")
        finally:
            for helper in (acked, restart):
                helper.cancel()
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: ccxt's rejection is expected here

    @staticmethod
    def _why(future: Any, restart: Any, group: StreamGroup, default: str) -> str:
        if restart.done():
            return f"restarted: {group.restart_reason}"
        if future.done():
            if future.cancelled():
                return "connection cancelled"
            exc = future.exception()
            if exc is not None:
                return f"{type(exc).__name__}: {exc}"
        return default

    def _drop_connection(self, group: StreamGroup) -> None:
        clients = getattr(self.client, "clients", None) or {}
        ws = clients.get(group.url)
        if ws is None:
            return
        # Mark it as closed by us: ccxt's on_close then leaves the client table alone, which
        # by then may hold this URL's next connection.
        ws.error = ccxt.NetworkError(f"{group.name} restarted by the feed")
        del clients[group.url]
        task = asyncio.get_running_loop().create_task(self._close_ws(ws), name="close ws")
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    @staticmethod
    async def _close_ws(ws: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 5.0)

    async def _catch_up(self, group: StreamGroup, first: bool) -> None:
        assert self.history is not None
        for symbol, tf in group.streams.values():
            assert tf is not None
            tracker = self.trackers[(symbol, tf)]
            if tracker.last_closed is None:
                rows = await self.history.latest(symbol, tf, self.spec.warmup_bars + 1)
                events = tracker.on_history(rows, BarSource.WARMUP, to_present=True)
                self._warm.add((symbol, tf))
            elif self.spec.backfill:
                events = []
                start = tracker.last_closed + tracker.timeframe.ms
                async for page, last in self.history.since(symbol, tf, start):
                    events += tracker.on_history(page, BarSource.BACKFILL, to_present=last)
            else:
                events = []
            if tracker.hole is not None:
                # REST is the exchange's own history: a hole it leaves is a hole the exchange
                # has (no trade in those intervals), not a loss.
                events += tracker.accept_hole()
            for event in events:
                self.events.put_nowait(event)
        if len(self._warm) == len(self.trackers):
            self._ready.set()

    def _release(self, group: StreamGroup) -> None:
        group.paused = False
        pending, group.pending = group.pending, []
        for message, received in pending:
            route = self.protocol.route(message)
            assert route is not None  # queued as a kline
            self._kline(group.symbols_by_id[route[1]], message, received)

    # ----------------------------------------------------------------- watchdog
    async def _watch(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.watchdog_period_s)
            now = self._monotonic()
            for name, silent, first in self.watchdog.overdue():
                symbol = name.split(" ", 1)[0]
                group = self._group_by_watch[name]
                if group.state is StreamState.STARTING:
                    continue
                interval = bs.PUSH_INTERVAL_S[group.kind]
                if interval is None and not self._sibling_fresh(symbol, group):
                    # Quiet, not dead: nothing to say when nothing trades and nothing else of
                    # this symbol is flowing either.
                    self.watchdog.seen(name)
                    continue
                allowed = allowance_s(interval or 0.0)
                if now - group.last_message_s < allowed:
                    # The connection delivers other streams: it is alive, this stream is not.
                    # Its symbol is stale (no new risk) until it speaks; restarting the whole
                    # connection would not bring back what the exchange does not send.
                    if first:
                        self._alert(name, (symbol,), AlertKind.STALE,
                                    f"silent for {silent:.1f} s (allowed {allowed:.0f} s) while "
                                    "its connection delivers")  # fmt: skip
                    continue
                group.restarts += 1
                group.state = StreamState.STALE
                if first:
                    self._alert(
                        name,
                        (symbol,),
                        AlertKind.STALE,
                        f"silent for {silent:.1f} s (allowed {allowed:.0f} s); restarting",
                    )
                group.request_restart(f"{name} silent for {silent:.1f} s")

    def _sibling_fresh(self, symbol: str, group: StreamGroup) -> bool:
        for other in self.groups:
            if other is group or symbol not in other.symbols:
                continue
            if bs.PUSH_INTERVAL_S[other.kind] is None:
                continue
            for stream, (sym, _) in other.streams.items():
                name = self._watch_name(sym, stream)
                if sym == symbol and not self.watchdog.is_stale(name):
                    allowed = allowance_s(bs.PUSH_INTERVAL_S[other.kind] or 0.0)
                    if self.watchdog.silent_s(name) < allowed:
                        return True
        return False
