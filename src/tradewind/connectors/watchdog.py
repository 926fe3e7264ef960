"""Judge each stream's freshness in wall time against its push interval.

Binance pushes klines every 2 s, diff depth every 100 ms and mark prices every 1-3 s whether or
not anything traded, so silence is a fault. ccxt notices a dead socket only after its keepalive
(about 6 minutes for Binance) and nothing in ccxt notices a subscription that stays open but stops
delivering (reliability-anchors.md, section 4.2). A stream silent for
``max(3 x its push interval, 10 s)`` is therefore declared stale: the feed restarts it, raises an
alert and reports the "stale data" state until a message arrives again.

Streams without a push interval (trades: nothing is sent when nothing trades) are given one by the
caller from a sibling stream of the same symbol: when the book of that symbol is live, the
connection is alive, so a trade stream is judged with the allowance of its connection's other
streams. The monotonic clock is used, never the wall clock: a clock step must not fake silence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MIN_ALLOWANCE_S = 10.0
"""The shortest silence that counts as stale, whatever the push interval."""


def allowance_s(push_interval_s: float) -> float:
    """Return how long a stream that pushes every ``push_interval_s`` may stay silent."""
    return max(3.0 * push_interval_s, MIN_ALLOWANCE_S)


@dataclass
class _Entry:
    allowance_s: float
    last_s: float
    stale: bool = False


class Watchdog:
    """Last-message times of named streams, and which of them are stale.

    Parameters
    ----------
    monotonic
        Seconds from a monotonic clock (``time.monotonic``; tests may pass their own).
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._streams: dict[str, _Entry] = {}

    def watch(self, name: str, push_interval_s: float) -> None:
        """Start judging ``name``; it counts as fresh from now."""
        self._streams[name] = _Entry(allowance_s(push_interval_s), self._now())

    def forget(self, name: str) -> None:
        """Stop judging ``name``."""
        self._streams.pop(name, None)

    def seen(self, name: str) -> bool:
        """Record a message on ``name``; return True when it was stale until now."""
        entry = self._streams.get(name)
        if entry is None:
            return False
        entry.last_s = self._now()
        if entry.stale:
            entry.stale = False
            return True
        return False

    def restarted(self, name: str) -> None:
        """Give a restarted stream a fresh allowance (it stays stale until a message arrives)."""
        entry = self._streams.get(name)
        if entry is not None:
            entry.last_s = self._now()

    def silent_s(self, name: str) -> float:
        """Return the seconds since the last message on ``name``."""
        return self._now() - self._streams[name].last_s

    def is_stale(self, name: str) -> bool:
        """Tell whether ``name`` is in the stale state."""
        entry = self._streams.get(name)
        return entry is not None and entry.stale

    def overdue(self) -> list[tuple[str, float, bool]]:
        """Mark streams silent past their allowance as stale and return them.

        Each entry is ``(name, silent seconds, first)``; ``first`` is False for a stream that was
        already stale (restarted, still silent). Each returned stream gets a fresh allowance, so
        a silent stream is returned once per allowance, not on every check.
        """
        now = self._now()
        found = []
        for name, entry in self._streams.items():
            silent = now - entry.last_s
            if silent > entry.allowance_s:
                found.append((name, silent, not entry.stale))
                entry.stale = True
                entry.last_s = now
        return found

    def stale(self) -> list[str]:
        """Return the names of the streams in the stale state."""
        return [name for name, entry in self._streams.items() if entry.stale]
