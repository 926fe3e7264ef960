"""The backtest runner: the simulated clock and feed that drive the Node over recorded bars.

It merges every symbol's bars in time order but visits only the bars where something can happen:
a bar whose close carries a signal (or every bar, for strategies with a per-bar hook), a bar on
which a working order can fill (the venue's vectorised search), a bar on which a position's
protective exit fires (a compiled scan, :mod:`tradewind.risk.exits`), and a bar at which a circuit
breaker trips (a compiled scan over the equity between fills, :mod:`tradewind.risk.breakers`).
Between those, nothing can change, so nothing is done (DESIGN, principle 8). At equal times a
bar's close comes before the next bar's open: a signal made at a close is in the market for the
following open.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Mapping

import numpy as np

from tradewind.book.book import OrderBook, UpdateStatus
from tradewind.book.stream import DecodedBookStream
from tradewind.book.tape import TradeTape
from tradewind.core.ports import BarDrivenVenue
from tradewind.engine.clock import SimulatedClock
from tradewind.engine.node import Binding, Node

ProgressCallback = Callable[[int, int], None]
log = logging.getLogger(__name__)


class BacktestRunner:
    """Drive ``node`` with the bars of its bindings and a bar-driven venue."""

    def __init__(
        self,
        node: Node,
        venue: BarDrivenVenue,
        *,
        trades: Mapping[str, TradeTape] | None = None,
        books: Mapping[str, tuple[DecodedBookStream, OrderBook]] | None = None,
    ) -> None:
        self.node = node
        self.venue = venue
        self.trades = dict(trades or {})
        self.books = dict(books or {})
        self.clock = SimulatedClock()
        """The run's time: moved to each event's time, and never backwards (a runner bug)."""

    def run(self, progress: ProgressCallback | None = None) -> None:
        """Run to the end of the data. ``progress(done, total)`` is called now and then."""
        # A run books tens of thousands of long-lived records (orders, fills, ledger entries);
        # each full collection would walk every object the process holds (pandas, numpy...)
        # again. Objects that exist before the run are set aside while it runs (gc.freeze) and
        # given back after, unless someone else froze objects already (then nothing changes).
        freeze = gc.isenabled() and gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        try:
            self._run(progress)
        finally:
            if freeze:
                gc.unfreeze()

    def _run(self, progress: ProgressCallback | None) -> None:
        advance = self.clock.advance_to
        bindings_by_symbol: dict[str, list[Binding]] = {}
        for binding in self.node.bindings:
            bindings_by_symbol.setdefault(binding.symbol, []).append(binding)
        symbols = list(bindings_by_symbol)
        close_bars: list[np.ndarray] = []
        close_times: list[np.ndarray] = []
        for symbol in symbols:
            found = [b.signal_bars() for b in bindings_by_symbol[symbol]]
            # Each binding's bars are ascending and distinct already: merge only when several.
            indices = found[0] if len(found) == 1 else np.unique(np.concatenate(found))
            bars = bindings_by_symbol[symbol][0].bars
            close_bars.append(indices)
            close_times.append(bars.ts[indices] + bars.timeframe.ms)
        bar_ts = [bindings_by_symbol[s][0].bars.ts for s in symbols]
        pointers = [0] * len(symbols)
        total = sum(len(c) for c in close_bars)
        done = 0
        # Plain ints from here on: numpy scalars are slow to compare in a Python loop.
        close_list = [c.tolist() for c in close_bars]
        close_time_list = [t.tolist() for t in close_times]
        cached_rev = [-1] * len(symbols)
        cached_next: list[int | None] = [None] * len(symbols)
        cached_time = [0] * len(symbols)  # open time of cached_next's bar, as a plain int
        # Market-data feeds beyond bars: (times, symbol, kind) with a pointer each. A book update
        # at a bar's open comes before the fills there (the venue may walk that book); a trade
        # at that time comes after them (it belongs to the bar that has just opened).
        feeds: list[tuple[list[int], str, int]] = [
            (stream.msg_ts.tolist(), symbol, 5) for symbol, (stream, _) in self.books.items()
        ] + [(tape.ts.tolist(), symbol, 6) for symbol, tape in self.trades.items()]
        feed_pointers = [0] * len(feeds)
        protective = self.node.protection is not None
        breakers = self.node.observer is not None
        # Bound once: this loop runs once per visited bar, where attribute lookups add up.
        node, venue = self.node, self.venue
        next_timer = node.next_timer
        on_bar_close = node.on_bar_close
        close_count = [len(c) for c in close_list]
        if len(symbols) == 1 and not (breakers or protective or feeds):
            self._run_one(symbols[0], bindings_by_symbol[symbols[0]], close_list[0],
                          close_time_list[0], progress, total)  # fmt: skip
            return
        while True:
            # Candidates as (time, priority): at equal times the breakers trip first (equity at a
            # close is known at that close), then the close's signals, then protective exits at
            # the next bar's open (after a signal exit sent at the close, which fills first),
            # then the venue's fills.
            best_time: int | None = None
            best = (-1, -1, 0)  # (priority, symbol position, bar index)
            if breakers:
                t = node.next_breaker()
                if t is not None:
                    best_time, best = t, (0, -1, 0)
            timer = next_timer()
            for k, symbol in enumerate(symbols):
                p = pointers[k]
                if p < close_count[k]:
                    t = close_time_list[k][p]
                    if best_time is None or t < best_time or (t == best_time and best[0] > 1):
                        best_time, best = t, (1, k, close_list[k][p])
                if protective:
                    t = node.next_protective(symbol)
                    if t is not None and (
                        best_time is None or t < best_time or (t == best_time and best[0] > 2)
                    ):
                        best_time, best = t, (2, k, 0)
                # The venue's answer only changes when its state does (its revision moves).
                if cached_rev[k] != venue.revision:
                    cached_rev[k] = venue.revision
                    cached_next[k] = j = venue.next_bar(symbol)
                    if j is not None:
                        cached_time[k] = int(bar_ts[k][j])
                j = cached_next[k]
                if j is not None:
                    t = cached_time[k]
                    if best_time is None or t < best_time:
                        best_time, best = t, (3, k, j)
            feed_best = -1
            for f, (times, _, rank) in enumerate(feeds):
                p = feed_pointers[f]
                if p < len(times):
                    t = times[p]
                    ahead = rank == 5 and best[0] == 3  # a book update goes before a fill
                    if best_time is None or t < best_time or (t == best_time and ahead):
                        best_time, best, feed_best = t, (rank, -1, 0), f
            # A strategy's timer fires after the closes at its time and before any fill there.
            if timer is not None and (
                best_time is None or timer < best_time or (timer == best_time and best[0] > 1)
            ):
                best_time, best = timer, (4, -1, 0)
            if best_time is None:
                break
            advance(best_time)
            kind, k, index = best
            if kind == 1:
                pointers[k] += 1
                for binding in bindings_by_symbol[symbols[k]]:
                    if index >= binding.start:
                        on_bar_close(binding, index)
                done += 1
                if progress is not None and done % 2048 == 0:
                    progress(done, total)
                continue
            if kind == 4:
                node.on_timer(best_time)
                continue
            if kind in (5, 6):
                self._feed(feeds[feed_best][1], kind, feed_pointers[feed_best])
                feed_pointers[feed_best] += 1
                continue
            if kind == 0:
                node.on_breaker(best_time)
                continue
            symbol = symbols[k]
            if kind == 2:
                node.on_protective(symbol)
            else:
                node.now = best_time  # the open time of bar ``index``: its events are booked then
                node.on_venue_events(venue.process_bar(symbol, index), best_time)
        if progress is not None:
            progress(total, total)

    def _run_one(
        self,
        symbol: str,
        bindings: list[Binding],
        closes: list[int],
        close_times: list[int],
        progress: ProgressCallback | None,
        total: int,
    ) -> None:
        """The loop of :meth:`_run` for the common case, one symbol with no breakers, protective
        exits or extra feeds: the same order of events (a close first, then a timer due at that
        time, then a fill at a bar's open), with three candidates instead of six kinds."""
        node, venue = self.node, self.venue
        next_timer, on_bar_close = node.next_timer, node.on_bar_close
        advance = self.clock.advance_to
        bar_ts = bindings[0].bars.ts
        count = len(closes)
        p = done = 0
        revision = -1
        fill_bar: int | None = None
        fill_time = 0
        while True:
            # The venue's answer only changes when its state does (its revision moves).
            if revision != venue.revision:
                revision = venue.revision
                fill_bar = venue.next_bar(symbol)
                if fill_bar is not None:
                    fill_time = int(bar_ts[fill_bar])
            timer = next_timer()
            if p < count:
                at = close_times[p]
                if (fill_bar is None or at <= fill_time) and (timer is None or at <= timer):
                    advance(at)
                    index = closes[p]
                    p += 1
                    for binding in bindings:
                        if index >= binding.start:
                            on_bar_close(binding, index)
                    done += 1
                    if progress is not None and done % 2048 == 0:
                        progress(done, total)
                    continue
            if timer is not None and (fill_bar is None or timer <= fill_time):
                advance(timer)
                node.on_timer(timer)
            elif fill_bar is not None:
                advance(fill_time)
                node.now = fill_time
                node.on_venue_events(venue.process_bar(symbol, fill_bar), fill_time)
            else:
                break
        if progress is not None:
            progress(total, total)

    def _feed(self, symbol: str, kind: int, i: int) -> None:
        if kind == 5:
            stream, book = self.books[symbol]
            status = book.apply_message(stream, i)
            if status is UpdateStatus.RESYNC_NEEDED:
                log.warning("%s book needs a resync: %s", symbol, book.resync_reason)
            self.node.on_book(symbol, book)
            self.venue.revision += 1  # a book-walk fill price may have changed
            return
        self.node.on_trade(symbol, self.trades[symbol].trade(i))
