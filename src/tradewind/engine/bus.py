"""A deterministic message bus: what happened in the engine, for whoever listens.

The Node publishes every order status change, fill, denial, funding payment and liquidation on
it; adapters (the repository, metrics, notifications) subscribe. Delivery is synchronous and in a
fixed order (by topic, then subscription order), and a message published while another is being
delivered waits in a FIFO queue, so two runs over the same data deliver the same messages in the
same order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradewind.core.events import (
    CancelRejected,
    FundingPaid,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    PositionLiquidated,
)

Handler = Callable[[str, Any], None]

VENUE_TOPICS: dict[type, str] = {
    OrderAccepted: "order.accepted",
    OrderRejected: "order.rejected",
    OrderTriggered: "order.triggered",
    OrderFilled: "order.filled",
    OrderCanceled: "order.canceled",
    OrderExpired: "order.expired",
    CancelRejected: "order.cancel_rejected",
    FundingPaid: "account.funding",
    PositionLiquidated: "account.liquidated",
}
"""The bus topic of each venue event."""


@dataclass(frozen=True, slots=True)
class Message:
    """One published message: its topic, the engine time (UTC ms) and the payload."""

    topic: str
    ts: int
    payload: Any


class MessageBus:
    """Publish/subscribe with deterministic, re-entrancy-safe delivery.

    Topics are dotted names (``order.filled``); a subscription to a prefix (``order``) or to
    ``*`` receives every topic under it.
    """

    def __init__(self) -> None:
        self._handlers: list[tuple[str, Handler]] = []
        self._queue: deque[Message] = deque()
        self._delivering = False
        self.published = 0

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call ``handler(topic, payload)`` for every message on ``topic`` or below it."""
        self._handlers.append((topic, handler))

    def publish(self, topic: str, ts: int, payload: Any) -> None:
        """Deliver a message to its subscribers, after any message already being delivered."""
        self.published += 1
        if not self._handlers:
            return
        self._queue.append(Message(topic, ts, payload))
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._queue:
                message = self._queue.popleft()
                for prefix, handler in self._handlers:
                    if prefix in ("*", message.topic) or message.topic.startswith(prefix + "."):
                        handler(message.topic, message.payload)
        finally:
            self._delivering = False


class Recorder:
    """A subscriber that keeps every message it sees (tests, reports, audit trails)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Any]] = []

    def __call__(self, topic: str, payload: Any) -> None:
        self.messages.append((topic, payload))
