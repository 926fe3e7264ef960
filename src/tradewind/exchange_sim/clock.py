"""The simulator's clock: replay time that runs at a speed factor over the wall clock.

The exchange's time (``/api/v3/time``, ``serverTime``, event times ``E``/``T``, order times) is the
*replay clock*. It starts at the wall clock's "now" (recordings are re-based to it) and then runs
``speed`` times faster than the wall clock: 1 is real time, 10 replays ten recorded seconds per
second. ``speed=math.inf`` ("as fast as possible") does not follow the wall clock at all: the
replay driver moves it forward to each next recorded step without sleeping.

Signed requests are checked against the *wall* clock, not the replay clock: a client stamps
``timestamp`` from its own machine clock, and at a speed other than 1 no client could keep a
signature inside ``recvWindow`` of a clock that runs faster than its own. At speed 1 the two clocks
agree, which is how the real exchange behaves.
"""

from __future__ import annotations

import math
import time


def wall_ms() -> int:
    """Return milliseconds since the epoch from the machine's clock."""
    return time.time_ns() // 1_000_000


class SimClock:
    """Replay time in milliseconds.

    Parameters
    ----------
    speed
        Replay seconds per wall second (> 0); ``math.inf`` runs as fast as possible.
    start_ms
        Replay time at construction; the wall clock's now by default.

    Raises
    ------
    ValueError
        For a speed that is not positive.
    """

    def __init__(self, speed: float = 1.0, start_ms: int | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"replay speed must be positive (or inf), got {speed}")
        self.speed = speed
        self._wall0 = time.perf_counter()
        self._start = wall_ms() if start_ms is None else start_ms
        self._manual = self._start

    @property
    def as_fast_as_possible(self) -> bool:
        """Tell whether the clock is moved by the replay instead of by the wall clock."""
        return math.isinf(self.speed)

    def __call__(self) -> int:
        """Return the replay time now, in ms."""
        if math.isinf(self.speed):
            return self._manual
        elapsed = time.perf_counter() - self._wall0
        return self._start + int(elapsed * 1000.0 * self.speed)

    def advance_to(self, t_ms: int) -> None:
        """Move an as-fast-as-possible clock forward to ``t_ms`` (never backwards)."""
        self._manual = max(self._manual, t_ms)

    def wall_delay_s(self, t_ms: int) -> float:
        """Return the wall seconds until replay time ``t_ms`` (0 when due or as fast as possible)."""
        if math.isinf(self.speed):
            return 0.0
        return max(0.0, (t_ms - self()) / 1000.0 / self.speed)
