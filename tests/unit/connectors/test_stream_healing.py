"""Reconnect backoff, the stream watchdog and the REST weight budget."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from tradewind.connectors.backoff import Backoff
from tradewind.connectors.rate_budget import RateBudget
from tradewind.connectors.watchdog import Watchdog, allowance_s


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(base_s=0.1, factor=2.0, cap_s=3.0, jitter=0.5, seed=1)
    delays = [backoff.next_delay_s() for _ in range(12)]
    for n, delay in enumerate(delays):
        raw = min(3.0, 0.1 * 2**n)
        assert raw * 0.5 <= delay <= raw
    assert max(delays) <= 3.0
    assert len(set(delays)) == len(delays)  # jittered: no two alike
    backoff.reset()
    assert backoff.next_delay_s() <= 0.1


def test_backoff_is_seeded_and_refuses_nonsense() -> None:
    a = [Backoff(seed=5).next_delay_s() for _ in range(3)]
    b = [Backoff(seed=5).next_delay_s() for _ in range(3)]
    assert a == b
    with pytest.raises(ValueError, match="factor"):
        Backoff(factor=500.0)
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=2.0)


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_watchdog_allows_three_intervals_or_ten_seconds() -> None:
    assert allowance_s(0.1) == 10.0
    assert allowance_s(2.0) == 10.0
    assert allowance_s(5.0) == 15.0
    clock = _Clock()
    dog = Watchdog(clock)
    dog.watch("kline", 2.0)
    dog.watch("mark", 5.0)
    clock.t += 9.9
    assert dog.overdue() == []
    clock.t += 0.2
    ((name, silent, first),) = dog.overdue()
    assert (name, first) == ("kline", True)
    assert silent == pytest.approx(10.1)
    assert dog.is_stale("kline")
    assert dog.stale() == ["kline"]
    # Still silent a full allowance later: returned again, not as the first time.
    clock.t += 10.1
    assert [(n, f) for n, _, f in dog.overdue()] == [("kline", False), ("mark", True)]
    assert dog.seen("kline") is True  # it was stale: fresh again
    assert dog.seen("kline") is False
    assert not dog.is_stale("kline")


async def test_budget_staggers_simultaneous_requests() -> None:
    budget = RateBudget(capacity=100, per_second=1000, spacing_s=0.01)
    stamps: list[float] = []

    async def one() -> None:
        await budget.acquire(5)
        stamps.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(20)))
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) == 20
    assert budget.granted == 20
    assert min(gaps) >= 0.009


async def test_budget_waits_for_refill_beyond_its_capacity() -> None:
    budget = RateBudget(capacity=10, per_second=100, spacing_s=0.0)
    started = time.monotonic()
    for _ in range(3):
        await budget.acquire(10)  # 10 at once, then 10 more after 0.1 s, twice
    assert time.monotonic() - started >= 0.19
    with pytest.raises(ValueError, match="capacity"):
        await budget.acquire(11)
