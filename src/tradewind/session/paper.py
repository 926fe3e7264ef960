"""A paper session: the Node on live market data with the simulated venue's rules.

The asyncio shell around the synchronous engine. The Node never reads a clock or does I/O: the
session owns the exchange client and its market feed (:class:`~tradewind.connectors.market_feed.
MarketFeed`: warm-up over REST, self-healing streams, backfill after reconnects, bars closed on the
exchange's word), hands each closed bar to the :class:`~tradewind.session.driver.PaperDriver` and
records everything in the run folder:

``session.json``
    The settings (strategies and parameters, symbols, timeframe, account, fill model, risk
    rules, the exchange's instruments, the first traded bar): what the drift report replays with.
``recording/``
    Every market message with its exchange and receive times, every bar as announced, and a
    journal of each strategy's signal values at every closed bar, the intents the risk gate
    refused (with why), orders and fills (:mod:`tradewind.data.session_recording`).
``result.json``
    The result in the backtest's JSON schema, written when the session stops.

With :attr:`PaperConfig.sources` the bars come from several exchanges at once
(:class:`~tradewind.connectors.failover.SourceSet`): the first source is the session's
``exchange`` (instruments, warm-up), the others hot standbys that take over without a missing
bar; their book tickers are cross-checked, and a symbol whose sources diverge takes no new
entries until they agree again (the "data divergence" breaker; exits still pass), as a symbol
with a silent stream does (the "stale data" breaker). ``[[sources.trades]]`` and
``[[sources.books]]`` are source sets of their own whose active venue's prints and book updates
reach the strategies' ``on_trade`` and ``on_book``; ``[[sources.funding]]`` and
``[[sources.open_interest]]`` are polled with failover and their readings kept on the symbol's
market context (``ctx.market_context(symbol).reading("funding")``; journalled like contexts)
(:mod:`tradewind.session.market_needs`).

Instants are evaluated when every symbol's bar for them has arrived; one that stays incomplete for
``grace_s`` seconds of wall time is evaluated without the missing bars (logged). Stop with
:meth:`PaperSession.stop` (the CLI calls it on Ctrl-C and SIGTERM) or ``max_bars``; open orders
are cancelled at the simulated venue when the session ends, positions stay open and are reported
marked at the last close.

With the ``book`` fill model (``FillModel.book_walk``) market orders walk the live L2 book: the
session's own depth stream, or the ``[[sources.books]]`` set's active book, fed to the venue and
recorded (``recording/books``) by :mod:`tradewind.session.paper_books`; the book then reaches
``on_book`` through the driver, at its place in time, and not directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from tradewind.backtest.api import PreparedRun
from tradewind.backtest.result import BacktestResult
from tradewind.backtest.spec import BacktestSpec
from tradewind.book.book import OrderBook
from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.context_feed import ContextFeed
from tradewind.connectors.failover import SourceSet
from tradewind.connectors.instruments import instruments_from_markets
from tradewind.connectors.market_feed import FeedSpec, MarketFeed
from tradewind.connectors.source_config import SourcesConfig, public_exchange
from tradewind.connectors.sources import open_sources
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.core.intents import Decision
from tradewind.core.market_context import ContextReading, MarketContext
from tradewind.core.market_events import (
    BarClosed,
    BarRevised,
    BarSource,
    BookUpdated,
    MarkPriceUpdated,
    StreamAlert,
)
from tradewind.core.orders import ClientIdFactory, Order
from tradewind.core.records import Bar
from tradewind.core.source_events import DataQuality, LatencyAlert, SourceSwitched
from tradewind.core.strict_json import write_json
from tradewind.core.timeframe import Timeframe
from tradewind.data.session_recording import JournalKind, SessionRecorder
from tradewind.engine.bus import MessageBus
from tradewind.engine.equity import account_currency
from tradewind.engine.resume import ResumedAccount
from tradewind.execution.parent import Parent
from tradewind.risk.stake import Stake
from tradewind.series.bars import BarBuffer
from tradewind.session.driver import BarDriver, PaperDriver, StepReport
from tradewind.session.funding import FundingTracker
from tradewind.session.market_needs import MarketNeeds
from tradewind.session.operate import SessionOps
from tradewind.session.paper_books import BookTape
from tradewind.strategies.base import Strategy
from tradewind.venues.sim import SimVenue

__all__ = ["PaperConfig", "PaperSession", "SessionStatus"]

log = logging.getLogger(__name__)

STALE_DATA = "stale data: a market stream is silent"
DATA_DIVERGENCE = "data divergence: the market-data sources disagree"
MARKET_CONTEXT = "market context: beyond the configured spread or funding limit"
_SIGNALS = ("entry_long", "exit_long", "entry_short", "exit_short")
SESSION_FILE = "session.json"
FUNDING_FILE = "funding.json"
"""The perpetuals' funding settlements the session learnt (the drift report replays them)."""
RESULT_FILE = "result.json"


@dataclass(frozen=True, kw_only=True)
class PaperConfig:
    """What a paper session runs.

    Parameters
    ----------
    exchange
        Where the market data comes from (``rest_url``/``ws_url`` point ccxt at the simulator).
    strategies
        Strategy instances; each trades every symbol, all from one account.
    symbols
        Unified symbols: spot, or USDT-M perpetuals ("XRP/USDT:USDT", funding from their
        mark-price stream).
    timeframe
        The bar length every strategy decides on.
    spec
        The account (cash, stake), fill model (latency, slippage) and fee, as in a backtest.
    run_dir
        The run folder (created; must not hold another session).
    warmup_bars
        Closed bars loaded before the first decision.
    max_bars
        Stop after this many closed bars (instants) have been traded; None runs until stopped.
    grace_s
        How long an instant waits for the bars of the other symbols (wall seconds).
    backfill
        Fill bars missed while disconnected over REST (off only to measure what that costs).
    sources
        Several market-data sources with failover and cross-checks (the config's ``[sources]``);
        the first must be ``exchange``. None reads ``exchange`` alone.
    """

    exchange: ExchangeConfig
    strategies: Sequence[Strategy]
    symbols: tuple[str, ...]
    timeframe: str
    spec: BacktestSpec = field(default_factory=BacktestSpec)
    run_dir: Path
    warmup_bars: int = 300
    max_bars: int | None = None
    grace_s: float = 2.0
    backfill: bool = True
    sources: SourcesConfig | None = None

    def __post_init__(self) -> None:
        # A live session's [exchange] carries its key; a source never does: compare the rest.
        if self.sources is not None and self.sources.candles[0].exchange != public_exchange(
            self.exchange
        ):
            raise UserError(
                "the first of the [[sources.candles]] is the session's exchange: give it the "
                "[exchange] table's settings (without the key)"
            )
        if not self.symbols:
            raise UserError("a paper session needs at least one --symbol")
        if not self.strategies:
            raise UserError("a paper session needs at least one --strategy")
        Timeframe.parse(self.timeframe)
        if self.warmup_bars < 1:
            raise UserError(f"warm-up must be at least 1 bar, got {self.warmup_bars}")
        if self.max_bars is not None and self.max_bars < 1:
            raise UserError(f"--max-bars must be at least 1, got {self.max_bars}")
        if self.spec.fill.book_walk and self.sources is not None and not self.sources.books:
            raise UserError("--fill book with [sources] needs [[sources.books]]: no book "
                            "stream for the fills to walk")  # fmt: skip


@dataclass
class SessionStatus:
    """What the status view shows: updated after every evaluated instant and stream alert."""

    phase: str = "starting"
    bars: int = 0
    last_close_ms: int | None = None
    equity: Decimal | None = None
    currency: str = ""
    positions: list[tuple[str, str, Decimal]] = field(default_factory=list)
    open_orders: int = 0
    orders: int = 0
    fills: int = 0
    streams: dict[str, str] = field(default_factory=dict)
    alerts: list[str] = field(default_factory=list)
    api_url: str | None = None


class PaperSession:
    """One paper-trading session (see the module docstring).

    ``on_update`` is called with the :class:`SessionStatus` after every change worth showing.
    """

    mode = "paper"
    """The session's kind, as its settings, result and database name it."""
    id_prefix = "pp"
    """The start of every client id this kind of session makes."""

    def __init__(
        self,
        config: PaperConfig,
        *,
        bus: MessageBus | None = None,
        on_update: Callable[[SessionStatus], None] | None = None,
        wall: Callable[[], float] = time.monotonic,
        ops: SessionOps | None = None,
    ) -> None:
        self.config = config
        self.ops = ops
        self.bus = bus or MessageBus()
        self.on_update = on_update
        self.status = SessionStatus()
        self.driver: BarDriver | None = None
        self.instruments: dict[str, Instrument] = {}
        self._wall = wall
        self._stop = asyncio.Event()
        self._started = time.time()
        self._pending_since: dict[int, float] = {}
        self._revised: set[tuple[str, int]] = set()
        self._end_reason = "stopped"
        self._held: dict[str, str] = {}
        """Symbols whose entries a data breaker stopped, with the reason."""
        self._context: ContextFeed | None = None
        self._needs: MarketNeeds | None = None
        self._book_tape: BookTape | None = None
        """Feeds the live book to the venue when the fill model walks it."""
        self._feed_book: Callable[[str], OrderBook] | None = None
        run_dir = Path(config.run_dir)
        if (run_dir / SESSION_FILE).exists():
            raise UserError(f"{run_dir} holds a session already; give another --run-dir")
        self.recorder = SessionRecorder(run_dir, exchange=config.exchange.name)

    def stop(self, reason: str = "stopped") -> None:
        """Ask the session to stop after the event it is handling (safe from a signal handler)."""
        self._end_reason = reason
        self._stop.set()

    # -- the run ------------------------------------------------------------------------------

    async def run(self) -> BacktestResult:
        """Run until stopped or ``max_bars``; return the session's result (backtest schema).

        Raises
        ------
        UserError
            For a symbol the exchange does not list, a market that is neither spot nor a USDT-M
            perpetual, or an exchange that does not answer.
        """
        config = self.config
        own_depth = self._walks_own_depth()  # refused before anything is opened
        client = create_async_client(config.exchange)
        # Perpetuals (ccxt's "BASE/QUOTE:SETTLE") read the mark-price stream for their funding.
        kinds = {StreamKind.KLINE} | ({StreamKind.MARK_PRICE} if self._perpetuals() else set())
        if own_depth:
            kinds.add(StreamKind.DEPTH)  # the book the fills walk (paper_books)
        spec = FeedSpec(
            symbols=config.symbols, timeframes=(config.timeframe,),
            kinds=frozenset(kinds), warmup_bars=config.warmup_bars, backfill=config.backfill,
        )  # fmt: skip
        feed = self._open_feed(client, spec)
        try:
            await self._load_instruments(client)
            await self._preflight(client)
            await feed.start()
            self._phase("warming up")
            await feed.wait_ready(timeout_s=120)
            resumed = self._resumed()
            self.driver = self._build(self._drain_warmup(feed), resumed)
            if isinstance(self.driver, PaperDriver) and self._perpetuals():
                self.driver.funding = FundingTracker(self._perpetuals())
            if isinstance(self.driver, PaperDriver) and config.spec.fill.book_walk:
                self._book_tape = BookTape(self.driver, self.recorder)
                self._feed_book = feed.book
            self._write_settings()
            if self.ops is not None:
                await self.ops.start(
                    self.driver,
                    strategies=[s.id for s in config.strategies],
                    parameters={s.id: s.params for s in config.strategies},
                    resumed=resumed,
                )
                self.status.api_url = self.ops.url
                if isinstance(feed, SourceSet) and self.ops.facade is not None:
                    self.ops.facade.market_sources = feed  # its lags and switches as metrics
            if resumed is not None:
                self._carry_on(resumed)
            await self._before_trading()
            self._context = self._open_context()
            if self._context is not None:
                await self._context.start()
            await self._open_needs()
            if self._needs is not None and self._book_tape is not None:
                self._needs.book_hook = self._book_tape.on_update  # the book fill's path
            self._phase("trading")
            await self._trade(feed)
        except BaseException as error:
            self._end_reason = f"error: {type(error).__name__}"
            raise
        finally:
            self._phase("stopping")
            await self._wind_down()
            await feed.stop()
            if self._context is not None:
                await self._context.stop()
            if self._needs is not None:
                await self._needs.stop()
            if self.ops is not None:
                await self.ops.stop(self._end_reason)
        return await self._finish()

    def _perpetuals(self) -> list[str]:
        """The perpetuals whose funding this session simulates (a live session's exchange
        charges its own)."""
        if self.mode != "paper":
            return []
        return [s for s in self.config.symbols if ":" in s]

    def _walks_own_depth(self) -> bool:
        """Whether the fills walk the book of the session's own depth stream (the ``book``
        fill model without ``[[sources.books]]``).

        Raises
        ------
        UserError
            For the ``book`` fill model in a live session (the exchange fills its orders).
        """
        if not self.config.spec.fill.book_walk:
            return False
        if self.mode != "paper":
            raise UserError("--fill book is for --mode paper: a live session's exchange fills "
                            "its orders from its own book")  # fmt: skip
        return self.config.sources is None  # else [[sources.books]] (checked by the config)

    def _open_feed(self, client: Any, spec: FeedSpec) -> MarketFeed | SourceSet:
        """The exchange's own feed, or with :attr:`PaperConfig.sources` a source set whose
        primary reads through ``client`` (book tickers too: the cross-check compares them)."""
        sources = self.config.sources
        if sources is None:
            return MarketFeed(client, spec, recorder=self.recorder.market_message)
        spec = replace(spec, kinds=spec.kinds | {StreamKind.TICKER})
        opened = open_sources(sources, spec, recorder=self.recorder.market_message,
                              primary_client=client)  # fmt: skip
        return SourceSet(opened, sources)

    async def _open_needs(self) -> None:
        """Start the ``[[sources.trades]]``, ``[[sources.books]]``, ``[[sources.funding]]`` and
        ``[[sources.open_interest]]`` sets (none without)."""
        sources = self.config.sources
        if sources is None:
            return
        needs = MarketNeeds(sources, self.config.symbols)
        if not needs:
            return
        self._needs = needs
        await needs.start()
        if self.ops is not None and self.ops.facade is not None:
            self.ops.facade.need_sources.extend(needs.all_sets)

    def _open_context(self) -> ContextFeed | None:
        """The market-context poller of the ``[[sources.context]]`` venues and
        ``[[sources.aggregators]]`` (None without either)."""
        sources = self.config.sources
        if sources is None or not (sources.context or sources.aggregators):
            return None
        return ContextFeed(sources.context, self.config.symbols, period_s=sources.context_period_s,
                           aggregators=sources.aggregators)  # fmt: skip

    async def _load_instruments(self, client: Any) -> None:
        try:
            await client.load_markets()
        except Exception as error:  # ccxt's network and exchange errors alike
            raise UserError(
                f"the exchange at {self.config.exchange.rest_url or self.config.exchange.name} "
                f"did not answer: {type(error).__name__}: {error}"
            ) from None
        found = instruments_from_markets(client, self.config.symbols, self.config.exchange.name)
        fee = self.config.spec.costs.fee
        if fee is not None:
            rate = Decimal(str(fee))
            found = {s: replace(i, maker_fee=rate, taker_fee=rate) for s, i in found.items()}
        self.instruments = found

    def _resumed(self) -> ResumedAccount | None:
        """The account the bot's earlier paper sessions left (None: a fresh account)."""
        if self.ops is None:
            return None
        # A paper account is the bot's own, on one exchange's markets.
        self.ops.bind_account(self.config.exchange.name, "paper")
        return self.ops.resume(self.instruments)

    def _carry_on(self, resumed: ResumedAccount) -> None:
        """Continue the earlier account: positions, and working orders back at the venue (those
        due while the bot was down fill where they would have filled); then a checkpoint."""
        driver = self.driver
        assert isinstance(driver, PaperDriver)
        ended = driver.carry_on(resumed)
        now = driver.node.now
        if self.ops is not None:
            self.ops.end_orders(ended, now, "ended by a restart: filled in part before it")
            self._resumed_parents(self.ops.resume_parents(driver.node))
            self.ops.checkpoint(now)
        held = [f"{p.quantity} {p.symbol} ({p.strategy_id})"
                for p in driver.engine.portfolio.positions.values() if p.quantity]  # fmt: skip
        text = (
            f"resumed the bot's account: {len(resumed.orders) - len(ended)} working order(s) "
            f"carried on, positions: {', '.join(held) or 'none'}"
        )
        log.info("%s; balances %s", text, resumed.portfolio.cash)
        self._alert(text)

    def _resumed_parents(self, parents: list[Parent]) -> None:
        """Say which parent orders of an earlier session this one carries on."""
        if parents:
            text = "resumed parent order(s): " + ", ".join(
                f"{p.parent_id} ({p.spec.algo} {p.side} {p.quantity} {p.symbol}, "
                f"{p.filled_quantity} filled in {len(p.children)} child(ren))"
                for p in parents
            )
            log.info("%s", text)
            self._alert(text)

    async def _preflight(self, client: Any) -> None:
        """Checks before the feed starts, with the instruments loaded (a paper session needs
        none: it sends nothing to the exchange)."""

    async def _before_trading(self) -> None:
        """The last step before the first decision, with the driver built and the operator's
        side started (a paper session's simulated venue starts empty: nothing to reconcile)."""

    async def _wind_down(self) -> None:
        """End the orders still open when the session stops: they end with it, at the
        simulated venue that is the session's own (positions stay, marked at the last close)."""
        driver = self.driver
        if driver is None:
            return
        for order in list(driver.node.orders.values()):
            if order.is_open:
                driver.node.manager.cancel(order.client_id, driver.node.now)

    def _drain_warmup(self, feed: MarketFeed | SourceSet) -> dict[str, list[Bar]]:
        """The warm-up bars (everything on the queue now); live bars already queued go to the
        driver once it exists."""
        warm: dict[str, list[Bar]] = {s: [] for s in self.config.symbols}
        self._early: list[Any] = []
        while not feed.events.empty():
            event = feed.events.get_nowait()
            self.recorder.market_event(event)
            if isinstance(event, BarClosed) and event.source is BarSource.WARMUP:
                warm[event.bar.symbol].append(event.bar)
            else:
                self._early.append(event)
        empty = [s for s, bars in warm.items() if not bars]
        if empty:
            raise UserError(f"the exchange gave no warm-up bars for {', '.join(empty)}")
        return warm

    def _capital(self) -> Decimal:
        """The account's cash (a paper session's: the spec's)."""
        return Decimal(str(self.config.spec.account.cash))

    def _driver(
        self,
        prepared: PreparedRun,
        ids: ClientIdFactory,
        balances: dict[str, Decimal] | None = None,
    ) -> BarDriver:
        """The driver of this kind of session over the warm-up bars."""
        return PaperDriver(
            prepared, self.config.strategies, bus=self.bus, ids=ids, balances=balances
        )

    def _build(
        self, warm: dict[str, list[Bar]], resumed: ResumedAccount | None = None
    ) -> BarDriver:
        config = self.config
        tf = Timeframe.parse(config.timeframe)
        bars = {}
        for symbol, rows in warm.items():
            buffer = BarBuffer(symbol, tf, capacity=len(rows))
            for bar in sorted(rows, key=lambda b: b.ts):
                buffer.append(bar)
            bars[symbol] = buffer.series()
        spec = config.spec
        quote = account_currency(self.instruments)
        balances = dict(resumed.portfolio.cash) if resumed is not None else None
        cash = balances.get(quote, Decimal(0)) if balances is not None else self._capital()
        prepared = PreparedRun(
            spec=spec, bars=bars, instruments=self.instruments, quote=quote,
            cash=cash, stake=Stake.parse(spec.account.stake),
            first_bar={s: len(b) for s, b in bars.items()},
            leverage=dict.fromkeys(bars, Decimal(1)), funding={}, fee_rate=None,
        )  # fmt: skip
        session = f"{int(self._started * 1000):x}"
        ids = ClientIdFactory(self.id_prefix, session=session)
        driver = (
            self._driver(prepared, ids)
            if balances is None
            else self._driver(prepared, ids, balances)
        )
        self.bus.subscribe("order", self._journal_order)
        self.bus.subscribe("risk.denied", self._journal_denial)
        self.status.currency = quote
        return driver

    def _journal_order(self, topic: str, payload: Any) -> None:
        ts = self.driver.node.now if self.driver is not None else 0
        kind = JournalKind.FILL if topic == "order.filled" else JournalKind.ORDER
        if isinstance(payload, Order):
            body: dict[str, Any] = {"event": topic, "client_id": payload.client_id,
                                    "side": payload.side.value, "type": payload.type.value,
                                    "quantity": payload.quantity, "tag": payload.tag}  # fmt: skip
            symbol = payload.symbol
        else:
            body = {"event": topic, **_fields(payload)}
            fill = getattr(payload, "fill", None)
            symbol = fill.symbol if fill is not None else ""
            venue = getattr(self.driver, "venue", None)
            if topic == "order.accepted" and isinstance(venue, SimVenue):
                # When the order reached the venue: the drift report measures latency from it.
                reached = venue.arrival(payload.client_id)
                if reached is not None:
                    body["reached_ms"] = reached
        self.recorder.journal(kind, ts_ms=ts, payload=body, symbol=symbol)

    def _journal_denial(self, topic: str, payload: Any) -> None:
        """An intent the risk gate (or an operator's pause) refused, with its reason."""
        decision: Decision = payload
        intent = decision.intent
        self.recorder.journal(
            JournalKind.INTENT, ts_ms=intent.ts, strategy=intent.strategy_id, symbol=intent.symbol,
            payload={"action": intent.action.value, "approved": False, "reason": decision.reason,
                     "code": decision.code, "signal_reason": intent.reason},
        )  # fmt: skip

    def _journal_signals(self, report: StepReport) -> None:
        """Each strategy's signal values at the bar that closed (what it decided on)."""
        driver = self.driver
        assert driver is not None
        for binding in driver.node.bindings:
            i = report.bars.get(binding.symbol)
            if i is None or i < binding.start:
                continue
            values: dict[str, Any] = {name: bool(getattr(binding, name)[i]) for name in _SIGNALS}
            if binding.confidence is not None:
                confidence = float(binding.confidence[i])
                values["confidence"] = None if math.isnan(confidence) else confidence
            values["bar_ms"] = int(binding.bars.ts[i])
            self.recorder.journal(
                JournalKind.SIGNAL, ts_ms=report.close_ms, payload=values,
                strategy=binding.strategy_id, symbol=binding.symbol,
            )  # fmt: skip

    async def _trade(self, feed: MarketFeed | SourceSet) -> None:
        driver = self.driver
        assert driver is not None
        for event in self._early:
            self._on_event(event, record=False)
        self._early.clear()
        self._evaluate()
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                event = await asyncio.wait_for(feed.events.get(), timeout=0.2)
                self._on_event(event, record=True)
            self.status.streams = {name: state.value for name, state in feed.health().items()}
            if self.ops is not None:
                self.ops.stream_ages(feed.ages())
            self._tick(feed)
            self._evaluate()
            if self.config.max_bars is not None and self.status.bars >= self.config.max_bars:
                self.stop(f"--max-bars {self.config.max_bars} reached")

    def _tick(self, feed: MarketFeed | SourceSet) -> None:
        """What runs between feed events (about every 0.2 s): the data breakers."""
        if self._needs is not None and self.driver is not None:
            self._needs.drain(self.driver.node, lambda event: self._on_event(event, record=True),
                              self._on_reading)  # fmt: skip
        held = dict.fromkeys(feed.stale_symbols(), STALE_DATA)
        if isinstance(feed, SourceSet):
            held.update(dict.fromkeys(feed.divergent_symbols(), DATA_DIVERGENCE))
        while self._context is not None and not self._context.events.empty():
            self._on_context(self._context.events.get_nowait())
        for symbol, reason in self._context_breaches().items():
            held.setdefault(symbol, reason)  # the data's own faults say more
        self._data_breakers(held)

    def _context_breaches(self) -> dict[str, str]:
        """The symbols whose latest market context is beyond ``[sources.context_limits]``."""
        limits = self.config.sources.context_limits if self.config.sources else None
        if limits is None or self.driver is None:
            return {}
        out: dict[str, str] = {}
        for symbol, context in self.driver.node.host.contexts.items():
            breach = limits.breach(context)
            if breach is not None:
                if symbol not in self._held:
                    log.warning("%s market context: %s", symbol, breach)
                out[symbol] = MARKET_CONTEXT
        return out

    def _on_context(self, context: MarketContext) -> None:
        """The latest context of a symbol across venues: the strategies read it
        (``ctx.market_context``) from now on; journalled with each venue's figures."""
        assert self.driver is not None
        contexts = self.driver.node.host.contexts
        contexts[context.symbol] = context.carrying(contexts.get(context.symbol))
        venues = [_fields(v) for v in context.venues]
        self.recorder.journal(JournalKind.CONTEXT, ts_ms=context.received_ms,
                              symbol=context.symbol, payload={"venues": venues})  # fmt: skip

    def _on_reading(self, reading: ContextReading) -> None:
        """A polled need's reading (funding, open interest): kept on its symbol's context (one
        with no venues when none are polled) for the strategies; journalled."""
        assert self.driver is not None
        contexts = self.driver.node.host.contexts
        known = contexts.get(reading.symbol) or MarketContext(reading.symbol, (),
                                                              reading.received_ms)  # fmt: skip
        contexts[reading.symbol] = known.with_reading(reading)
        self.recorder.journal(JournalKind.CONTEXT, ts_ms=reading.received_ms,
                              symbol=reading.symbol, payload={"reading": _fields(reading)})  # fmt: skip

    def _data_breakers(self, held: dict[str, str]) -> None:
        """The "stale data", "data divergence" and "market context" breakers: no new entries
        in a symbol while one of its streams is silent past its allowance, its sources disagree
        or its market context is beyond a limit (``held``: symbol -> reason); exits still pass.
        An operator's own stop is left alone."""
        node = self.driver.node if self.driver is not None else None
        if node is None:
            return
        for symbol, reason in held.items():
            if symbol not in self.config.symbols or self._held.get(symbol) == reason:
                continue
            if symbol in self._held or symbol not in node.stopped_entries:
                node.stop_entries(symbol, reason)
                self._held[symbol] = reason
                self._alert(f"{symbol}: {reason.split(':')[0]}, no new entries")
        for symbol in set(self._held) - set(held):
            node.allow_entries(symbol)
            del self._held[symbol]
            self._alert(f"{symbol}: market data sound again, entries allowed")

    def _on_event(self, event: Any, *, record: bool) -> None:
        driver = self.driver
        assert driver is not None
        if record:
            self.recorder.market_event(event)
        if isinstance(event, BarClosed):
            if event.source is BarSource.WARMUP:
                return  # a warm-up page that overlapped the first live bars: already known
            if (len(driver.bars[event.bar.symbol]) and
                    event.bar.ts <= int(driver.bars[event.bar.symbol].ts[-1])):  # fmt: skip
                return
            driver.add(event.bar.symbol, event.bar)
            close = event.bar.ts + driver.bars[event.bar.symbol].timeframe.ms
            self._pending_since.setdefault(close, self._wall())
        elif isinstance(event, BarRevised):
            # The engine acted on the bar as first announced; the drift report explains the rest.
            key = (event.bar.symbol, event.bar.ts)
            if key not in self._revised:  # once per bar: a bar may be revised many times
                self._revised.add(key)
                log.warning("%s bar %d was revised after its close", *key)
                self._alert(f"{event.bar.symbol} bar revised after its close")
        elif isinstance(event, MarkPriceUpdated):
            settled = driver.funding.update(event) if driver.funding is not None else None
            if settled is not None and isinstance(driver, PaperDriver):
                driver.add_funding(settled)
        elif isinstance(event, BookUpdated):
            # The session's own depth stream (the book fill); on_book comes from the driver.
            if self._book_tape is not None and self._feed_book is not None:
                self._book_tape.on_update(event, self._feed_book(event.symbol))
        elif isinstance(event, StreamAlert):
            self._alert(f"{event.stream}: {event.kind.value} {event.detail}".strip())
            if self.ops is not None:
                self.ops.alert(event)
        elif isinstance(event, SourceSwitched | DataQuality | LatencyAlert):
            self._source_event(event)

    def _source_event(self, event: SourceSwitched | DataQuality | LatencyAlert) -> None:
        """Journal what the source set says about its sources (a switch, a cross-check
        finding, a latency alert); the breakers act on its state in :meth:`_tick`."""
        if isinstance(event, SourceSwitched):
            text = f"{event.need}: {event.previous} -> {event.active} ({event.reason.value})"
            symbol = ""
        elif isinstance(event, DataQuality):
            text = f"{event.symbol}: {event.kind.value} of {event.source} ({event.detail})"
            symbol = event.symbol
            if self.ops is not None:
                self.ops.data_quality(event)
        else:
            state = "above" if event.raised else "back below"
            text = (f"{event.source} {event.stream}: receive lag p99 {event.p99_ms:.0f} ms "
                    f"{state} {event.threshold_ms:.0f} ms")  # fmt: skip
            symbol = ""
        payload = {"source_event": type(event).__name__, **_fields(event)}
        self.recorder.journal(JournalKind.ALERT, ts_ms=event.received_ms, payload=payload,
                              symbol=symbol)  # fmt: skip
        self._alert(text)

    def _evaluate(self) -> None:
        driver = self.driver
        assert driver is not None
        reports = driver.flush()
        oldest = driver.oldest_pending()
        while oldest is not None and self._wall() - self._pending_since.get(oldest, 0.0) >= (
            self.config.grace_s
        ):
            log.warning("evaluating the bars closing at %d without the missing symbols", oldest)
            reports += driver.flush(upto_ms=oldest)
            oldest = driver.oldest_pending()
        for report in reports:
            arrived = self._pending_since.pop(report.close_ms, None)
            self._stepped(report, None if arrived is None else self._wall() - arrived)
            if self.config.max_bars is not None and self.status.bars >= self.config.max_bars:
                break

    def _stepped(self, report: StepReport, waited_s: float | None = None) -> None:
        """An instant was traded (``waited_s``: since its first bar arrived, wall seconds)."""
        driver = self.driver
        assert driver is not None
        self._journal_signals(report)
        status = self.status
        status.bars += 1
        status.last_close_ms = report.close_ms
        status.equity = driver.equity()
        status.positions = driver.node.account.open_positions()
        status.orders = len(driver.node.orders)
        status.fills = len(driver.engine.portfolio.fills)
        status.open_orders = sum(1 for o in driver.node.orders.values() if o.is_open)
        if self.ops is not None:
            self.ops.stepped(driver, report, waited_s if report.orders else None)
        if self.on_update is not None:
            self.on_update(status)

    def _alert(self, text: str) -> None:
        self.status.alerts = [*self.status.alerts[-4:], text]
        if self.on_update is not None:
            self.on_update(self.status)

    def _phase(self, phase: str) -> None:
        self.status.phase = phase
        if self.on_update is not None:
            self.on_update(self.status)

    def _write_settings(self) -> None:
        driver = self.driver
        assert driver is not None
        config = self.config
        fill = config.spec.fill
        settings = {
            "mode": self.mode,
            "exchange": config.exchange.name,
            "rest_url": config.exchange.rest_url,
            "sources": [s.name for s in config.sources.candles] if config.sources else None,
            "strategies": [
                {"name": s.name or type(s).__name__, "id": s.id, "params": s.params}
                for s in config.strategies
            ],
            "symbols": list(config.symbols),
            "timeframe": config.timeframe,
            # The capital the session trades (a live one's: the capped exchange balance).
            "cash": str(self._capital()),
            "stake": str(config.spec.account.stake),
            "fee": None if config.spec.costs.fee is None else str(config.spec.costs.fee),
            "fill": {
                "fill_at": fill.fill_at.value,
                "slippage_bps": fill.slippage_bps,
                "volatility_slippage": fill.volatility_slippage,
                "latency_ms": fill.latency_ms,
                "max_participation": fill.max_participation,
                "book_walk": fill.book_walk,
            },
            "risk": None if config.spec.risk is None else config.spec.risk.model_dump(mode="json"),
            "instruments": {s: _instrument_dict(i) for s, i in self.instruments.items()},
            "warmup_bars": {s: len(b) for s, b in driver.bars.items()},
            "first_bar_ms": {s: int(b.ts[-1]) + b.timeframe.ms for s, b in driver.bars.items()},
            "started_at_ms": int(self._started * 1000),
        }
        path = Path(config.run_dir) / SESSION_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(settings, option=orjson.OPT_INDENT_2, default=str))

    async def _finish(self) -> BacktestResult:
        driver = self.driver
        await self.recorder.close()
        if driver is None:
            raise UserError("the session stopped before its warm-up was loaded: nothing traded")
        result = driver.result(
            self._started,
            {"mode": self.mode, "exchange": self.config.exchange.name,
             "bars_traded": self.status.bars},
        )  # fmt: skip
        write_json(Path(self.config.run_dir) / RESULT_FILE, result.to_json_dict())
        if driver.funding is not None:
            funding = {s: [[e.ts, e.rate, e.mark] for e in events]
                       for s, events in driver.funding.events.items()}  # fmt: skip
            write_json(Path(self.config.run_dir) / FUNDING_FILE, funding)
        self._phase("stopped")
        return result


def _instrument_dict(instrument: Instrument) -> dict[str, Any]:
    return {
        "symbol": instrument.symbol, "base": instrument.base, "quote": instrument.quote,
        "exchange": instrument.exchange, "exchange_id": instrument.exchange_id,
        "market_type": instrument.market_type.value,
        "price_step": str(instrument.price_step), "amount_step": str(instrument.amount_step),
        "min_amount": _text(instrument.min_amount), "max_amount": _text(instrument.max_amount),
        "min_notional": _text(instrument.min_notional),
        "maker_fee": str(instrument.maker_fee), "taker_fee": str(instrument.taker_fee),
        "fee_side": instrument.fee_side.value,
    }  # fmt: skip


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _fields(payload: Any) -> dict[str, Any]:
    names = getattr(payload, "__slots__", None) or getattr(payload, "__dataclass_fields__", {})
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(payload, name, None)
        out[name] = _fields(value) if hasattr(value, "__dataclass_fields__") else value
    return out
