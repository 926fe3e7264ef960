"""One WebSocket connection of the simulator, written to without a task per message.

Server-to-client WebSocket frames are not masked, so one encoded frame serves every subscriber of
a stream: :func:`text_frame` builds it once and :meth:`Connection.send_frame` writes the same bytes
to each subscriber's transport. Compression is not negotiated (the sockets are prepared with
``compress=False``), which is what makes the frames identical. Writes are whole frames, so they
interleave safely with the pings and pongs aiohttp writes on the same transport.

A client whose unsent output exceeds ``max_buffer`` bytes is disconnected (Binance drops slow
consumers too). A connection can be *stalled* (a fault: it stops sending without closing) and is
closed by the server after a maximum age (Binance's 24-hour limit, shortened in tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections import deque

from aiohttp import web

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
    """

    def __init__(
        self,
        ws: web.WebSocketResponse,
        transport: asyncio.BaseTransport | None,
        kind: str,
        max_buffer: int = 8 << 20,
    ) -> None:
        self.ws = ws
        self.transport = transport
        self.kind = kind
        self.max_buffer = max_buffer
        self.streams: set[str] = set()
        self.opened = time.monotonic()
        self.stalled_until = 0.0
        self.sent = 0
        self.closed = False
        self.lagged_until = 0.0
        self._held: deque[bytes] = deque()
        self._release: asyncio.TimerHandle | None = None

    def send(self, text: str) -> None:
        """Send ``text`` to the client (dropped while stalled or after close)."""
        self.send_frame(text_frame(text.encode()))

    def send_frame(self, frame: bytes) -> None:
        """Write an encoded frame (see :func:`text_frame`)."""
        if self.closed:
            return
        if self.stalled_until and time.monotonic() < self.stalled_until:
            return
        if self._held or (self.lagged_until and time.monotonic() < self.lagged_until):
            # Behind a delayed frame: keep the order, send when the lag has passed.
            self._held.append(frame)
            self._schedule_release()
            return
        self._write(frame)

    def lag(self, seconds: float) -> None:
        """Deliver the frames of the next ``seconds`` late, in order (the latency fault)."""
        self.lagged_until = max(self.lagged_until, time.monotonic() + seconds)

    def _schedule_release(self) -> None:
        if self._release is None:
            delay = max(0.0, self.lagged_until - time.monotonic())
            self._release = asyncio.get_running_loop().call_later(delay, self._release_held)

    def _release_held(self) -> None:
        self._release = None
        if time.monotonic() < self.lagged_until:
            self._schedule_release()
            return
        while self._held:
            self._write(self._held.popleft())

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
