"""The random venue-fault schedule: seeded, reproducible, one fault of a kind at a time, and run
as planned (outage, stall and divergence switched on and off at their planned times)."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest

from tradewind.exchange_sim import FaultKind, SimExchange
from tradewind.exchange_sim.venue_chaos import PlannedFault, VenueChaos, VenueFault

OUTAGE, STALL, DIVERGE = FaultKind.VENUE_OUTAGE, FaultKind.VENUE_STALL, FaultKind.PRICE_DIVERGENCE


def _random(rate: float, duration: float) -> list[VenueFault]:
    return [
        VenueFault(kind=OUTAGE, probability_per_s=rate, duration_s=duration),
        VenueFault(kind=STALL, probability_per_s=rate, duration_s=duration),
        VenueFault(kind=DIVERGE, probability_per_s=rate, duration_s=duration, divergence_bps=30),
    ]


def _plan(seed: int, name: str = "bybit", faults: list[VenueFault] | None = None) -> list[Any]:
    chaos = VenueChaos(name, SimExchange(), faults or _random(0.1, 2.0), seed=seed)
    return [(p.at_s, p.fault.kind) for p in chaos.schedule(600.0)]


def test_the_same_seed_plans_the_same_faults_and_another_seed_others() -> None:
    plan = _plan(7)
    assert plan == _plan(7)
    assert plan != _plan(8)
    assert plan != _plan(7, name="binance2")  # each venue of one run draws its own
    assert [at for at, _ in plan] == sorted(at for at, _ in plan)
    assert {kind for _, kind in plan} == {OUTAGE, STALL, DIVERGE}
    # A Poisson start every 10 s on average, after each 2 s fault: about 50 per kind in 600 s.
    for kind in (OUTAGE, STALL, DIVERGE):
        assert 25 <= sum(1 for _, k in plan if k is kind) <= 80, kind


def test_adding_a_fault_leaves_the_others_plans_alone() -> None:
    base = _random(0.1, 2.0)
    extra = [*base, VenueFault(kind=OUTAGE, at_s=1000.0, duration_s=1.0)]
    assert _plan(3, faults=extra) == _plan(3, faults=base)


def test_one_fault_of_a_kind_at_a_time() -> None:
    # Two random outages (and a scheduled one) overlap often; the plan keeps them apart.
    faults = [
        VenueFault(kind=OUTAGE, probability_per_s=0.5, duration_s=3.0),
        VenueFault(kind=OUTAGE, probability_per_s=0.5, duration_s=1.0),
        VenueFault(kind=OUTAGE, at_s=5.0, duration_s=2.0),
    ]
    chaos = VenueChaos("binance", SimExchange(), faults, seed=1)
    plan = chaos.schedule(300.0)
    assert len(plan) > 50
    for first, second in itertools.pairwise(plan):
        assert second.at_s >= first.at_s + first.fault.duration_s
    assert chaos.schedule(300.0) == plan


def test_a_fault_without_chance_never_fires() -> None:
    chaos = VenueChaos("b", SimExchange(), [VenueFault(kind=STALL, probability_per_s=0.0)])
    assert chaos.schedule(10_000.0) == []
    with pytest.raises(ValueError, match="exactly one"):
        VenueFault(kind=STALL, at_s=1.0, probability_per_s=0.1)


async def test_the_chaos_runs_its_plan_and_ends_every_fault() -> None:
    sim = SimExchange()
    chaos = VenueChaos("binance", sim, _random(2.0, 0.15), seed=5)
    planned: list[PlannedFault] = chaos.schedule(1.5)
    assert {p.fault.kind for p in planned} == {OUTAGE, STALL, DIVERGE}
    seen_down = seen_held = False
    chaos.start()
    started = time.monotonic()
    while time.monotonic() - started < 1.5:
        seen_down = seen_down or sim.maintenance
        seen_held = seen_held or sim.held_until > time.monotonic()
        await asyncio.sleep(0.01)
    await chaos.stop()
    assert seen_down
    assert seen_held
    assert not sim.maintenance
    assert sim.held_until == 0.0
    starts = [r for r in sim.faults.injected() if r.detail.startswith("start")]
    # The run follows the plan: the same kinds at the same planned times, in order.
    logged = [(r.kind, r.detail.rsplit("planned at ", 1)[1]) for r in starts]
    expected = [(p.fault.kind, f"{p.at_s:.3f} s") for p in planned]
    assert logged == expected[: len(logged)]
    assert len(logged) >= len(expected) - 1  # the last one may fall just past the window
    ends = sim.faults.injected()
    assert sum(r.detail == "end" for r in ends) == len(starts)  # every fault ended
    assert all(r.path == "venue:binance" for r in ends)
