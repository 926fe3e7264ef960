"""One WebSocket connection of the market feed: a set of raw streams of one kind and one
market type, subscribed through ccxt.pro, and the state that survives its reconnects.

ccxt.pro does the connection work: URL routing (spot ``/stream``, USDT-M ``/public`` and
``/market``), the ``SUBSCRIBE`` frame and its ack, keepalive pings, and the dial backoff of its own
client. The feed adds what ccxt lacks (reliability-anchors.md, section 4.2): a liveness check on
data, a restart of a silent connection, jittered backoff between reconnects, and the REST catch-up
after each one. Each group has its own connection (its own ccxt stream index), so restarting one
group leaves the others alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tradewind.connectors.backoff import Backoff
from tradewind.connectors.binance_streams import StreamKind
from tradewind.core.market_events import StreamState


@dataclass(eq=False)
class StreamGroup:
    """A connection's streams and state.

    ``streams`` maps each stream name (the exchange's) to its (unified symbol, timeframe or None);
    ``symbols_by_id`` maps the exchange's market id (``XRPUSDT``) to the unified symbol.
    """

    name: str
    market_type: str
    kind: StreamKind
    streams: dict[str, tuple[str, str | None]]
    symbols_by_id: dict[str, str]
    backoff: Backoff
    url: str = ""
    message_hash: str = ""
    request_id: Any = None
    state: StreamState = StreamState.STARTING
    connects: int = 0
    disconnects: int = 0
    restarts: int = 0
    paused: bool = False
    last_message_s: float = 0.0
    """Monotonic time of the connection's last market message."""
    back_from_stale: bool = False
    """A stream of the group was stale and has spoken again; FRESH is due once it is live."""
    pending: list[tuple[dict[str, Any], int]] = field(default_factory=list)
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    restart: asyncio.Event = field(default_factory=asyncio.Event)
    restart_reason: str = ""

    @property
    def symbols(self) -> tuple[str, ...]:
        """The unified symbols whose data this connection carries."""
        return tuple(sorted({symbol for symbol, _ in self.streams.values()}))

    @property
    def futures(self) -> bool:
        """Tell whether the streams are USDT-M's."""
        return self.market_type == "linear"

    def request_restart(self, reason: str) -> None:
        """Ask the runner to drop the connection and reconnect."""
        self.restart_reason = reason
        self.restart.set()
