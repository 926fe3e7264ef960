"""One WebSocket connection of the simulator, written to without a task per message.

Server-to-client WebSocket frames are not masked, so one encoded frame serves every subscriber of
a stream: :func:`text_frame` builds it once and :meth:`Connection.send_frame` writes the same bytes
to each subscriber's transport. Compression is not negotiated (the sockets are prepared with
``compress=False``), which is what makes the frames identical. Writes are whole frames, so they
interleave safely with the pings and pongs aiohttp writes on the same transport.

A client whose unsent output exceeds ``max_buffer`` bytes is disconnected (Binance drops slow
consumers too). A connection can be *stalled* (a fault: it stops sending without closing) and is
closed by the server after a maximum age (Binance's 24-hour limit, shortened in tests). Every
frame reaches the client ``latency_s`` late (the venue's latency, as its REST answers are), and
a ``ws_latency`` fault holds the frames of a while longer; frames always leave in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections import deque
from collections.abc import Callable

from aiohttp import web

from tradewind.exchange_sim.faults import FaultKind

_log = logging.getLogger(__name__)


def text_frame(payload: bytes) -> bytes:
    """Return one unmasked, final WebSocket text frame carrying ``payload``."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


class Connection:
    """A served WebSocket.

    Parameters
    ----------
    ws
        The prepared aiohttp WebSocket (``compress=False``).
    transport
        Its transport (``request.transport``).
    kind
        ``"spot"``, ``"futures"``, ``"user-futures"`` or ``"ws-api"`` (for logs and routing).
    max_buffer
        Bytes of unsent output allowed before the client counts as too slow.
    latency_s
        The venue's latency: every frame is sent this many seconds after it is written.
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.BaseTransport | None,
        kind: str,
        max_buffer: int = 8 << 20,
        latency_s: float = 0.0,
    ) -> None:
        self.ws = ws
        self.transport = transport
        self.kind = kind
        self.max_buffer = max_buffer
        self.latency_s = latency_s
        self.streams: set[str] = set()
        self.opened = time.monotonic()
        self.stalled_until = 0.0
        self.sent = 0
        self.closed = False
        self.lagged_until = 0.0
        self._held: deque[tuple[float, bytes]] = deque()
        self._release: asyncio.TimerHandle | None = None

    def send(self, text: str) -> None:
        """Send ``text`` to the client (dropped while stalled or after close)."""
        self.send_frame(text_frame(text.encode()))

    def send_frame(self, frame: bytes) -> None:
        """Write an encoded frame (see :func:`text_frame`), ``latency_s`` late.

        A frame is due at the later of now plus the venue's latency and the end of a latency
        fault (:meth:`lag`); both only grow with time, so frames leave in the order sent.
        """
        if self.closed:
            return
        now = time.monotonic()
        if self.stalled_until and now < self.stalled_until:
            return
        due = max(now + self.latency_s, self.lagged_until)
        if self._held or due > now:
            self._held.append((due, frame))
            self._schedule_release(now)
            return
        self._write(frame)

    def lag(self, seconds: float) -> None:
        """Deliver the frames of the next ``seconds`` late, in order (the latency fault)."""
        self.lagged_until = max(self.lagged_until, time.monotonic() + seconds)

    def _schedule_release(self, now: float) -> None:
        if self._release is None and self._held:
            delay = max(0.0, self._held[0][0] - now)
            self._release = asyncio.get_running_loop().call_later(delay, self._release_due)

    def _release_due(self) -> None:
        self._release = None
        now = time.monotonic()
        while self._held and self._held[0][0] <= now:
            self._write(self._held.popleft()[1])
        self._schedule_release(now)

    def _write(self, frame: bytes) -> None:
        if self.closed:
            return
        transport = self.transport
        if transport is None or transport.is_closing() or self.ws.closed:
            self.closed = True
            return
        assert isinstance(transport, asyncio.WriteTransport)
        if transport.get_write_buffer_size() > self.max_buffer:
            _log.warning("closing a slow %s client (%d bytes behind)", self.kind,
                         transport.get_write_buffer_size())  # fmt: skip
            self.close(1008)
            return
        transport.write(frame)
        self.sent += 1

    def stall(self, seconds: float) -> None:
        """Stop sending for ``seconds`` without closing (the client sees silence)."""
        self.stalled_until = time.monotonic() + seconds

    def close(self, code: int = 1001) -> None:
        """Close the socket with ``code`` (1001: going away, as Binance's restarts send)."""
        if self.closed:
            return
        self.closed = True
        asyncio.get_running_loop().create_task(self._close(code))

    async def _close(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=b"server closing")

    async def finished(self) -> None:
        """Mark the connection done when its handler ends."""
        self.closed = True


def apply_stream_fault(
    kind: FaultKind, delay_s: float, conns: list[Connection], close_all: Callable[[], object]
) -> bool:
    """Apply a stream fault drawn for one message to its receivers ``conns``.

    Returns True when the message is withheld (dropped, or its receivers closed or stalled);
    ``close_all`` closes every connection of the venue (``forced_disconnect``).
    """
    if kind is FaultKind.WS_LATENCY:
        for conn in conns:
            conn.lag(delay_s)
        return False
    if kind is FaultKind.WS_DISCONNECT:
        for conn in conns:
            conn.close(1001)
        return True
    if kind is FaultKind.WS_STALL:
        for conn in conns:
            conn.stall(delay_s)
        return True
    if kind is FaultKind.FORCED_DISCONNECT:
        close_all()
        return True
    return kind in (FaultKind.WS_DROP_MESSAGE, FaultKind.DEPTH_GAP, FaultKind.USER_EVENT_DROP)
