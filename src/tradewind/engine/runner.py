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

from collections.abc import Callable

import numpy as np

from tradewind.core.ports import BarDrivenVenue
from tradewind.engine.node import Binding, Node

ProgressCallback = Callable[[int, int], None]


class BacktestRunner:
    """Drive ``node`` with the bars of its bindings and a bar-driven venue."""

    def __init__(self, node: Node, venue: BarDrivenVenue) -> None:
        self.node = node
        self.venue = venue

    def run(self, progress: ProgressCallback | None = None) -> None:
        """Run to the end of the data. ``progress(done, total)`` is called now and then."""
        bindings_by_symbol: dict[str, list[Binding]] = {}
        for binding in self.node.bindings:
            bindings_by_symbol.setdefault(binding.symbol, []).append(binding)
        symbols = list(bindings_by_symbol)
        close_bars: list[np.ndarray] = []
        close_times: list[np.ndarray] = []
        for symbol in symbols:
            indices = np.unique(
                np.concatenate([b.signal_bars() for b in bindings_by_symbol[symbol]])
            )
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
        protective = self.node.protection is not None
        breakers = self.node.observer is not None
        while True:
            # Candidates as (time, priority): at equal times the breakers trip first (equity at a
            # close is known at that close), then the close's signals, then protective exits at
            # the next bar's open (after a signal exit sent at the close, which fills first),
            # then the venue's fills.
            best_time: int | None = None
            best = (-1, -1, 0)  # (priority, symbol position, bar index)
            if breakers:
                t = self.node.next_breaker()
                if t is not None:
                    best_time, best = t, (0, -1, 0)
            timer = self.node.next_timer()
            for k, symbol in enumerate(symbols):
                p = pointers[k]
                if p < len(close_list[k]):
                    t = close_time_list[k][p]
                    if best_time is None or t < best_time or (t == best_time and best[0] > 1):
                        best_time, best = t, (1, k, close_list[k][p])
                if protective:
                    t = self.node.next_protective(symbol)
                    if t is not None and (
                        best_time is None or t < best_time or (t == best_time and best[0] > 2)
                    ):
                        best_time, best = t, (2, k, 0)
                # The venue's answer only changes when its state does (its revision moves).
                if cached_rev[k] != self.venue.revision:
                    cached_rev[k] = self.venue.revision
                    cached_next[k] = self.venue.next_bar(symbol)
                j = cached_next[k]
                if j is not None:
                    t = int(bar_ts[k][j])
                    if best_time is None or t < best_time:
                        best_time, best = t, (3, k, j)
            # A strategy's timer fires after the closes at its time and before any fill there.
            if timer is not None and (
                best_time is None or timer < best_time or (timer == best_time and best[0] > 1)
            ):
                best_time, best = timer, (4, -1, 0)
            if best_time is None:
                break
            kind, k, index = best
            if kind == 4:
                self.node.on_timer(best_time)
                continue
            if kind == 0:
                self.node.on_breaker(best_time)
                continue
            symbol = symbols[k]
            if kind == 1:
                pointers[k] += 1
                for binding in bindings_by_symbol[symbol]:
                    if index >= binding.start:
                        self.node.on_bar_close(binding, index)
                done += 1
                if progress is not None and done % 2048 == 0:
                    progress(done, total)
            elif kind == 2:
                self.node.on_protective(symbol)
            else:
                self.node.now = best_time
                self.node.on_venue_events(self.venue.process_bar(symbol, index), index)
        if progress is not None:
            progress(total, total)
