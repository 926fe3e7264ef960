"""Delivery of notifications: apprise on a thread of its own, so a slow or dead service never
holds up the caller; each failure is logged (the service named by its position and scheme, never
its URL, which may hold a token) and counted.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import apprise

from tradewind.core.errors import UserError
from tradewind.logs import register_secret
from tradewind.ops.notify_templates import Notification
from tradewind.ops.secrets import Secret

__all__ = ["Sender", "register_url_parts"]

log = logging.getLogger("tradewind.ops.notifications")

_TYPES = {
    "info": apprise.NotifyType.INFO,
    "success": apprise.NotifyType.SUCCESS,
    "warning": apprise.NotifyType.WARNING,
    "failure": apprise.NotifyType.FAILURE,
}


def register_url_parts(url: str) -> None:
    """Register the parts of ``url`` that tend to be tokens with the log redaction filter."""
    # The parts of a URL that tend to be tokens go to the log filter too, so they are hidden even
    # when a library logs a piece of the URL: the password, and long path segments and query
    # values (short ones are ordinary words: redacting them would mangle every log line).
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    pieces = [*parts.path.split("/"), *(v for _, v in parse_qsl(parts.query))]
    if parts.password:
        register_secret(parts.password)
    for piece in pieces:
        if len(piece) >= 12:
            register_secret(piece)


class Sender:
    """Deliver notifications through apprise on a thread of its own.

    Parameters
    ----------
    urls
        The apprise URLs (secrets: never logged; a service is named by its position and scheme).
    capacity
        Messages the outbox holds while the services are slow; past it the oldest is dropped,
        with a warning and a count.

    Raises
    ------
    UserError
        When apprise cannot make a service of a URL (named by its position and scheme).
    """

    def __init__(self, urls: Sequence[Secret], *, capacity: int = 1000) -> None:
        self.capacity = capacity
        self.services: list[tuple[str, Any]] = []
        quiet = logging.getLogger("apprise")
        for i, url in enumerate(urls):
            text = url.reveal()
            scheme = text.partition("://")[0]
            # apprise logs a URL it cannot load, half-masked; ours stays out of every log.
            was, quiet.disabled = quiet.disabled, True
            try:
                service = apprise.Apprise.instantiate(text, suppress_exceptions=True)
            finally:
                quiet.disabled = was
            if service is None:
                raise UserError(
                    f"notifications.urls entry {i + 1} ({scheme}://...) is not a URL apprise can "
                    "send to: check its form in apprise's documentation for that service"
                )
            # Our own rate cap paces the messages; apprise's per-service throttle (5.5 s between
            # e-mails) would only stall this thread behind it.
            service.request_rate_per_sec = 0
            self.services.append((scheme, service))
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._pending: deque[Notification] = deque()
        self._busy = False
        self._closing = False
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def put(self, notification: Notification) -> None:
        """Queue one message (never blocks)."""
        with self._ready:
            if len(self._pending) >= self.capacity:
                lost = self._pending.popleft()
                self.dropped += 1
                log.warning(
                    "notification outbox full: dropped %r (%d dropped so far)", lost.title,
                    self.dropped,
                )  # fmt: skip
            self._pending.append(notification)
            self._ready.notify()

    @property
    def pending(self) -> int:
        """Messages queued or being delivered."""
        with self._ready:
            return len(self._pending) + self._busy

    def start(self) -> None:
        """Start the delivery thread (once)."""
        with self._ready:
            if self._thread is not None:
                return
            self._closing = False
            self._thread = threading.Thread(target=self._run, name="tradewind-notify", daemon=True)
            self._thread.start()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until everything queued was delivered (or failed); False on timeout."""
        with self._ready:
            return self._ready.wait_for(lambda: not self._pending and not self._busy, timeout_s)

    def close(self, timeout_s: float = 10.0) -> bool:
        """Deliver what is queued, then stop the thread; False when ``timeout_s`` ran out first
        (what is left is logged)."""
        with self._ready:
            self._closing = True
            self._ready.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        with self._ready:
            left = len(self._pending) + self._busy
            if thread is None or not thread.is_alive():
                self._thread = None
        if left:
            log.warning("notifications: %d message(s) not delivered at shutdown", left)
        return left == 0

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._pending or self._closing)
                if not self._pending:
                    return
                notification = self._pending.popleft()
                self._busy = True
            try:
                self._deliver(notification)
            finally:
                with self._ready:
                    self._busy = False
                    self._ready.notify_all()

    def _deliver(self, notification: Notification) -> None:
        for i, (scheme, service) in enumerate(self.services, start=1):
            try:
                # TEXT: an HTML target (e-mail) escapes it and keeps its line breaks.
                answer = service.notify(
                    body=notification.body, title=notification.title,
                    notify_type=_TYPES[notification.level], body_format=apprise.NotifyFormat.TEXT,
                )  # fmt: skip
                ok = bool(answer)
                why = "the service refused it or did not answer"
            except Exception as exc:  # a plugin's bug must not end the delivery thread
                ok, why = False, type(exc).__name__
            if ok:
                self.sent += 1
            else:
                self.failed += 1
                log.warning(
                    "notification %r not delivered by service %d (%s://...): %s",
                    notification.title, i, scheme, why,
                )  # fmt: skip
