"""Faults of a whole venue: outage, stall and price divergence, scheduled or random.

Where :mod:`.faults` spoils single requests and messages, these hit one venue of several:

- ``VENUE_OUTAGE``: the venue is down. REST answers its maintenance error (Binance ``-1008``
  HTTP 503, Bybit ``10016``) and every socket is closed (1001); it comes back after
  ``duration_s``.
- ``VENUE_STALL``: the venue freezes. Requests hang until the stall ends (a client with a shorter
  timeout sees a timeout), sockets stay open but silent.
- ``PRICE_DIVERGENCE``: the venue's recorded books move ``divergence_bps`` away (whole ticks, see
  :class:`~.venue_skew.SkewedBook`) for ``duration_s``: a real cross-venue gap for arbitrage and
  failover to see, then the venue converges again.

A :class:`VenueFault` fires at ``at_s`` seconds after the chaos starts (scheduled) or, with
``probability_per_s``, at random from the venue's seed (at most one of each kind at a time). Each
start and end is written to the venue's fault log (:meth:`~.faults.FaultPlan.log_fault`, path
``venue:<name>``) and logged like every other injected fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from tradewind.venues.exchange_sim.exchange import SimExchange
from tradewind.venues.exchange_sim.faults import VENUE_KINDS, FaultKind
from tradewind.venues.exchange_sim.venue_skew import SkewedBook

_log = logging.getLogger(__name__)
_TICK_S = 0.05


@dataclass(frozen=True, kw_only=True)
class VenueFault:
    """One venue fault, by schedule (``at_s``) or at random (``probability_per_s``)."""

    kind: FaultKind
    duration_s: float = 5.0
    at_s: float | None = None
    probability_per_s: float | None = None
    divergence_bps: float = 20.0

    def __post_init__(self) -> None:
        if self.kind not in VENUE_KINDS:
            raise ValueError(f"{self.kind} is not a venue fault (one of {sorted(VENUE_KINDS)})")
        if (self.at_s is None) == (self.probability_per_s is None):
            raise ValueError("a venue fault needs exactly one of at_s and probability_per_s")
        if self.duration_s <= 0 or (self.at_s is not None and self.at_s < 0):
            raise ValueError("a venue fault needs duration_s > 0 and at_s >= 0")
        if self.probability_per_s is not None and not 0 <= self.probability_per_s <= 1:
            raise ValueError("probability_per_s must be within [0, 1]")


class VenueChaos:
    """Runs the venue faults of one venue (an asyncio task on the venue's loop).

    Parameters
    ----------
    name
        The venue's name (fault-log path ``venue:<name>``).
    sim
        The venue's exchange.
    faults
        Its venue faults.
    seed
        Seed of the random ones.
    close_sockets
        Closes every socket of the venue (an outage), given by the venue's server.
    """

    def __init__(
        self,
        name: str,
        sim: SimExchange,
        faults: list[VenueFault],
        *,
        seed: int = 0,
        close_sockets: Callable[[], object] | None = None,
    ) -> None:
        self.name = name
        self.sim = sim
        self.faults = faults
        self.rng = random.Random(f"venue-chaos:{seed}:{name}")
        self.close_sockets = close_sockets or (lambda: sim.hub.close_all(1001))
        self.stalled_until = 0.0
        self.active: dict[FaultKind, float] = {}
        self._fired: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        """The fault-log path of this venue."""
        return f"venue:{self.name}"

    def start(self) -> None:
        """Start the task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the task and end every active fault."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for kind in list(self.active):
            self._end(kind)

    async def _run(self) -> None:
        started = time.monotonic()
        while True:
            await asyncio.sleep(_TICK_S)
            now = time.monotonic()
            for kind, until in list(self.active.items()):
                if now >= until:
                    self._end(kind)
            for i, fault in enumerate(self.faults):
                if fault.kind in self.active:
                    continue
                if fault.at_s is not None:
                    due = i not in self._fired and now - started >= fault.at_s
                else:
                    assert fault.probability_per_s is not None
                    due = self.rng.random() < fault.probability_per_s * _TICK_S
                if due:
                    self._fired.add(i)
                    self.begin(fault)

    def begin(self, fault: VenueFault) -> None:
        """Start ``fault`` now (for ``duration_s``)."""
        kind = fault.kind
        self.active[kind] = time.monotonic() + fault.duration_s
        detail = f"start, {fault.duration_s:g} s"
        if kind is FaultKind.VENUE_OUTAGE:
            self.sim.maintenance = True
            self.close_sockets()
        elif kind is FaultKind.VENUE_STALL:
            self.stalled_until = time.monotonic() + fault.duration_s
            for conn in list(self.sim.hub.connections):
                conn.stall(fault.duration_s)
        else:
            for book in self._books():
                book.divergence_ticks = book.ticks(fault.divergence_bps)
            detail += f", {fault.divergence_bps:g} bps"
        self.sim.faults.log_fault(kind, self.path, self.sim.clock(), detail)
        _log.info("injected %s into venue %s (%s)", kind, self.name, detail)

    def _end(self, kind: FaultKind) -> None:
        self.active.pop(kind, None)
        if kind is FaultKind.VENUE_OUTAGE:
            self.sim.maintenance = False
        elif kind is FaultKind.VENUE_STALL:
            self.stalled_until = 0.0
        else:
            for book in self._books():
                book.divergence_ticks = 0
        self.sim.faults.log_fault(kind, self.path, self.sim.clock(), "end")
        _log.info("venue %s recovered from %s", self.name, kind)

    def _books(self) -> list[SkewedBook]:
        return [m.replay for m in self.sim.all_markets() if isinstance(m.replay, SkewedBook)]

    def middleware(self) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
        """Return the middleware that holds requests while the venue is stalled."""

        @web.middleware
        async def hold(request: web.Request, handler: Handler) -> web.StreamResponse:
            wait = self.stalled_until - time.monotonic()
            if wait > 0 and request.path != "/health":
                await asyncio.sleep(wait)
            return await handler(request)

        return hold
