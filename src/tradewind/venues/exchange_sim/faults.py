"""Fault injection and the request log of the simulated exchange.

A test states which faults to serve, on which request, and then asserts on the request log: that
the client met the fault, backed off and carried on. Faults are scheduled by request count, so a
test is deterministic: "the 3rd and 4th requests to ``/api/v3/klines`` get HTTP 429".

Faults (each one answers instead of, or before, the normal handler):

- ``RATE_LIMIT``: HTTP 429 with Binance's ``-1003`` body and a ``Retry-After`` header (seconds).
  ccxt raises ``DDoSProtection``, not ``RateLimitExceeded`` (ccxt-loopback.md P9).
- ``IP_BAN``: HTTP 418 with ``-1003`` and ``Retry-After``: what Binance sends to a client that
  ignored 429s. ccxt raises ``DDoSProtection``.
- ``SERVER_ERROR``: a 5xx; with ``json_body`` Binance's ``-1001`` JSON (ccxt: ``OperationFailed``),
  otherwise a plain-text body (ccxt: ``ExchangeNotAvailable``; 504 gives ``RequestTimeout``).
- ``STALL``: hold the request ``delay_s`` before answering normally; longer than the client's
  timeout, the client gives up first (ccxt: ``RequestTimeout``) and the record shows it left.

Issue 9 grows this into probabilistic, seeded faults (latency, dropped connections, WebSocket
faults); the schedule below stays the deterministic core.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    """What the server does instead of (or before) answering a request."""

    RATE_LIMIT = "rate_limit"
    IP_BAN = "ip_ban"
    SERVER_ERROR = "server_error"
    STALL = "stall"


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One scheduled fault.

    Parameters
    ----------
    kind
        What to do.
    at_request
        The first matching request that gets the fault, counted from 1 over requests whose path
        starts with ``path``.
    times
        How many consecutive matching requests get it (a burst).
    path
        Only requests under this path prefix count and get the fault (None: every request).
    status
        HTTP status of a ``SERVER_ERROR`` (500, 502, 503, 504).
    json_body
        ``SERVER_ERROR`` only: send Binance's ``-1001`` JSON instead of a plain-text page.
    retry_after_s
        ``Retry-After`` header of ``RATE_LIMIT`` and ``IP_BAN``, in whole seconds as HTTP states
        it (0 is allowed, for fast tests).
    delay_s
        How long a ``STALL`` holds the request.
    """

    kind: FaultKind
    at_request: int = 1
    times: int = 1
    path: str | None = None
    status: int = 503
    json_body: bool = False
    retry_after_s: int = 1
    delay_s: float = 5.0

    def __post_init__(self) -> None:
        if self.at_request < 1 or self.times < 1:
            raise ValueError("a fault needs at_request >= 1 and times >= 1")
        if self.kind is FaultKind.SERVER_ERROR and not 500 <= self.status <= 599:
            raise ValueError(f"a server error needs a 5xx status, got {self.status}")
        if self.retry_after_s < 0 or self.delay_s < 0:
            raise ValueError("retry_after_s and delay_s must not be negative")

    def matches(self, path: str) -> bool:
        """Tell whether a request to ``path`` counts towards this fault."""
        return self.path is None or path.startswith(self.path)


@dataclass(frozen=True)
class RequestRecord:
    """One request the server received, as a test sees it.

    ``status`` is the HTTP status sent, or None when the client left before the answer (a stall
    longer than its timeout). ``fault`` names the injected fault, if any.
    """

    seq: int
    method: str
    path: str
    params: dict[str, str]
    status: int | None
    fault: FaultKind | None
    received_ms: int
    duration_ms: float


@dataclass
class FaultPlan:
    """The faults to serve and the log of every request, shared by the server and the test.

    Thread-safe: the server runs in its own thread while the test reads the log and adds faults.
    """

    faults: list[Fault] = field(default_factory=list)
    _counts: list[int] = field(default_factory=list, init=False)
    _log: list[RequestRecord] = field(default_factory=list, init=False)
    _seq: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._counts = [0] * len(self.faults)

    def add(self, fault: Fault) -> None:
        """Schedule another fault; its request count starts now."""
        with self._lock:
            self.faults.append(fault)
            self._counts.append(0)

    def clear(self) -> None:
        """Drop every scheduled fault (the log is kept)."""
        with self._lock:
            self.faults.clear()
            self._counts.clear()

    def draw(self, path: str) -> Fault | None:
        """Count a request to ``path`` and return the fault it gets, if any.

        Every fault whose path matches counts the request; the first one (in the order added)
        whose window covers its count is served.
        """
        chosen: Fault | None = None
        with self._lock:
            for i, fault in enumerate(self.faults):
                if not fault.matches(path):
                    continue
                self._counts[i] += 1
                n = self._counts[i]
                if chosen is None and fault.at_request <= n < fault.at_request + fault.times:
                    chosen = fault
        return chosen

    def arrive(self) -> int:
        """Number an arriving request (1, 2, ...): the log is ordered by arrival, not completion."""
        with self._lock:
            self._seq += 1
            return self._seq

    def record(self, **fields: Any) -> RequestRecord:
        """Append a finished request to the log; ``fields`` are :class:`RequestRecord`'s."""
        entry = RequestRecord(**fields)
        with self._lock:
            self._log.append(entry)
        return entry

    def requests(self, path: str | None = None) -> list[RequestRecord]:
        """Return the logged requests in arrival order, optionally only those under ``path``."""
        with self._lock:
            log = sorted(self._log, key=lambda r: r.seq)
        if path is None:
            return log
        return [r for r in log if r.path.startswith(path)]

    def clear_log(self) -> None:
        """Forget the logged requests (between phases of one test)."""
        with self._lock:
            self._log.clear()
