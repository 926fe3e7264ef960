"""Faults of a whole venue: outage, stall and price divergence, scheduled or random.

Where :mod:`.faults` spoils single requests and messages, these hit one venue of several:

- ``VENUE_OUTAGE``: the venue is down. REST answers its maintenance error (Binance ``-1008``
  HTTP 503, Bybit ``10016``) and every socket is closed (1001); it comes back after
  ``duration_s``.
- ``VENUE_STALL``: the venue freezes. Requests hang until the stall ends (a client with a shorter
  timeout sees a timeout), sockets stay open but silent.
- ``PRICE_DIVERGENCE``: the venue's recorded books move ``divergence_bps`` away (whole ticks, see
  :class:`~.venue_skew.SkewedBook`; books derived from candles too, see
  :class:`~.candle_flow.CandleFlow`) for ``duration_s``: a real cross-venue gap for arbitrage and
  failover to see, then the venue converges again.

A :class:`VenueFault` fires at ``at_s`` seconds after the chaos starts (scheduled) or at random
with ``probability_per_s``: a Poisson process of that rate, drawn from the venue's seed, whose
next start comes an exponential wait after the previous one ended. The whole timeline is a pure
function of the seed, the venue's name and its faults (:meth:`VenueChaos.schedule`), not of how
fast the machine runs: the same seed gives the same faults at the same planned times, and a test
can read the plan before it runs. At most one fault of a kind is active at a time: a start that
falls inside an active fault of its kind is dropped from the plan. Each start (with its planned
time) and end is written to the venue's fault log (:meth:`~.faults.FaultPlan.log_fault`, path
``venue:<name>``) and logged like every other injected fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tradewind.exchange_sim.candle_flow import CandleFlow
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.faults import VENUE_KINDS, FaultKind
from tradewind.exchange_sim.venue_skew import SkewedBook

_log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class VenueFault:
    """One venue fault, by schedule (``at_s``) or at random (``probability_per_s``).

    ``probability_per_s`` is the chance of a start in each second while no fault of the kind is
    active: the rate of the Poisson process the starts are drawn from (0.02: one start every 50 s
    on average, after the last one ended).
    """

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
        rate = self.probability_per_s
        if rate is not None and not (rate >= 0 and math.isfinite(rate)):
            raise ValueError("probability_per_s is a rate per second: finite and >= 0")


@dataclass(frozen=True)
class PlannedFault:
    """One start of a venue fault in a venue's timeline: ``at_s`` after the chaos started."""

    at_s: float
    fault: VenueFault


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
        self.seed = seed
        self.close_sockets = close_sockets or (lambda: sim.hub.close_all(1001))
        self.active: dict[FaultKind, asyncio.TimerHandle] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        """The fault-log path of this venue."""
        return f"venue:{self.name}"

    def timeline(self) -> Iterator[PlannedFault]:
        """Yield the venue's fault starts in time order (endless when one is random)."""
        starts = heapq.merge(*(self._starts(i, f) for i, f in enumerate(self.faults)))
        busy_until: dict[FaultKind, float] = {}
        for at_s, i in starts:
            fault = self.faults[i]
            if at_s < busy_until.get(fault.kind, 0.0):
                continue  # one fault of a kind at a time
            busy_until[fault.kind] = at_s + fault.duration_s
            yield PlannedFault(at_s, fault)

    def _starts(self, i: int, fault: VenueFault) -> Iterator[tuple[float, int]]:
        if fault.at_s is not None:
            yield fault.at_s, i
            return
        rate = fault.probability_per_s or 0.0
        if rate <= 0:
            return
        # Each fault draws from its own generator, so adding one leaves the others' plans alone.
        rng = random.Random(f"venue-chaos:{self.seed}:{self.name}:{i}")
        at_s = 0.0
        while True:
            at_s += rng.expovariate(rate)
            yield at_s, i
            at_s += fault.duration_s

    def schedule(self, horizon_s: float) -> list[PlannedFault]:
        """Return the fault starts planned in the first ``horizon_s`` seconds."""
        return list(itertools.takewhile(lambda p: p.at_s < horizon_s, self.timeline()))

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
        for planned in self.timeline():
            wait = started + planned.at_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.begin(planned.fault, planned_s=planned.at_s)

    def begin(self, fault: VenueFault, *, planned_s: float | None = None) -> None:
        """Start ``fault`` now for ``duration_s`` (replacing an active one of its kind)."""
        kind = fault.kind
        previous = self.active.pop(kind, None)
        if previous is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        self.active[kind] = loop.call_later(fault.duration_s, self._end, kind)
        detail = f"start, {fault.duration_s:g} s"
        if kind is FaultKind.VENUE_OUTAGE:
            self.sim.maintenance = True
            self.close_sockets()
        elif kind is FaultKind.VENUE_STALL:
            self.sim.held_until = time.monotonic() + fault.duration_s
            for conn in list(self.sim.hub.connections):
                conn.stall(fault.duration_s)
        else:
            for book in self._books():
                book.divergence_ticks = book.ticks(fault.divergence_bps)
            detail += f", {fault.divergence_bps:g} bps"
        if planned_s is not None:
            detail += f", planned at {planned_s:.3f} s"
        self.sim.faults.log_fault(kind, self.path, self.sim.clock(), detail)
        _log.info("injected %s into venue %s (%s)", kind, self.name, detail)

    def _end(self, kind: FaultKind) -> None:
        timer = self.active.pop(kind, None)
        if timer is not None:
            timer.cancel()
        if kind is FaultKind.VENUE_OUTAGE:
            self.sim.maintenance = False
        elif kind is FaultKind.VENUE_STALL:
            self.sim.held_until = 0.0
        else:
            for book in self._books():
                book.divergence_ticks = 0
        self.sim.faults.log_fault(kind, self.path, self.sim.clock(), "end")
        _log.info("venue %s recovered from %s", self.name, kind)

    def _books(self) -> list[SkewedBook | CandleFlow]:
        markets = self.sim.all_markets()
        return [m.replay for m in markets if isinstance(m.replay, SkewedBook | CandleFlow)]
