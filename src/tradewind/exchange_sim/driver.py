"""The replay driver: applies every market's replay steps when the replay clock reaches them.

One asyncio task per running server. It puts every recording on the server clock
(:meth:`~.exchange.SimExchange.anchor`, see :mod:`.timeline`), starts each market's source where
its timeline puts the replay clock (catching up at once on the steps due before), keeps a heap of
the next due step per market, sleeps until the earliest is due (``wall delay = replay delay /
speed``), applies it through the matching engine, publishes what changed (book, trades, the
served candles) and notes on the market the server time that step was due. With ``speed=inf``
it does not sleep: it moves the clock to each step and yields to the event loop between steps so
requests are still served.

It settles USDT-M funding (:mod:`.funding`) whenever the replay clock passes a funding time, and
it closes WebSocket connections older than the hub's maximum age (Binance's 24 hours,
configurable for tests) once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Iterator

from tradewind.exchange_sim import tickers
from tradewind.exchange_sim.clock import SimClock
from tradewind.exchange_sim.engine import LiveMarket
from tradewind.exchange_sim.exchange import FUNDING_PERIOD_MS, SimExchange
from tradewind.exchange_sim.faults import FaultKind
from tradewind.exchange_sim.funding import next_funding_ms, settle_funding
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.replay import ReplayStep

_log = logging.getLogger(__name__)


# The longest the replay may hold the event loop while it catches up with its clock.
_MAX_BUSY_S = 0.005


class ReplayDriver:
    """Drive the replay of every tradable market of ``sim``.

    Parameters
    ----------
    sim
        The exchange.
    max_connection_s
        WebSocket connections older than this are closed with 1001 (24 hours by default).
    """

    def __init__(self, sim: SimExchange, max_connection_s: float = 86_400.0) -> None:
        self.sim = sim
        self.max_connection_s = max_connection_s
        self.steps_applied = 0
        self.funding_settled = 0
        self._next_funding = 0
        self._task: asyncio.Task[None] | None = None
        self._tickers_sent: dict[tuple[bool, str], int] = {}
        self.ready = asyncio.Event()
        """Set once the replay has caught up with the clock it started at (every book there)."""

    def start(self) -> None:
        """Start the replay task on the running loop."""
        self.ready.clear()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="replay")

    async def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Wait until the replay has caught up with its start (or its task ended)."""
        if self._task is None:
            return
        ready = asyncio.ensure_future(self.ready.wait())
        done, _ = await asyncio.wait({ready, self._task}, timeout=timeout_s,
                                     return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if ready not in done:
            ready.cancel()
            _log.warning("the replay had not caught up %g s after it started", timeout_s)

    async def stop(self) -> None:
        """Stop the replay task."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _sources(self, start_ms: int) -> list[tuple[LiveMarket, int, Iterator[ReplayStep]]]:
        """Return each market's live market, the server time of its step offset 0, and steps.

        A market with a timeline starts where the timeline puts the replay clock; steps due
        before ``start_ms`` (the catch-up to that point) are applied at once.
        """
        out = []
        for market in self.sim.all_markets():
            live = self.sim.live(market.listing.api, market.listing.symbol)
            source = self.sim.replay_source(market)
            if live is None or source is None:
                continue
            tl = market.timeline
            if tl is None:
                out.append((live, start_ms, source.steps_from(0)))
                continue
            zero = tl.offset_ms + source.origin_ms
            out.append((live, zero, source.steps_from(start_ms - zero)))
        return out

    async def _run(self) -> None:
        sim = self.sim
        clock = sim.clock
        start_ms = clock()
        sim.anchor(start_ms if sim.anchor_ms is None else sim.anchor_ms)
        order = itertools.count()
        heap: list[tuple[int, int, ReplayStep, LiveMarket, int, Iterator[ReplayStep]]] = []
        for live, zero, it in self._sources(start_ms):
            step = next(it)
            heapq.heappush(heap, (zero + step.offset_ms, next(order), step, live, zero, it))
        fast = isinstance(clock, SimClock) and clock.as_fast_as_possible
        last_age_check = last_yield = time.monotonic()
        self._next_funding = next_funding_ms(start_ms)
        try:
            while heap:
                self._settle_due_funding()
                due, _, step, live, zero, it = heap[0]
                if due > start_ms:
                    self.ready.set()
                if fast:
                    assert isinstance(clock, SimClock)
                    clock.advance_to(due)
                    await asyncio.sleep(0)
                else:
                    delay = (
                        clock.wall_delay_s(due)
                        if isinstance(clock, SimClock)
                        else max(0.0, (due - clock()) / 1000.0)
                    )
                    if delay > 0:
                        await asyncio.sleep(min(delay, 1.0))
                        if time.monotonic() - last_age_check >= 1.0:
                            last_age_check = time.monotonic()
                            self._every_second()
                        continue
                heapq.heappop(heap)
                try:
                    sim.engine.apply_step(live, step, due)
                    live.replayed_ms = due
                    sim.hub.candle_tick(live)
                    tickers.publish(sim, live, self._tickers_sent)
                except Exception:
                    _log.exception("replay step of %s failed", live.symbol)
                self.steps_applied += 1
                nxt = next(it)
                heapq.heappush(heap, (zero + nxt.offset_ms, next(order), nxt, live, zero, it))
                if time.monotonic() - last_yield >= _MAX_BUSY_S:
                    # A replay running behind its clock has a step due at once, every time: without
                    # this it would never give the loop back and the server would stop answering.
                    await asyncio.sleep(0)
                    last_yield = time.monotonic()
                if time.monotonic() - last_age_check >= 1.0:
                    last_age_check = time.monotonic()
                    self._every_second()
            self.ready.set()
            while True:
                await asyncio.sleep(1.0)
                self._settle_due_funding()
                self._every_second()
        except asyncio.CancelledError:
            raise

    def _settle_due_funding(self) -> None:
        # Checked at least once per wall second (the loop never sleeps longer), so a funding
        # time is settled within a second of the replay clock passing it, at its own time stamp.
        now = self.sim.clock()
        while now >= self._next_funding:
            try:
                settle_funding(self.sim, self._next_funding)
            except Exception:
                _log.exception("funding at %d failed", self._next_funding)
            self.funding_settled += 1
            self._next_funding += FUNDING_PERIOD_MS

    def _every_second(self) -> None:
        self._close_old_connections()
        # Tickers go out every second even where the book holds still (Binance: every 1000 ms).
        for live in self.sim.engine.markets.values():
            tickers.publish(self.sim, live, self._tickers_sent)

    def _close_old_connections(self) -> None:
        now = time.monotonic()
        hub = self.sim.hub
        for conn in list(hub.connections):
            if now - conn.opened > self.max_connection_s and not conn.closed:
                self.sim.faults.log_fault(
                    FaultKind.FORCED_DISCONNECT, f"ws:{conn.kind}", self.sim.clock(), "max age"
                )
                conn.close(1001)


def live_markets(sim: SimExchange, api: Api) -> list[LiveMarket]:
    """Return the live markets of ``api`` (for the health endpoint)."""
    return [m for (futures, _), m in sim.engine.markets.items() if futures == (api is Api.USDM)]
