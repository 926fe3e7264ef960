"""A shared request-weight budget for the REST calls streams make on their own (book snapshots,
backfills), so that many streams healing at once cannot earn a 429.

A token bucket in request weight: ``capacity`` tokens at most, refilled at ``per_second``.
:meth:`RateBudget.acquire` waits until the weight is available; waiters are served first come,
first served, and consecutive grants are at least ``spacing_s`` apart, so 20 books that lose a
diff in the same instant fetch their snapshots one after another instead of in one burst.

Choose ``capacity + 60 * per_second`` below the exchange's per-minute weight limit minus what the
rest of the bot uses: then no minute window can be exceeded by these calls, whatever happens. The
default (capacity 600, 20 per second: at most 1,800 a minute) leaves Binance's 6,000 for the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateBudget:
    """Token bucket in request weight, shared by every stream of one exchange connection.

    Parameters
    ----------
    capacity
        Most weight granted in a burst.
    per_second
        Weight refilled per second.
    spacing_s
        Least time between two grants.
    monotonic
        Seconds from a monotonic clock.

    Raises
    ------
    ValueError
        For a non-positive capacity or rate, or a negative spacing.
    """

    def __init__(
        self,
        capacity: float = 600.0,
        per_second: float = 20.0,
        *,
        spacing_s: float = 0.05,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not capacity > 0 or not per_second > 0 or spacing_s < 0:
            raise ValueError(
                f"a rate budget needs capacity > 0, per_second > 0 and spacing_s >= 0, got "
                f"{capacity}, {per_second}, {spacing_s}"
            )
        self.capacity = capacity
        self.per_second = per_second
        self.spacing_s = spacing_s
        self._now = monotonic
        self._tokens = capacity
        self._stamp = monotonic()
        self._last_grant = -float("inf")
        self._lock = asyncio.Lock()
        self.granted = 0
        self.waited_s = 0.0

    def _refill(self) -> None:
        now = self._now()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.per_second)
        self._stamp = now

    def delay_s(self, weight: float) -> float:
        """Return how long a request of ``weight`` would wait now (0 when it could go at once)."""
        self._refill()
        short = max(0.0, weight - self._tokens) / self.per_second
        spaced = max(0.0, self._last_grant + self.spacing_s - self._now())
        return max(short, spaced)

    async def acquire(self, weight: float) -> None:
        """Wait until ``weight`` may be spent, then spend it.

        Raises
        ------
        ValueError
            For a weight above the capacity (it could never be granted).
        """
        if weight > self.capacity:
            raise ValueError(
                f"request weight {weight} exceeds the budget's capacity {self.capacity}"
            )
        async with self._lock:
            started = self._now()
            while (wait := self.delay_s(weight)) > 0:
                await asyncio.sleep(wait)
            self._tokens -= weight
            self._last_grant = self._now()
            self.granted += 1
            self.waited_s += self._last_grant - started
