"""One request-weight budget per exchange account and IP, shared by every Tradewind process on
the machine through a small file in the state folder, locked with ``fcntl`` (no extra service).

ccxt's own throttle is per process (reliability-anchors.md, requirement 8): four bots on one IP
each believe they have the whole limit. Here every process takes its weight from the same file
before each request:

- the window is the exchange's: fixed calendar windows of the wall clock (Binance counts weight
  per minute, ``X-MBX-USED-WEIGHT-1M``);
- a request is let through only while the window's used weight plus its own stays within
  ``limit * share`` (the rest is headroom for what the count cannot see); otherwise the caller
  waits for the next window;
- the exchange's weight header corrects the count upwards (:meth:`SharedRateBudget.observe`):
  requests of other programs on the same IP count too;
- a 429's or 418's ``Retry-After`` bans every process until it has passed
  (:meth:`SharedRateBudget.ban`): a client that keeps asking during a 429 earns a 418.

The file holds one JSON object; every read-modify-write happens under an exclusive ``flock`` on
it, so the processes never lose each other's updates.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


class SharedRateBudget:
    """A per-window weight budget shared through ``path`` (see the module docstring).

    Parameters
    ----------
    path
        The budget file (one per exchange account and IP), e.g. ``<state>/rate-binance-<acct>.json``.
    limit
        The exchange's weight limit per window (Binance spot: 6,000 a minute; read it from
        ``exchangeInfo``'s ``rateLimits``).
    window_s
        The window length in seconds (calendar-aligned).
    share
        The part of ``limit`` the processes may use together.
    clock
        Wall-clock seconds.
    """

    def __init__(
        self,
        path: Path,
        limit: int,
        *,
        window_s: float = 60.0,
        share: float = 0.9,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit <= 0 or window_s <= 0 or not 0 < share <= 1:
            raise ValueError("a rate budget needs a positive limit and window and 0 < share <= 1")
        self.path = path
        self.limit = limit
        self.window_s = window_s
        self.allowed = int(limit * share)
        self._clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)

    def try_take(self, weight: int) -> float:
        """Take ``weight`` now if the window allows; return 0, or the seconds to wait first."""
        if weight > self.allowed:
            raise ValueError(f"a request of weight {weight} exceeds the budget {self.allowed}")
        now = self._clock()
        window = int(now // self.window_s)
        with self._locked() as state:
            banned = float(state.get("banned_until", 0.0))
            if banned > now:
                return banned - now
            if state.get("window") != window:
                state["window"], state["used"] = window, 0
            used = int(state["used"])
            if used + weight > self.allowed:
                return (window + 1) * self.window_s - now + 0.01
            state["used"] = used + weight
            return 0.0

    async def acquire(self, weight: int) -> None:
        """Wait until ``weight`` can be taken, then take it."""
        while True:
            wait = self.try_take(weight)
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def observe(self, headers: Mapping[str, Any]) -> None:
        """Correct the window's count from the exchange's used-weight header (never down)."""
        used = None
        for name, value in headers.items():
            if str(name).lower().startswith("x-mbx-used-weight"):
                try:
                    used = int(value)
                except (TypeError, ValueError):
                    return
        if used is None:
            return
        window = int(self._clock() // self.window_s)
        with self._locked() as state:
            if state.get("window") != window:
                state["window"], state["used"] = window, 0
            state["used"] = max(int(state["used"]), used)

    def ban(self, retry_after_s: float) -> None:
        """A 429 or 418 said to wait: every process waits ``retry_after_s`` from now."""
        until = self._clock() + max(retry_after_s, 0.0)
        with self._locked() as state:
            state["banned_until"] = max(float(state.get("banned_until", 0.0)), until)

    def used(self) -> int:
        """Weight taken in the current window (by every process)."""
        window = int(self._clock() // self.window_s)
        with self._locked() as state:
            return int(state["used"]) if state.get("window") == window else 0

    def _locked(self) -> _LockedState:
        return _LockedState(self.path)


class _LockedState:
    """The budget file's JSON, read and written back under an exclusive flock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1
        self.state: dict[str, Any] = {}

    def __enter__(self) -> dict[str, Any]:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        raw = b""
        while chunk := os.read(self.fd, 65536):
            raw += chunk
        try:
            loaded = json.loads(raw) if raw else {}
        except ValueError:
            loaded = {}  # a torn write cannot happen under the lock; a foreign file starts over
        self.state = loaded if isinstance(loaded, dict) else {}
        return self.state

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                data = json.dumps(self.state).encode()
                os.lseek(self.fd, 0, os.SEEK_SET)
                os.ftruncate(self.fd, 0)
                os.write(self.fd, data)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
