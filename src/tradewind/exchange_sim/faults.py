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
- ``LATENCY``: add ``delay_s`` and answer normally (a slow but healthy exchange).
- ``TIMEOUT``: hold ``delay_s``, then answer HTTP 504 with an empty body (ccxt: ``RequestTimeout``).
- ``DROP_CONNECTION``: close the TCP connection without an answer (ccxt sync: ``NetworkError``,
  async: ``ExchangeNotAvailable``).
- ``MAINTENANCE``: HTTP 503 with ``-1008`` (ccxt: ``OperationFailed``).
- ``GHOST_ORDER``: the request is *processed* (the order is placed), then the answer is held for
  ``delay_s`` (longer than the client's timeout: ``RequestTimeout``); the order exists and can be
  found by its client order id.
- ``GHOST_FILLED``: as ``GHOST_ORDER``, and the order is filled at its limit price (as if the market
  traded through it) before the answer is lost.
- ``DELAYED_VISIBILITY``: a new order is placed and acknowledged but queries do not see it for
  ``delay_s`` (``GET order`` answers ``-2013``, ``openOrders`` leaves it out).
- ``STALE_DATA``: ``depth`` answers the snapshot it served for that symbol the time before (an
  old ``lastUpdateId``) instead of the current book.

Stream faults are drawn per message, on paths ``ws:<stream>`` (public) and ``user:spot`` /
``user:futures`` (user data); every message on a matching path counts towards ``at_request``:

- ``WS_DISCONNECT``: the server closes the subscribers' sockets with code 1001 (ccxt:
  ``NetworkError``; the next watch reconnects).
- ``WS_STALL``: the subscribers' sockets go silent for ``delay_s`` without closing.
- ``WS_DROP_MESSAGE`` / ``DEPTH_GAP``: one message is withheld; on a depth stream the next diff's
  ``U`` (``pu``) then does not follow the last ``u`` (ccxt: ``ChecksumError``).
- ``USER_EVENT_DROP`` / ``USER_EVENT_DUPLICATE``: a user-data event is lost or sent twice.
- ``FORCED_DISCONNECT``: every WebSocket connection is closed with 1001, as Binance does after 24
  hours (the stream hub can also close connections past a maximum age on its own).

A fault fires by schedule (``at_request``, ``times``) or, with ``probability``, on each matching
request or message with that chance, drawn from the plan's seeded generator: the same seed and
the same traffic give the same faults. Every injected fault is written to the fault log
(:meth:`FaultPlan.injected`); every request to the request log. Both logs are bounded (oldest
entries dropped) so a long run's memory stays flat.

Both protocols serve these faults through one middleware, :func:`fault_middleware`; what differs
between them (which paths draw faults, Binance's request-weight limits, how a rate limit, an IP
ban, maintenance or a JSON 5xx is worded) is a :class:`FaultAnswers` of the protocol's. The same
middleware holds every request while the venue is stalled (``held_until``, set by
:mod:`.venue_chaos`) and delays it by the venue's latency (``latency_s``; its WebSocket frames
are delayed as much, see :class:`~.connections.Connection`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

_log = logging.getLogger(__name__)


class FaultKind(StrEnum):
    """What the server does instead of (or before) answering a request."""

    RATE_LIMIT = "rate_limit"
    IP_BAN = "ip_ban"
    SERVER_ERROR = "server_error"
    STALL = "stall"
    LATENCY = "latency"
    TIMEOUT = "timeout"
    DROP_CONNECTION = "drop_connection"
    MAINTENANCE = "maintenance"
    GHOST_ORDER = "ghost_order"
    GHOST_FILLED = "ghost_filled"
    DELAYED_VISIBILITY = "delayed_visibility"
    STALE_DATA = "stale_data"
    WS_DISCONNECT = "ws_disconnect"
    WS_STALL = "ws_stall"
    WS_DROP_MESSAGE = "ws_drop_message"
    DEPTH_GAP = "depth_gap"
    USER_EVENT_DROP = "user_event_drop"
    USER_EVENT_DUPLICATE = "user_event_duplicate"
    FORCED_DISCONNECT = "forced_disconnect"
    WS_LATENCY = "ws_latency"
    """Hold a stream's frames ``delay_s`` before they reach its subscribers (in order)."""
    VENUE_OUTAGE = "venue_outage"
    """A whole venue down (see :mod:`.venue_chaos`; logged here, not drawn per request)."""
    VENUE_STALL = "venue_stall"
    """A whole venue frozen: requests hang and sockets go silent (:mod:`.venue_chaos`)."""
    PRICE_DIVERGENCE = "price_divergence"
    """A venue's prices move away from the others' (:mod:`.venue_chaos`)."""


STREAM_KINDS = frozenset(
    {
        FaultKind.WS_DISCONNECT,
        FaultKind.WS_STALL,
        FaultKind.WS_DROP_MESSAGE,
        FaultKind.DEPTH_GAP,
        FaultKind.USER_EVENT_DROP,
        FaultKind.USER_EVENT_DUPLICATE,
        FaultKind.FORCED_DISCONNECT,
        FaultKind.WS_LATENCY,
    }
)
"""Faults drawn per stream message rather than per HTTP request."""
VENUE_KINDS = frozenset({FaultKind.VENUE_OUTAGE, FaultKind.VENUE_STALL, FaultKind.PRICE_DIVERGENCE})
"""Faults of a whole venue (:mod:`.venue_chaos`): logged in the fault log, never drawn."""


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
        How long a ``STALL``, ``LATENCY``, ``TIMEOUT`` or ghost holds the request, a
        ``WS_STALL`` silences a socket, or a ``DELAYED_VISIBILITY`` hides the order.
    probability
        Fire on each matching request (or message) with this chance instead of by schedule.
    """

    kind: FaultKind
    at_request: int = 1
    times: int = 1
    path: str | None = None
    status: int = 503
    json_body: bool = False
    retry_after_s: int = 1
    delay_s: float = 5.0
    probability: float | None = None

    def __post_init__(self) -> None:
        if self.at_request < 1 or self.times < 1:
            raise ValueError("a fault needs at_request >= 1 and times >= 1")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"a fault probability must be in [0, 1], got {self.probability}")
        stream_path = (self.path or "").startswith(("ws:", "user:"))
        # FORCED_DISCONNECT may also be given without a path: it then counts every message.
        forced_any = self.kind is FaultKind.FORCED_DISCONNECT and self.path is None
        if self.kind in STREAM_KINDS and not stream_path and not forced_any:
            raise ValueError(
                f"{self.kind} is a stream fault: give a path 'ws:<stream>' or 'user:spot'/"
                "'user:futures'"
            )
        if self.kind in VENUE_KINDS:
            raise ValueError(
                f"{self.kind} is a venue fault: schedule it with venue_chaos.VenueFault"
            )
        if self.kind is FaultKind.SERVER_ERROR and not 500 <= self.status <= 599:
            raise ValueError(f"a server error needs a 5xx status, got {self.status}")
        if self.retry_after_s < 0 or self.delay_s < 0:
            raise ValueError("retry_after_s and delay_s must not be negative")

    def matches(self, path: str) -> bool:
        """Tell whether a request to ``path`` counts towards this fault."""
        return self.path is None or path.startswith(self.path)

    @property
    def is_stream(self) -> bool:
        """Tell whether the fault is drawn per stream message."""
        return self.kind in STREAM_KINDS


@dataclass(frozen=True)
class FaultRecord:
    """One injected fault, as the fault log keeps it."""

    kind: FaultKind
    path: str
    at_ms: int
    detail: str = ""


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
    seed: int = 0
    max_log: int = 200_000
    _counts: list[int] = field(default_factory=list, init=False)
    _log: deque[RequestRecord] = field(default_factory=deque, init=False)
    _injected: deque[FaultRecord] = field(default_factory=deque, init=False)
    _seq: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _rng: random.Random = field(default_factory=random.Random, init=False)
    has_stream_faults: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._counts = [0] * len(self.faults)
        self._log = deque(maxlen=self.max_log)
        self._injected = deque(maxlen=self.max_log)
        self._rng = random.Random(self.seed)
        self.has_stream_faults = any(f.is_stream for f in self.faults)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> FaultPlan:
        """Build a plan from a parsed TOML/JSON mapping.

        Layout: top-level ``seed`` (int) and ``[[fault]]`` tables with :class:`Fault`'s fields
        (``kind`` by its value, e.g. ``"rate_limit"``, ``"ws_disconnect"``).

        Raises
        ------
        ValueError
            Naming the unknown key, the unknown kind or the bad value.
        """
        unknown = set(config) - {"seed", "fault", "max_log"}
        if unknown:
            raise ValueError(f"unknown fault-plan keys: {sorted(unknown)} (expected seed, fault)")
        entries = config.get("fault", [])
        if not isinstance(entries, list):
            raise ValueError("'fault' must be a list of tables ([[fault]] in TOML)")
        allowed = set(Fault.__dataclass_fields__)
        faults = []
        for i, entry in enumerate(entries, 1):
            if not isinstance(entry, Mapping):
                raise ValueError(f"fault #{i} must be a table")
            extra = set(entry) - allowed
            if extra:
                raise ValueError(f"fault #{i}: unknown keys {sorted(extra)}")
            fields = dict(entry)
            try:
                fields["kind"] = FaultKind(str(fields.get("kind", "")))
            except ValueError:
                kinds = ", ".join(k.value for k in FaultKind)
                raise ValueError(
                    f"fault #{i}: unknown kind {entry.get('kind')!r} ({kinds})"
                ) from None
            faults.append(Fault(**fields))
        seed = config.get("seed", 0)
        if not isinstance(seed, int):
            raise ValueError("fault-plan 'seed' must be an integer")
        return cls(faults=faults, seed=seed, max_log=int(config.get("max_log", 200_000)))

    def add(self, fault: Fault) -> None:
        """Schedule another fault; its request count starts now."""
        with self._lock:
            self.faults.append(fault)
            self._counts.append(0)
            self.has_stream_faults = self.has_stream_faults or fault.is_stream

    def clear(self) -> None:
        """Drop every scheduled fault (the log is kept)."""
        with self._lock:
            self.faults.clear()
            self._counts.clear()
            self.has_stream_faults = False

    def draw(self, path: str) -> Fault | None:
        """Count a request to ``path`` and return the fault it gets, if any.

        Every request fault whose path matches counts the request; the first one (in the order
        added) whose window covers its count (or whose probability draw succeeds) is served.
        """
        return self._draw(path, stream=False)

    def draw_stream(self, path: str) -> Fault | None:
        """Count a stream message on ``path`` (``ws:...``/``user:...``); return its fault, if any."""
        return self._draw(path, stream=True)

    def _draw(self, path: str, *, stream: bool) -> Fault | None:
        chosen: Fault | None = None
        with self._lock:
            for i, fault in enumerate(self.faults):
                if fault.is_stream != stream or not fault.matches(path):
                    continue
                self._counts[i] += 1
                if chosen is not None:
                    continue
                if fault.probability is not None:
                    if self._rng.random() < fault.probability:
                        chosen = fault
                elif fault.at_request <= self._counts[i] < fault.at_request + fault.times:
                    chosen = fault
        return chosen

    def log_fault(self, kind: FaultKind, path: str, at_ms: int, detail: str = "") -> None:
        """Write an injected fault to the fault log."""
        with self._lock:
            self._injected.append(FaultRecord(kind, path, at_ms, detail))

    def injected(self, kind: FaultKind | None = None) -> list[FaultRecord]:
        """Return the injected faults, oldest first, optionally of one kind."""
        with self._lock:
            found = list(self._injected)
        return found if kind is None else [r for r in found if r.kind is kind]

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


FAULT_KEY: web.RequestKey[Fault] = web.RequestKey("sim_fault", Fault)
"""Request key under which the middleware leaves a fault the handler applies itself (ghost
orders, delayed visibility, stale data)."""


class ServedExchange(Protocol):
    """What the fault middleware reads of the served exchange (a :class:`~.exchange.SimExchange`)."""

    faults: FaultPlan
    maintenance: bool
    latency_s: float
    held_until: float

    def clock(self) -> int:
        """The exchange's time in ms."""
        ...


class FaultAnswers(Protocol):
    """How one protocol answers: the paths that draw faults, its limits and its error bodies."""

    def faulted(self, path: str) -> bool:
        """Tell whether a request to ``path`` draws faults."""
        ...

    def admit(
        self, sim: Any, request: web.Request
    ) -> tuple[web.StreamResponse | None, dict[str, str]]:
        """Apply the protocol's limits and maintenance: a refusal (or None) and answer headers."""
        ...

    def maintenance(self, request: web.Request) -> web.StreamResponse:
        """The answer of an exchange in maintenance."""
        ...

    def rate_limit(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """The answer to a client over its request limit."""
        ...

    def ip_ban(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """The answer to a client banned for ignoring rate limits."""
        ...

    def server_error(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """A 5xx with the protocol's JSON error body (``json_body``)."""
        ...


def fault_middleware(answers: FaultAnswers, sim_key: web.AppKey[Any]) -> Middleware:
    """Return the middleware that numbers, delays, faults and logs every request but ``/health``.

    In order: a stalled venue holds the request until the stall ends; the venue's latency
    delays it; it is numbered and a fault drawn (on paths ``answers.faulted``); the protocol's
    limits and maintenance may refuse it (``answers.admit``; the fault is then not served);
    otherwise the fault is served (and written to the fault log) or the handler answers. The
    request log gets every request, with status None when the client left first.
    """

    @web.middleware
    async def faults_and_log(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/health":
            return await handler(request)
        sim: ServedExchange = request.app[sim_key]
        held = sim.held_until - time.monotonic()
        if held > 0:
            await asyncio.sleep(held)
        if sim.latency_s > 0:
            await asyncio.sleep(sim.latency_s)
        plan = sim.faults
        seq = plan.arrive()
        received_ms = sim.clock()
        started = time.perf_counter()
        fault = plan.draw(request.path) if answers.faulted(request.path) else None
        status: int | None = None
        try:
            refusal, headers = answers.admit(sim, request)
            if refusal is not None:
                fault = None
                status = refusal.status
                return refusal
            if fault is not None:
                plan.log_fault(fault.kind, request.path, received_ms, f"request {seq}")
                _log.info("injected %s into request %d %s", fault.kind, seq, request.path)
            response = await _serve(answers, fault, request, handler)
            status = response.status
            if headers and not response.prepared:
                response.headers.update(headers)
            return response
        except web.HTTPException as exc:
            status = exc.status
            if status == 404:
                # ccxt retries a 404 as an outage: a missing endpoint must show (P7).
                _log.warning("no such endpoint: %s %s", request.method, request.path)
            raise
        finally:
            plan.record(
                seq=seq, method=request.method, path=request.path, params=dict(request.query),
                status=status, fault=fault.kind if fault is not None else None,
                received_ms=received_ms, duration_ms=(time.perf_counter() - started) * 1000.0,
            )  # fmt: skip

    return faults_and_log


async def _serve(
    answers: FaultAnswers, fault: Fault | None, request: web.Request, handler: Handler
) -> web.StreamResponse:
    if fault is None:
        return await handler(request)
    kind = fault.kind
    if kind in (FaultKind.STALL, FaultKind.LATENCY):
        await asyncio.sleep(fault.delay_s)
        return await handler(request)
    if kind in (FaultKind.DELAYED_VISIBILITY, FaultKind.STALE_DATA):
        request[FAULT_KEY] = fault
        return await handler(request)
    if kind in (FaultKind.GHOST_ORDER, FaultKind.GHOST_FILLED):
        request[FAULT_KEY] = fault
        response = await handler(request)
        # Processed; now the answer is lost: hold it past the client's timeout, then hang up.
        await asyncio.sleep(fault.delay_s)
        _hang_up(request)
        return response
    if kind is FaultKind.TIMEOUT:
        await asyncio.sleep(fault.delay_s)
        return web.Response(status=504)
    if kind is FaultKind.DROP_CONNECTION:
        _hang_up(request)
        return web.Response(status=500)
    if kind is FaultKind.MAINTENANCE:
        return answers.maintenance(request)
    if kind is FaultKind.RATE_LIMIT:
        return answers.rate_limit(request, fault)
    if kind is FaultKind.IP_BAN:
        return answers.ip_ban(request, fault)
    if fault.json_body:
        return answers.server_error(request, fault)
    return web.Response(status=fault.status, text=f"{fault.status} simulated server error")


def _hang_up(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
