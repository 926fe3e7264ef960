"""The operator event stream: fills, equity, breaker trips, operator actions and alerts, fanned
out to every listening client (the API serves it as server-sent events).

The Node's bus delivers on the thread that drives the Node; each listener has its own asyncio
queue on its own loop, fed through ``call_soon_threadsafe`` so either side may be on any thread.
A slow listener loses its oldest events, never blocks the trading loop. In-process consumers
(the notifier) may instead :meth:`~EventHub.subscribe` a handler, called on the publishing thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from tradewind.engine.bus import MessageBus

__all__ = ["TOPICS", "EventHub"]

log = logging.getLogger(__name__)

TOPICS = ("order.filled", "account.liquidated", "risk.breaker", "operator", "alert", "equity")
"""The topics forwarded to operators (prefixes: ``operator`` covers ``operator.pause``...)."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class EventHub:
    """Fan-out of operator events to any number of asyncio listeners."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._listeners: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]] = []
        self._handlers: list[Callable[[str, Any], None]] = []
        self.published = 0

    def attach(self, bus: MessageBus) -> None:
        """Forward the Node's fills, liquidations, breaker trips and abnormal execution costs
        (``tca.alert``: a slippage beyond 3 standard deviations of its algorithm's history)."""
        for topic in ("order.filled", "account.liquidated", "risk.breaker", "tca.alert"):
            bus.subscribe(topic, self.publish)

    def subscribe(self, handler: Callable[[str, Any], None]) -> None:
        """Call ``handler(topic, payload)`` for every event, on the publishing thread and with the
        payload itself (not its JSON). It must return quickly; an exception it raises is logged,
        never passed to the publisher."""
        self._handlers.append(handler)

    def publish(self, topic: str, payload: Any) -> None:
        """Send one event to every listener (drops a listener's oldest event when it is full)."""
        self.published += 1
        for handler in self._handlers:
            try:
                handler(topic, payload)
            except Exception:
                log.exception("event handler failed on %s", topic)
        text = f"event: {topic}\ndata: {json.dumps(_jsonable(payload), sort_keys=True)}\n\n"
        for loop, queue in list(self._listeners):
            if loop.is_closed():
                continue
            loop.call_soon_threadsafe(self._put, queue, text)

    def _put(self, queue: asyncio.Queue[str], text: str) -> None:
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(text)

    def listen(self) -> tuple[asyncio.Queue[str], Callable[[], None]]:
        """A new listener's queue (on the running loop) and the function that removes it."""
        entry = (asyncio.get_running_loop(), asyncio.Queue[str](self.capacity))
        self._listeners.append(entry)

        def close() -> None:
            if entry in self._listeners:
                self._listeners.remove(entry)

        return entry[1], close

    @property
    def listeners(self) -> int:
        """How many clients are listening."""
        return len(self._listeners)
