"""The exchange's clock, as this machine can know it: a measured offset from the local clock.

A live session decides on exchange time (bar closes, timers, time stops), and signed requests are
refused when their timestamp strays more than ``recvWindow`` from the exchange's. So the session
measures the exchange's time (``GET /api/v3/time``) several times, keeps the sample with the
shortest round trip and takes the exchange's stamp as taken at the round trip's midpoint (the
NTP rule; the error is at most half that round trip). It re-measures periodically and after every
reconnect.

Between measurements the clock runs on this machine's monotonic clock, so it advances without any
message: timers, time stops and the watchdog fire during an outage. ``rate`` is exchange seconds
per local second: 1 for a real exchange; for the exchange simulator replaying at speed S, S (its
clock is its published epoch plus S x the wall time elapsed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

_log = logging.getLogger(__name__)


def wall_ms() -> int:
    """Return this machine's clock in ms since the epoch."""
    return time.time_ns() // 1_000_000


class ExchangeClock:
    """Exchange time in ms, from a measured anchor and the local monotonic clock.

    Parameters
    ----------
    fetch_time
        Returns the exchange's time in ms (``client.fetch_time``).
    rate
        Exchange ms per local ms (the simulator's replay speed; 1 for a real exchange).
    recv_window_ms
        The signed-request window; an offset beyond half of it raises an alert.
    samples
        Round trips per measurement (the shortest is kept).
    wall, monotonic
        This machine's clocks (ms since the epoch; seconds, monotonic).

    Raises
    ------
    ValueError
        For a rate that is not positive or fewer than one sample.
    """

    def __init__(
        self,
        fetch_time: Callable[[], Awaitable[int]],
        *,
        rate: float = 1.0,
        recv_window_ms: int = 10_000,
        samples: int = 3,
        wall: Callable[[], int] = wall_ms,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not rate > 0 or samples < 1:
            raise ValueError(
                f"an exchange clock needs rate > 0 and samples >= 1, got {rate}, {samples}"
            )
        self._fetch = fetch_time
        self.rate = rate
        self.recv_window_ms = recv_window_ms
        self.samples = samples
        self._wall = wall
        self._mono = monotonic
        self._anchor_exchange: float | None = None
        self._anchor_mono = 0.0
        self.rtt_ms: float | None = None
        self.measurements = 0

    @property
    def measured(self) -> bool:
        """Tell whether the clock has been measured at least once."""
        return self._anchor_exchange is not None

    async def measure(self) -> float:
        """Measure the exchange's time; return the round trip (ms) of the sample kept."""
        best: tuple[float, float, float] | None = None
        for _ in range(self.samples):
            sent = self._mono()
            stamp = float(await self._fetch())
            back = self._mono()
            rtt = (back - sent) * 1000.0
            if best is None or rtt < best[0]:
                best = (rtt, stamp, (sent + back) / 2.0)
        assert best is not None
        self.rtt_ms, self._anchor_exchange, self._anchor_mono = best
        self.measurements += 1
        return best[0]

    def now(self) -> int:
        """Return the exchange's time now, in ms.

        Raises
        ------
        RuntimeError
            Before the first :meth:`measure`.
        """
        if self._anchor_exchange is None:
            raise RuntimeError("the exchange clock has not been measured yet")
        elapsed_ms = (self._mono() - self._anchor_mono) * 1000.0
        return int(self._anchor_exchange + self.rate * elapsed_ms)

    @property
    def offset_ms(self) -> int:
        """Exchange time minus this machine's wall clock, in ms."""
        return self.now() - self._wall()

    def offset_too_large(self) -> bool:
        """Tell whether signed requests stamped with this machine's clock would be refused
        (offset beyond half the recvWindow; only meaningful at rate 1)."""
        return self.rate == 1.0 and abs(self.offset_ms) > self.recv_window_ms / 2

    async def keep_measured(
        self, period_s: float, on_alert: Callable[[str], None] | None = None
    ) -> None:
        """Re-measure every ``period_s`` seconds until cancelled; report a large offset."""
        while True:
            try:
                await self.measure()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Keep running on the last anchor: the monotonic clock carries it.
                _log.warning("exchange time measurement failed: %s", exc)
            else:
                if on_alert is not None and self.offset_too_large():
                    on_alert(
                        f"exchange clock is {self.offset_ms} ms from this machine's "
                        f"(more than half the {self.recv_window_ms} ms recvWindow)"
                    )
            await asyncio.sleep(period_s)


def time_of(client: Any) -> Callable[[], Awaitable[int]]:
    """Return a fetcher of ``client``'s exchange time (ccxt's ``fetch_time``)."""

    async def fetch() -> int:
        return int(await client.fetch_time())

    return fetch
