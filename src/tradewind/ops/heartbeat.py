"""The dead man's switch: a beat to a configured URL only while the bot makes progress.

The heartbeat runs as a task on the trading loop, so a blocked loop (or a stopped process) sends
nothing by construction. On top of that it beats only when the Node has made progress (its
``progress`` counter moved) within ``max_silence_s``: a loop that spins while the Node is stuck
(no bar, no event) is not alive for the operator either. The monitoring service on the other end
raises the alarm when the beats stop.

Each beat carries the audit chain's head (``audit_rows`` and ``audit_hmac`` query parameters):
the monitor keeps a copy of the chain's progress off the machine, so rows cut from the end of the
chain later cannot go unnoticed even if the database and its head row are rewritten together.

It also measures the loop's lag (how late each wake-up is), which ``/health`` reports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from tradewind.persistence.audit import ChainHead

__all__ = ["Heartbeat", "LoopLag"]

_log = logging.getLogger(__name__)


@dataclass
class LoopLag:
    """Recent wake-up delays of the event loop (seconds)."""

    samples: deque[float] = field(default_factory=lambda: deque(maxlen=600))

    def add(self, lag: float) -> None:
        """Keep one sample."""
        self.samples.append(max(lag, 0.0))

    def p99(self) -> float:
        """The 99th percentile of the kept samples (0 without samples)."""
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


class Heartbeat:
    """Beat ``url`` every ``interval_s`` while ``progress()`` moved within ``max_silence_s``.

    Parameters
    ----------
    url
        Where the beats go (an HTTP GET; the healthchecks.io style of dead man's switch).
    progress
        A counter that grows while the Node works (messages published on its bus).
    interval_s, max_silence_s
        Beat period, and how long the Node may make no progress before the beats stop.
    chain_head
        The audit chain's head now (None before its first row), sent with every beat.
    """

    def __init__(
        self,
        url: str,
        progress: Callable[[], int],
        *,
        interval_s: float = 10.0,
        max_silence_s: float = 60.0,
        timeout_s: float = 5.0,
        chain_head: Callable[[], ChainHead | None] | None = None,
    ) -> None:
        if interval_s <= 0 or max_silence_s <= 0:
            raise ValueError("interval_s and max_silence_s must be positive")
        self.url = url
        self.progress = progress
        self.interval_s = interval_s
        self.max_silence_s = max_silence_s
        self.timeout_s = timeout_s
        self.chain_head = chain_head
        self.lag = LoopLag()
        self.sent = 0
        self.skipped = 0
        self.failed = 0
        self._seen = progress()
        self._moved_at = time.monotonic()

    def progressed_recently(self, now: float | None = None) -> bool:
        """Whether the Node's counter moved within ``max_silence_s`` (checks it now)."""
        now = time.monotonic() if now is None else now
        value = self.progress()
        if value != self._seen:
            self._seen = value
            self._moved_at = now
        return now - self._moved_at <= self.max_silence_s

    def progress_age(self) -> float:
        """Seconds since the Node's counter last moved (as of the last check)."""
        return time.monotonic() - self._moved_at

    def _head_params(self) -> dict[str, str | int]:
        try:
            head = None if self.chain_head is None else self.chain_head()
        except Exception as exc:
            # The beat says the loop lives; a database hiccup must not silence it.
            _log.warning("audit chain head unavailable for the heartbeat: %s", type(exc).__name__)
            return {"audit_error": type(exc).__name__}
        if head is None:
            return {}
        return {"audit_rows": head.row_count, "audit_hmac": head.last_hash}

    async def run(self) -> None:
        """Beat until cancelled."""
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            while True:
                due = time.monotonic() + self.interval_s
                await asyncio.sleep(self.interval_s)
                self.lag.add(time.monotonic() - due)
                if not self.progressed_recently():
                    self.skipped += 1
                    continue
                try:
                    response = await client.get(self.url, params=self._head_params())
                    response.raise_for_status()
                    self.sent += 1
                except httpx.HTTPError as exc:
                    # A failed beat is the monitor's business to notice; keep trading.
                    self.failed += 1
                    _log.warning("heartbeat to the monitor failed: %s", type(exc).__name__)
