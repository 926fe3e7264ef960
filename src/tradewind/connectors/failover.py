"""One stream of closed bars (or public trades, or book updates) from an ordered list of
sources, failing over without a missing or a duplicated bar.

Every source of a :class:`SourceSet` streams at once (hot standby: a standby that must first
connect and warm up cannot take over within seconds). Each source's feed already announces its
own bars once, in order, with holes backfilled (:class:`~.market_feed.MarketFeed`); the set keeps
the last ``buffer_bars`` bars of every source and emits, per (symbol, timeframe), only bars newer
than the last one it emitted, taken from the *active* source:

- **Failover.** The active source is judged every ``check_period_s``. It fails when its candle
  streams have been silent for ``failover_after_s - 2 x check_period_s`` (so the switch lands
  within ``max(2 x push interval, 5 s)`` of its last message, however the checks fall), or when
  one of its connections is down or stale by its own watchdog. The next healthy source in order
  becomes active, and its buffered bars newer than the last one emitted go out at once.
- **No hole across sources.** A bar that would leave a hole after the last one emitted (the new
  source started later, or skipped an interval) first takes the missing bars from the other
  sources' buffers, in priority order.
- **Switch back.** A source of higher priority that has been healthy (messages flowing, no stale
  stream) for ``switch_back_after_s`` (60 s by default) becomes active again.
- Every switch is a :class:`~tradewind.core.source_events.SourceSwitched` event, and counted
  (:attr:`SourceSet.switches`). Bars carry the venue they came from, and ``secondary`` when it
  is not the first source.

The same set serves the other data needs, one set per need (``need``):

- **trades**: the active source's :class:`~tradewind.core.market_events.TradePrinted` events,
  marked with their venue, each print once: per symbol the set remembers the time of the last
  print it emitted (and the ids printed at that millisecond) and emits only later ones. Every
  source's last ``buffer_prints`` prints are kept, so a takeover first emits the new source's
  prints since the last one emitted: the tape has no hole in time across the seam, and where
  the venues replay one recording (the same prints, ids and times) no print is missing or
  emitted twice. Venues that print differently give the new venue's prints of the silent
  spell (``SourceSwitched`` says where one venue's prints end and the next one's begin).
- **books**: the active source's :class:`~tradewind.core.market_events.BookUpdated` events; a
  takeover first emits the new source's book as it stands (``resynced``), and
  :meth:`SourceSet.book` is the active source's book.

A source's health is judged on its streams of the need's kind when those push at an interval
(candles, depth); trades push only when something trades, so a trade source is judged on all its
connections (its book ticker, too), which keep talking on a quiet market.

The set also cross-checks the sources' mids (:class:`~.crosscheck.CrossCheck`, from book tickers
and depth) and measures each stream's receive lag (:class:`~.latency.LatencyMonitor`); their
findings are events on the same queue, and :meth:`SourceSet.divergent_symbols` is the data
divergence state a session applies as a no-new-entries breaker. With
``aggregator_check_s`` set, the price aggregators of the config (CoinGecko, CryptoCompare) are
polled that often and each price enters the cross-check as one more source's mid: more than
``outlier_k`` (5 by default) x MAD from the other sources' mids over 5 s and it is rejected as an
outlier; beyond ``divergence_bps`` of them and the symbol is divergent. An aggregator that fails
is logged once per spell and ages out of the comparison.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal

from tradewind.book.book import OrderBook
from tradewind.connectors.aggregators import Aggregator
from tradewind.connectors.binance_streams import PUSH_INTERVAL_S, StreamKind
from tradewind.connectors.crosscheck import CrossCheck
from tradewind.connectors.latency import LatencyMonitor
from tradewind.connectors.market_feed import wall_ms
from tradewind.connectors.source_config import SourcesConfig
from tradewind.connectors.sources import CandleSource
from tradewind.core.errors import UserError
from tradewind.core.market_events import (
    BarClosed,
    BarSource,
    BookUpdated,
    MarketEvent,
    MarkPriceUpdated,
    StreamAlert,
    StreamState,
    TickerUpdated,
    TradePrinted,
)
from tradewind.core.source_events import SourceEvent, SourceSwitched, SwitchReason

_log = logging.getLogger(__name__)

_BarKey = tuple[str, str]  # (canonical symbol, timeframe)
_TWO = Decimal(2)
_NEED_KIND = {"candles": StreamKind.KLINE, "trades": StreamKind.TRADE, "books": StreamKind.DEPTH}


class SourceSet:
    """The closed bars of several sources as one stream (see the module docstring).

    Parameters
    ----------
    sources
        The opened sources, primary first (:func:`~.sources.open_sources`); the set starts and
        stops their feeds.
    config
        Failover, cross-check and latency settings.
    need
        The data need these sources serve: ``candles``, ``trades`` or ``books`` (named in
        switch events).
    buffer_bars
        Bars kept per source, symbol and timeframe for a takeover.
    buffer_prints
        Prints kept per source and symbol for a takeover (a ``trades`` set): enough for the
        failover allowance on a busy market (BTC/USDT prints about 40 a second).
    monotonic
        Clock of the health checks, in seconds (the feeds' own).
    clock
        This machine's clock in ms (event stamps).
    """

    def __init__(
        self,
        sources: list[CandleSource],
        config: SourcesConfig,
        *,
        need: str = "candles",
        buffer_bars: int = 1000,
        buffer_prints: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        if not sources:
            raise UserError("a source set needs at least one source")
        if need not in _NEED_KIND:
            raise UserError(f"no data need {need!r} (needs: {', '.join(_NEED_KIND)})")
        self.sources = sources
        self.config = config
        self.need = need
        self.events: asyncio.Queue[MarketEvent | SourceEvent] = asyncio.Queue()
        self.crosscheck = CrossCheck(threshold_bps=config.divergence_bps,
                                     outlier_k=config.outlier_k)  # fmt: skip
        self.latency = LatencyMonitor(threshold_ms=config.latency_alert_ms)
        self.active = 0
        self.switches = 0
        self.emitted: dict[_BarKey, int] = {}
        """Open time of the last bar emitted per (symbol, timeframe)."""
        self._buffer_bars = buffer_bars
        self._buffer_prints = buffer_prints
        self._bars: list[dict[_BarKey, deque[BarClosed]]] = [{} for _ in sources]
        self._prints: list[dict[str, deque[TradePrinted]]] = [{} for _ in sources]
        self.printed: dict[str, tuple[int, set[str]]] = {}
        """Per symbol, the time of the last print emitted and the ids emitted at that time."""
        self._healthy_since: dict[int, float] = {}
        self._monotonic = monotonic
        self._clock = clock
        self._started_s = monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        self._judging: asyncio.Task[None] | None = None
        self._no_standby_said = False
        self.aggregators: list[Aggregator] = []
        """The price aggregators polled for the cross-check (opened by :meth:`start`)."""

    # ----------------------------------------------------------------- lifecycle
    async def start(self, ready_timeout_s: float | None = None) -> None:
        """Start every source's feed; with ``ready_timeout_s``, also wait for their warm-up
        (:meth:`wait_ready`), as ``async with`` does (120 s).

        Raises
        ------
        UserError
            When no source warmed up in time.
        """
        for source in self.sources:
            await source.feed.start()
        loop = asyncio.get_running_loop()
        for index, source in enumerate(self.sources):
            self._tasks.append(loop.create_task(self._read(index), name=f"source {source.name}"))
        if self.config.aggregator_check_s is not None and not self.aggregators:
            self.aggregators = [Aggregator(a) for a in self.config.aggregators]
            self._tasks.append(loop.create_task(self._poll_aggregators(self.config
                                                                       .aggregator_check_s),
                                                name="aggregator prices"))  # fmt: skip
        if ready_timeout_s is not None:
            await self.wait_ready(ready_timeout_s)

    async def wait_ready(self, timeout_s: float | None = None) -> None:
        """Wait for the sources' warm-up and start judging them.

        The active source is the first one that warmed up within ``timeout_s`` (120 s when
        None); when this returns, its warm-up bars are on :attr:`events`.

        Raises
        ------
        UserError
            When no source warmed up in time.
        """
        timeout = 120.0 if timeout_s is None else timeout_s
        ready = await asyncio.gather(*(self._ready(s, timeout) for s in self.sources))
        if not any(ready):
            raise UserError(f"no {self.need} source warmed up within {timeout:g} s")
        self._started_s = self._monotonic()
        first = ready.index(True)
        if first != self.active:
            self._switch(first, SwitchReason.ERROR, "the primary did not warm up", 0.0)
        # The readers run in their own tasks: let them move what the active feed has queued
        # (its warm-up) onto this set's queue before the caller drains it.
        while not self.active_source.feed.events.empty():
            await asyncio.sleep(0.01)
        if self._judging is None:
            self._judging = asyncio.get_running_loop().create_task(
                self._judge_loop(), name=f"{self.need} failover"
            )
            self._tasks.append(self._judging)

    @staticmethod
    async def _ready(source: CandleSource, timeout_s: float) -> bool:
        try:
            await source.feed.wait_ready(timeout_s)
        except TimeoutError:
            _log.warning("source %s did not warm up within %.0f s", source.name, timeout_s)
            return False
        return True

    async def stop(self) -> None:
        """Stop judging and stop every source's feed (and close its client)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._judging = None
        for source in self.sources:
            await source.feed.stop()
        for aggregator in self.aggregators:
            await aggregator.close()
        self.aggregators = []

    async def __aenter__(self) -> SourceSet:
        await self.start(ready_timeout_s=120.0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------- state
    @property
    def active_source(self) -> CandleSource:
        """The source whose bars are emitted now."""
        return self.sources[self.active]

    @property
    def active_name(self) -> str:
        """The name of the source whose events are emitted now."""
        return self.active_source.name

    @property
    def names(self) -> list[str]:
        """The sources' names, in priority order."""
        return [s.name for s in self.sources]

    def divergent_symbols(self) -> set[str]:
        """Return the symbols in the data divergence state (no new entries on them)."""
        return self.crosscheck.divergent_symbols()

    def stale_symbols(self) -> set[str]:
        """Return the canonical symbols with a stale stream on the active source."""
        source = self.active_source
        return {source.canonical.get(s, s) for s in source.feed.stale_symbols()}

    def book(self, symbol: str) -> OrderBook:
        """Return the active source's book of the canonical ``symbol`` (a ``books`` set; check
        ``in_sync`` of the source's feed before use)."""
        source = self.active_source
        return source.feed.book(source.config.venue_symbol(symbol))

    def health(self) -> dict[str, StreamState]:
        """Return every source's connection states, named ``<source> <connection>``."""
        return {f"{s.name} {name}": state for s in self.sources
                for name, state in s.feed.health().items()}  # fmt: skip

    def ages(self) -> dict[str, float]:
        """Return every source's connection silences (seconds), named ``<source> <connection>``."""
        return {f"{s.name} {name}": age for s in self.sources
                for name, age in s.feed.ages().items()}  # fmt: skip

    # ----------------------------------------------------------------- reading
    async def _read(self, index: int) -> None:
        source = self.sources[index]
        while True:
            event = await source.feed.events.get()
            try:
                self._on_event(index, source, event)
            except Exception:
                _log.exception("source %s: could not handle %r", source.name, event)

    def _on_event(self, index: int, source: CandleSource, event: MarketEvent) -> None:
        name = source.name
        if isinstance(event, BarClosed):
            symbol = source.canonical.get(event.bar.symbol, event.bar.symbol)
            bar = event.bar
            if bar.symbol != symbol:
                bar = dataclasses.replace(bar, symbol=symbol)
            marked = dataclasses.replace(event, bar=bar, venue=name, secondary=index > 0)
            key = (symbol, str(bar.timeframe))
            buffer = self._bars[index].get(key)
            if buffer is None:
                buffer = self._bars[index][key] = deque(maxlen=self._buffer_bars)
            buffer.append(marked)
            if event.source is BarSource.STREAM:
                self._lag(name, "kline", event.exchange_ms, event.received_ms)
            if index == self.active:
                self._offer(key)
        elif isinstance(event, TickerUpdated):
            self._mid(name, source.canonical.get(event.symbol, event.symbol), event.bid,
                      event.ask, event.received_ms)  # fmt: skip
            # No lag from book tickers: spot's carry no exchange time (the receive time stands
            # in), so their lag would read 0.
        elif isinstance(event, BookUpdated):
            symbol = source.canonical.get(event.symbol, event.symbol)
            if event.best_bid is not None and event.best_ask is not None:
                self._mid(name, symbol, event.best_bid, event.best_ask,
                          event.received_ms)  # fmt: skip
            self._lag(name, "depth", event.exchange_ms, event.received_ms)
            if self.need == "books" and index == self.active:
                self.events.put_nowait(dataclasses.replace(event, symbol=symbol, venue=name,
                                                           secondary=index > 0))  # fmt: skip
        elif isinstance(event, TradePrinted):
            self._lag(name, "trade", event.exchange_ms, event.received_ms)
            if self.need == "trades":
                trade = event.trade
                symbol = source.canonical.get(trade.symbol, trade.symbol)
                if trade.symbol != symbol:
                    trade = dataclasses.replace(trade, symbol=symbol)
                marked = dataclasses.replace(event, trade=trade, venue=name, secondary=index > 0)
                buffer = self._prints[index].get(symbol)
                if buffer is None:
                    buffer = self._prints[index][symbol] = deque(maxlen=self._buffer_prints)
                buffer.append(marked)
                if index == self.active:
                    self._print(marked)
        elif isinstance(event, MarkPriceUpdated):
            self._lag(name, "mark", event.exchange_ms, event.received_ms)
        elif isinstance(event, StreamAlert):
            self.events.put_nowait(dataclasses.replace(event, stream=f"{name} {event.stream}"))

    def _mid(self, name: str, symbol: str, bid: Decimal, ask: Decimal, received_ms: int) -> None:
        self._observe(name, symbol, (bid + ask) / _TWO, received_ms)

    def _observe(self, name: str, symbol: str, price: Decimal, received_ms: int) -> None:
        for finding in self.crosscheck.observe(name, symbol, price, received_ms):
            log = _log.info if finding.kind == "converged" else _log.warning
            log("%s %s: %s (%s)", symbol, finding.kind, finding.source, finding.detail)
            self.events.put_nowait(finding)

    async def _poll_aggregators(self, period_s: float) -> None:
        """Feed every aggregator's price of each symbol it maps to the cross-check."""
        symbols = list(dict.fromkeys(self.sources[0].canonical.values()))
        asked = [(a, s) for a in self.aggregators for s in symbols if s in a.config.symbols]
        failing: set[tuple[str, str]] = set()
        while True:
            answers = await asyncio.gather(*(a.price(s) for a, s in asked),
                                           return_exceptions=True)  # fmt: skip
            now = self._clock()
            for (aggregator, symbol), answer in zip(asked, answers, strict=True):
                key = (aggregator.name, symbol)
                if isinstance(answer, Decimal):
                    failing.discard(key)
                    self._observe(aggregator.name, symbol, answer, now)
                elif key not in failing:
                    failing.add(key)
                    _log.warning("aggregator %s, %s: no price for the cross-check: %s",
                                 aggregator.name, symbol, answer)  # fmt: skip
            await asyncio.sleep(period_s)

    def _lag(self, name: str, stream: str, exchange_ms: int, received_ms: int) -> None:
        alert = self.latency.observe(name, stream, exchange_ms, received_ms)
        if alert is not None:
            (_log.warning if alert.raised else _log.info)(
                "%s %s: receive lag p50 %.0f ms, p99 %.0f ms (threshold %.0f ms)",
                name, stream, alert.p50_ms, alert.p99_ms, alert.threshold_ms,
            )  # fmt: skip
            self.events.put_nowait(alert)

    # ----------------------------------------------------------------- emitting
    def _offer(self, key: _BarKey) -> None:
        """Emit the active source's bars of ``key`` newer than the last one emitted."""
        buffer = self._bars[self.active].get(key)
        if not buffer:
            return
        last = self.emitted.get(key)
        newer: list[BarClosed] = []
        for event in reversed(buffer):
            if last is not None and event.bar.ts <= last:
                break
            newer.append(event)
        for event in reversed(newer):
            self._fill_hole(key, event.bar.ts)
            self._emit(key, event)

    def _print(self, event: TradePrinted) -> None:
        """Emit a print later than the last one emitted of its symbol (at its millisecond, one
        whose id was not emitted yet)."""
        trade = event.trade
        last = self.printed.get(trade.symbol)
        # A print without an id cannot be told from another at its millisecond: it passes.
        if last is not None and (trade.ts < last[0] or (trade.ts == last[0] and trade.trade_id
                                                         and trade.trade_id in last[1])):  # fmt: skip
            return
        if last is None or trade.ts > last[0]:
            self.printed[trade.symbol] = (trade.ts, {trade.trade_id})
        else:
            last[1].add(trade.trade_id)
        self.events.put_nowait(event)

    def _fill_hole(self, key: _BarKey, ts: int) -> None:
        last = self.emitted.get(key)
        if last is None:
            return
        step = ts - last
        tf_ms = self._bars[self.active][key][-1].bar.timeframe.ms
        if step <= tf_ms:
            return
        missing: dict[int, BarClosed] = {}
        for index in range(len(self.sources)):  # priority order: the first source's bar wins
            if index == self.active:
                continue
            for event in self._bars[index].get(key, ()):
                if last < event.bar.ts < ts:
                    missing.setdefault(event.bar.ts, event)
        for open_ms in sorted(missing):
            self._emit(key, missing[open_ms])

    def _emit(self, key: _BarKey, event: BarClosed) -> None:
        self.emitted[key] = event.bar.ts
        self.events.put_nowait(event)

    # ----------------------------------------------------------------- judging
    async def _judge_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.check_period_s)
            self.judge()

    def judge(self) -> None:
        """Judge every source's health now and switch the active source where due."""
        now = self._monotonic()
        faults = {i: self._fault(i, now) for i in range(len(self.sources))}
        for index, fault in faults.items():
            if fault is None:
                self._healthy_since.setdefault(index, now)
            else:
                self._healthy_since.pop(index, None)
        fault = faults[self.active]
        if fault is not None:
            reason, detail, silent = fault
            standby = next((i for i in range(len(self.sources))
                            if i != self.active and faults[i] is None), None)  # fmt: skip
            if standby is None:
                if not self._no_standby_said:
                    _log.warning("%s source %s failing (%s) and no healthy standby", self.need,
                                 self.active_source.name, detail)  # fmt: skip
                    self._no_standby_said = True
                return
            self._switch(standby, reason, detail, silent)
            return
        self._no_standby_said = False
        for index in range(self.active):
            since = self._healthy_since.get(index)
            if since is not None and now - since >= self.config.switch_back_after_s:
                self._switch(
                    index,
                    SwitchReason.RECOVERED,
                    f"healthy for {now - since:.1f} s",
                    self._silent_s(self.active, now),
                )
                return

    def _silent_s(self, index: int, now: float) -> float:
        groups = self.sources[index].feed.groups
        kind = _NEED_KIND[self.need]
        judged = groups
        if PUSH_INTERVAL_S[kind] is not None:
            judged = [g for g in groups if g.kind is kind] or groups
        last = max((g.last_message_s for g in judged), default=0.0)
        return now - max(last, self._started_s)

    def _fault(self, index: int, now: float) -> tuple[SwitchReason, str, float] | None:
        silent = self._silent_s(index, now)
        allowed = self.config.failover_after_s - 2 * self.config.check_period_s
        if silent > allowed:
            return SwitchReason.SILENT, f"silent for {silent:.1f} s", silent
        for group in self.sources[index].feed.groups:
            if group.state is StreamState.STALE:
                return SwitchReason.ERROR, f"{group.name} is down or stale", silent
        return None

    def _switch(self, index: int, reason: SwitchReason, detail: str, silent: float) -> None:
        previous = self.active_source.name
        self.active = index
        self.switches += 1
        _log.warning("%s: %s -> %s (%s: %s)", self.need, previous, self.active_source.name,
                     reason.value, detail)  # fmt: skip
        self.events.put_nowait(SourceSwitched(
            self.need, previous, self.active_source.name, reason, detail, silent,
            self.switches, self._clock(),
        ))  # fmt: skip
        for key in list(self._bars[index]):
            self._offer(key)
        for prints in self._prints[index].values():
            for event in prints:
                self._print(event)
        if self.need == "books":
            source = self.active_source
            for venue_symbol, sync in source.feed.books.items():
                update = sync.current(self._clock())
                if update is not None:
                    self.events.put_nowait(dataclasses.replace(
                        update, symbol=source.canonical.get(venue_symbol, venue_symbol),
                        venue=source.name, secondary=index > 0,
                    ))  # fmt: skip
