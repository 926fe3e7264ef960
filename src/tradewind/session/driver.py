"""The bar-by-bar driver of a paper session: the backtest's Node and simulated venue, fed with bars
as the exchange closes them. :class:`BarDriver` is the part a live session shares
(:mod:`tradewind.session.live_driver`): the bars, the instants, the signals and the bar closes.

A binding's signal at bar ``i`` is what the strategy computes from bars ``0..i``, exactly the
input a backtest over the same bars gives it at ``i`` (strategies are causal, which the lookahead
tests prove), so the session's decisions equal the backtest's by construction, not by tuning.
Strategies with a signal stream (every built-in but the regime switch and the ML ones) are fed
each closed bar and extend their signals by one bar (:mod:`tradewind.session.signal_tape`: the
stream is checked against the vectorised signals over the warm-up, and a comparison too close to
call is computed the vectorised way). The others are recomputed over every bar held whenever a
bar closes, a pass over the history per bar; ``make bench`` measures both.

Risk rules run the same way: the risk engine and the protective exits (stops, ATR stops,
trailing, break-even, time stops, take-profit, scale-out, pyramiding, breakers) are the backtest's,
over the bars held. Their scans and detectors are causal (an event at bar ``j`` reads bars
``0..j``), so when a bar closes they are told the series grew
(:meth:`~tradewind.risk.exits.ProtectionBook.replace_bars`,
:meth:`~tradewind.risk.engine.RiskEngine.replace_bars`) and go on from where they stood: a scan
that found nothing looks again over the longer series, the ATR is recomputed, the breakers'
timelines are extended; what they find is what the backtest of the same bars finds.

Bars that close at the same instant are processed together, in the order the backtest runner
processes events: by time, and at equal times a breaker trip, then each symbol's close (signals,
then orders), then the timers, then the protective exits, then the fills at a bar's open. A paper
instant runs everything due up to its close: the fills at the new bars' open (orders sent at the
previous close), protective exits on the new bars, breaker trips, timers and the closes.
:meth:`PaperDriver.add` collects bars; :meth:`PaperDriver.ready` says which instants are complete
(every symbol has its bar) and :meth:`PaperDriver.flush` runs them; the session flushes an
incomplete instant only after a grace period (a symbol with no bar at that instant is then simply
absent, as a gap in a backtest's data is).
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradewind.backtest.api import PreparedRun, assemble_result
from tradewind.backtest.event import (
    EventEngine,
    EventRun,
    build_event_engine,
    collect_event_run,
    signal_arrays,
)
from tradewind.backtest.inputs import funding_series
from tradewind.backtest.result import BacktestResult
from tradewind.book.book import OrderBook, UpdateStatus
from tradewind.book.stream import DecodedBookStream
from tradewind.core.errors import UserError
from tradewind.core.orders import ClientIdFactory, Order
from tradewind.core.records import Bar
from tradewind.engine.binding import Binding
from tradewind.engine.bus import MessageBus
from tradewind.engine.portfolio import Position
from tradewind.engine.resume import ResumedAccount
from tradewind.risk.engine import RiskEngine
from tradewind.series.bars import BarBuffer, BarSeries
from tradewind.session.funding import FundingEvent, FundingTracker
from tradewind.session.signal_tape import SignalTape
from tradewind.strategies.base import Strategy
from tradewind.venues.sim import SimVenue

__all__ = ["BarDriver", "PaperDriver", "StepReport"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepReport:
    """What one closed instant did: its close time, the bar index per symbol, and how many orders
    and fills it made."""

    close_ms: int
    bars: dict[str, int]
    orders: int
    fills: int


class BarDriver(ABC):
    """Closed bars in, instants out: what the paper and the live driver share.

    It keeps the bars (warm-up and each bar closed since), collects them into instants
    (:meth:`add`, :meth:`ready`, :meth:`flush`), extends every binding's signals to the new bar
    when its symbol's bar closes (streamed, or recomputed over the bars held), and calls the
    Node's bar closes and timers. Where orders go and how their events come back is the
    subclass's: :meth:`_wire` builds the engine and :meth:`_step` runs one instant.

    Parameters
    ----------
    prepared
        The run's settings resolved against the warm-up bars (``prepared.bars``): instruments,
        account, stake, fill model. Trading starts with the first bar after the warm-up.
    strategies
        The strategy instances; every one trades every symbol from one account.
    bus
        Receives the engine's events (the session's recorder and operators listen here).
    ids
        Client-id factory: unique per session, so ids never repeat across restarts.
    balances
        The account's starting balances (a resumed bot's); default: ``prepared.cash`` of the
        quote currency.
    """

    def __init__(
        self,
        prepared: PreparedRun,
        strategies: Sequence[Strategy],
        *,
        bus: MessageBus | None = None,
        ids: ClientIdFactory | None = None,
        balances: Mapping[str, Decimal] | None = None,
    ) -> None:
        spec = prepared.spec
        if spec.engine != "event":
            raise UserError("a trading session runs the event engine")
        self.prepared = prepared
        self.strategies = list(strategies)
        self._buffers: dict[str, BarBuffer] = {}
        for name, series in prepared.bars.items():
            buffer = BarBuffer(name, series.timeframe, capacity=max(2 * len(series), 1024))
            for i in range(len(series)):
                buffer.append(series.bar(i))
            self._buffers[name] = buffer
        self.symbols = list(prepared.bars)
        self.bars: dict[str, BarSeries] = {n: b.series() for n, b in self._buffers.items()}
        self.first_bar = {n: len(b) for n, b in self._buffers.items()}
        starting = dict(balances) if balances is not None else {prepared.quote: prepared.cash}
        self.engine: EventEngine = self._wire(starting, bus, ids)
        self.node = self.engine.node
        self._by_symbol: dict[str, list[Binding]] = {}
        for binding in self.node.bindings:
            self._by_symbol.setdefault(binding.symbol, []).append(binding)
        self._tapes: dict[Binding, SignalTape] = {}
        for binding in self.node.bindings:
            tape = SignalTape.start(binding, self.bars[binding.symbol])
            if tape is not None:
                self._tapes[binding] = tape
        self._recomputes = 0
        self._pending: dict[int, dict[str, Bar]] = {}
        self.funding: FundingTracker | None = None
        """The perpetuals' funding as the session learns it; a complete instant waits until the
        funding that can fall in its bars is known (see :mod:`tradewind.session.funding`)."""
        self.last_close_ms: int | None = None
        self.steps = 0

    @abstractmethod
    def _wire(
        self, starting: dict[str, Decimal], bus: MessageBus | None, ids: ClientIdFactory | None
    ) -> EventEngine:
        """Build the engine (Node, port, portfolio, gate) over :attr:`bars`."""

    @abstractmethod
    def _step(self, close: int, arrived: Mapping[str, Bar]) -> StepReport:
        """Run the instant closing at ``close`` with the bars that ``arrived`` for it."""

    # -- bars in --------------------------------------------------------------------------------

    def add(self, symbol: str, bar: Bar) -> None:
        """A bar of ``symbol`` has closed (it waits until its instant is flushed).

        Raises
        ------
        UserError
            For a symbol the session does not trade, or a bar that is not newer than the last
            one of its symbol (a feed must never repeat a bar).
        """
        buffer = self._buffers.get(symbol)
        if buffer is None:
            raise UserError(f"{symbol} is not traded by this session")
        last = buffer.last_open
        queued = [t for t, bars in self._pending.items() if symbol in bars]
        newest = max([last if last is not None else -1, *(t - buffer.timeframe.ms for t in queued)])
        if bar.ts <= newest:
            raise UserError(f"{symbol}: bar {bar.ts} is not after the last bar ({newest})")
        self._pending.setdefault(bar.ts + buffer.timeframe.ms, {})[symbol] = bar

    def ready(self) -> list[int]:
        """Close times whose every symbol has its bar (or a later one: nothing more can come)."""
        out = []
        for close in sorted(self._pending):
            have = self._pending[close]
            complete = all(
                s in have or any(s in self._pending[t] for t in self._pending if t > close)
                for s in self.symbols
            )
            if not complete:
                break
            out.append(close)
        return out

    @property
    def streamed(self) -> list[Binding]:
        """The bindings whose signals are extended bar by bar from their strategy's stream
        (the others are recomputed over every bar held when a bar closes)."""
        return list(self._tapes)

    @property
    def recomputes(self) -> int:
        """How many times a binding's signals were recomputed over every bar held: each bar of
        a binding without a stream, and each unsure step of one with a stream."""
        return self._recomputes + sum(tape.fallbacks for tape in self._tapes.values())

    def oldest_pending(self) -> int | None:
        """The earliest close time still waiting (None when nothing waits)."""
        return min(self._pending) if self._pending else None

    def flush(self, upto_ms: int | None = None) -> list[StepReport]:
        """Process every complete instant, or (with ``upto_ms``) every instant up to that close
        time whether complete or not. Returns what each did."""
        reports = []
        while self._pending:
            close = min(self._pending)
            if close not in self.ready() and (upto_ms is None or close > upto_ms):
                break
            if upto_ms is None and not self._funding_known(close):
                break
            reports.append(self._step(close, self._pending.pop(close)))
        return reports

    def _funding_known(self, close: int) -> bool:
        """Whether every perpetual's funding is known up to the open of the bars closing at
        ``close`` (a funding time falls in the bar that opens at it)."""
        funding = self.funding
        if funding is None:
            return True
        return all(
            funding.known_until(s) >= close - self.bars[s].timeframe.ms for s in funding.read_ms
        )

    # -- one instant (the shared parts) --------------------------------------------------------

    def _take(self, arrived: Mapping[str, Bar]) -> dict[str, int]:
        """Append the arrived bars, hand the new series to the Node and recompute the signals;
        return the new bar's index per symbol."""
        node = self.node
        index: dict[str, int] = {}
        for symbol in self.symbols:  # the backtest's symbol order
            bar = arrived.get(symbol)
            if bar is None:
                continue
            buffer = self._buffers[symbol]
            buffer.append(bar)
            series = buffer.series()
            self.bars[symbol] = series
            node.replace_bars(symbol, series)
            if node.protection is not None:
                node.protection.replace_bars(symbol, series)
            if isinstance(self.engine.gate, RiskEngine):
                self.engine.gate.replace_bars(symbol, series)
            row = buffer.last_values()
            for binding in self._by_symbol.get(symbol, ()):
                self._signals(binding, series, row)
            index[symbol] = len(series) - 1
        return index

    def _signals(
        self, binding: Binding, series: BarSeries, row: tuple[float, float, float, float, float]
    ) -> None:
        """Extend ``binding``'s signals to the new last bar of ``series`` (whose OHLCV is
        ``row``): from its tape when it has one, else recomputed over every bar held."""
        tape = self._tapes.get(binding)
        if tape is not None and tape.advance(series, row):
            return
        self._recomputes += 1
        for name, value in signal_arrays(binding.strategy, series).items():
            setattr(binding, name, value)
        if tape is not None:
            self._recomputes += tape.fallbacks
            fresh = SignalTape.start(binding, series) if tape.stale else None
            if fresh is None:
                del self._tapes[binding]
            else:
                self._tapes[binding] = fresh

    def _close(self, close: int, index: Mapping[str, int], orders_before: int,
               fills_before: int) -> StepReport:  # fmt: skip
        """Each symbol's bar close (signals, then orders), then the timers due at the close."""
        node = self.node
        for symbol, i in index.items():
            for binding in self._by_symbol.get(symbol, ()):
                if i >= binding.start:
                    node.on_bar_close(binding, i)
        while (timer := node.next_timer()) is not None and timer <= close:
            node.on_timer(timer)
        return self._report(close, index, orders_before, fills_before)

    def _report(self, close: int, index: Mapping[str, int], orders_before: int,
                fills_before: int) -> StepReport:  # fmt: skip
        """The instant closing at ``close`` is done: what it did."""
        node = self.node
        self.last_close_ms = close
        self.steps += 1
        return StepReport(
            close, dict(index), len(node.orders) - orders_before,
            len(self.engine.portfolio.fills) - fills_before,
        )  # fmt: skip

    # -- the result -----------------------------------------------------------------------------

    def carry_positions(self, positions: Mapping[tuple[str, str], Position]) -> None:
        """Hold the positions an earlier session of this bot left (after a restart), with their
        protective exits set again. Call it once, before the first instant.

        Raises
        ------
        UserError
            For a position of a strategy, or in a market, this session does not trade.
        """
        traded = {(b.strategy_id, b.symbol) for b in self.node.bindings}
        strays = sorted(
            f"{key[0]} in {key[1]}"
            for key, position in positions.items()
            if position.quantity != 0 and key not in traded
        )
        if strays:
            raise UserError(
                "the bot holds positions this session does not trade: "
                + ", ".join(strays)
                + "; start it with those strategies and symbols, or use another --bot"
            )
        self.engine.portfolio.positions.update(positions)
        if self.node.protection is not None:
            # The protective exits of a carried position are set again from its average price,
            # watching from the first bar of this session (the earlier session's trail is lost
            # with it: the stop starts over, never looser than the rule from the entry).
            for (owner, held), position in positions.items():
                if position.quantity != 0:
                    self.node.protection.on_position(
                        owner, held, position.quantity, position.average_price,
                        position.average_price, _open_time(self.bars[held], self.first_bar[held]),
                    )  # fmt: skip

    def run_tables(self) -> EventRun:
        """The engine's tables so far (trades, orders, equity from the first traded bar)."""
        return collect_event_run(
            self.engine, dict(self.bars), self.prepared.instruments, self.first_bar
        )

    def result(
        self, started: float | None = None, meta: Mapping[str, Any] | None = None
    ) -> BacktestResult:
        """The session's result in the backtest's schema (metrics, trades, orders, health)."""
        if all(len(self.bars[s]) <= self.first_bar[s] for s in self.symbols):
            raise UserError("the session closed no bar after its warm-up: nothing to report")
        prepared = self.prepared
        return assemble_result(
            PreparedRun(
                spec=prepared.spec, bars=dict(self.bars), instruments=prepared.instruments,
                quote=prepared.quote, cash=prepared.cash, stake=prepared.stake,
                first_bar=self.first_bar, leverage=prepared.leverage,
                funding=funding_series(self.funding.frames(), self.bars) if self.funding else {},
                fee_rate=prepared.fee_rate,
            ),
            self.strategies, dict(self.bars), time.time() if started is None else started,
            self.run_tables(), meta,
        )  # fmt: skip

    def equity(self) -> Decimal:
        """The account's equity now (marked at the last closes)."""
        return self.node.account.equity()


class PaperDriver(BarDriver):
    """The event engine over an open-ended :class:`~tradewind.venues.sim.SimVenue`, driven one
    closed instant at a time (see the module docstring and :class:`BarDriver` for the
    parameters): orders fill by the backtest's rules at the next bars."""

    def _wire(
        self, starting: dict[str, Decimal], bus: MessageBus | None, ids: ClientIdFactory | None
    ) -> EventEngine:
        prepared = self.prepared
        self.venue = SimVenue(
            prepared.instruments, dict(self.bars), starting, prepared.spec.fill,
            leverage=prepared.leverage, open_ended=True,
            trade_id_prefix=ids.prefix if ids is not None else "",
        )  # fmt: skip
        engine = build_event_engine(
            self.strategies, self.bars, prepared.instruments, starting, prepared.stake,
            self.venue, self.first_bar, prepared.spec.risk, bus, prepared.spec.on_strategy_error,
            ids, prepared.spec.execution,
        )  # fmt: skip
        self.port = engine.port
        self._book_queue: dict[str, deque[tuple[int, DecodedBookStream, int]]] = {}
        self._book_applied: dict[str, int] = {}
        return engine

    def add_book(self, symbol: str, stream: DecodedBookStream, i: int) -> None:
        """Message ``i`` of ``stream``, a depth message (snapshot or delta) of ``symbol``: applied
        to the symbol's book in time order with the bars' events, as a backtest given the same
        messages applies them (at equal times after the closes, timers and protective exits,
        before the fills at a bar's open, which may walk it: ``FillModel.book_walk``).

        Raises
        ------
        UserError
            For a symbol the session does not trade, or a message older than the last one.
        """
        if symbol not in self._buffers:
            raise UserError(f"{symbol} is not traded by this session")
        ts = int(stream.msg_ts[i])
        queue = self._book_queue.setdefault(symbol, deque())
        last = queue[-1][0] if queue else self._book_applied.get(symbol, ts)
        if ts < last:
            raise UserError(f"{symbol}: book message at {ts} is older than the last ({last})")
        if symbol not in self.venue.books:
            self.venue.books[symbol] = OrderBook(symbol)
        queue.append((ts, stream, i))

    def _apply_book(self, symbol: str, at: int) -> None:
        _, stream, i = self._book_queue[symbol].popleft()
        book = self.venue.books[symbol]
        if book.apply_message(stream, i) is UpdateStatus.RESYNC_NEEDED:
            log.warning("%s book needs a resync: %s", symbol, book.resync_reason)
        self._book_applied[symbol] = at
        node = self.node
        node.now = max(node.now, at)
        node.on_book(symbol, book)
        self.venue.revision += 1  # a book-walk fill price may have changed

    def add_funding(self, event: FundingEvent) -> None:
        """A perpetual's funding settlement, charged at the venue in the bar it falls in."""
        self.venue.add_funding(event.symbol, event.ts, event.rate, event.mark)

    def carry_on(self, resumed: ResumedAccount) -> list[Order]:
        """Continue an earlier session's account (after a restart, even a kill): its positions,
        and its working orders handed to the venue again as of when they were made, so that an
        order due while the bot was down fills at the bar it would have filled on (the venue
        is this session's own; an exchange keeps working while a bot is down, and so does it).

        Call it once, before the first instant, with the driver built on ``resumed``'s balances.
        Returns the orders it could not carry on (filled in part: the venue would fill all of
        it again); the caller ends them in the record.

        Raises
        ------
        UserError
            For a position or order in a market, or of a strategy, this session does not trade.
        """
        self.carry_positions(resumed.portfolio.positions)
        node, port, first = self.node, self.port, self.first_bar
        ended = []
        for order in sorted(resumed.orders.values(), key=lambda o: (o.created_ts, o.client_id)):
            if order.filled_quantity:
                ended.append(order)
                continue
            node.now = max(node.now, order.created_ts)
            bars = self.bars.get(order.symbol)
            before = max(first.get(order.symbol, 1) - 1, 0)  # the bar before trading starts
            node.adopt(order, _open_time(bars, before) if bars is not None else 0)
        # What the venue filled while the bot was down, bar by bar in time order.
        while True:
            best: tuple[int, str, int] | None = None
            for symbol in self.symbols:
                i = port.next_bar(symbol)
                if i is not None and i < first[symbol]:
                    candidate = (int(self.bars[symbol].ts[i]), symbol, i)
                    if best is None or candidate < best:
                        best = candidate
            if best is None:
                break
            at, symbol, i = best
            node.now = max(node.now, at)
            node.on_venue_events(port.process_bar(symbol, i), at)
        return ended

    def _step(self, close: int, arrived: Mapping[str, Bar]) -> StepReport:
        node, port = self.node, self.port
        orders_before = len(node.orders)
        fills_before = len(self.engine.portfolio.fills)
        index = self._take(arrived)
        for symbol in index:
            self.venue.extend(symbol, self.bars[symbol])
        # Every event due up to this close, in the backtest runner's order: by time, and at
        # equal times a breaker trip, then the closes (in symbol order), then the timers, then
        # the protective exits, then the book messages, then the fills at a bar's open. What is
        # due at the close itself comes here too: the next bar's fills (at the same time) come
        # after it in any case.
        protective = node.protection is not None
        breakers = node.observer is not None
        books = self._book_queue
        closing = [s for s in self.symbols if s in index]
        while True:
            best: tuple[int, int, int] | None = None  # (time, rank, symbol position)
            if breakers and (t := node.next_breaker()) is not None and t <= close:
                best = (t, 0, -1)
            if closing:
                candidate = (close, 1, self.symbols.index(closing[0]))
                if best is None or candidate < best:
                    best = candidate
            timer = node.next_timer()
            if timer is not None and timer <= close and (best is None or (timer, 2) < best[:2]):
                best = (timer, 2, -1)
            for k, symbol in enumerate(self.symbols):
                t = node.next_protective(symbol) if protective else None
                if t is not None and t <= close and (best is None or (t, 3, k) < best):
                    best = (t, 3, k)
                queue = books.get(symbol) if books else None
                if queue and (t := queue[0][0]) <= close and (best is None or (t, 4, k) < best):
                    best = (t, 4, k)
                i = index.get(symbol)
                if i is not None and port.next_bar(symbol) == i:
                    candidate = (int(self.bars[symbol].ts[i]), 5, k)
                    if best is None or candidate < best:
                        best = candidate
            if best is None:
                break
            at, rank, k = best
            if rank == 0:
                node.on_breaker(at)
            elif rank == 1:
                symbol = closing.pop(0)
                for binding in self._by_symbol.get(symbol, ()):
                    if index[symbol] >= binding.start:
                        node.on_bar_close(binding, index[symbol])
            elif rank == 2:
                node.on_timer(at)
            elif rank == 3:
                node.on_protective(self.symbols[k])
            elif rank == 4:
                self._apply_book(self.symbols[k], at)
            else:
                symbol = self.symbols[k]
                node.now = max(node.now, at)
                node.on_venue_events(port.process_bar(symbol, index[symbol]), at)
        return self._report(close, index, orders_before, fills_before)


def _open_time(series: BarSeries, i: int) -> int:
    """Open time (UTC ms) of bar ``i`` of ``series``, counted on by the timeframe past the bars
    known (a session's first bar is not there yet when it resumes); 0 when none is known."""
    if i < len(series):
        return int(series.ts[i])
    if not len(series):
        return 0
    return int(series.ts[-1]) + (i - len(series) + 1) * series.timeframe.ms
