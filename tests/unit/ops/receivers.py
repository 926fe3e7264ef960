"""Loopback receivers for the notification tests: an aiohttp webhook (what apprise's ``json://``
and ``form://`` post to) and an aiosmtpd mail server (``mailto://``), each on 127.0.0.1 in a
thread of its own, so a test that drives the bot synchronously still gets answers."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Received:
    """One request the webhook got: path, headers, and the fields it carried."""

    path: str
    headers: dict[str, str]
    fields: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.fields.get("title", ""))

    @property
    def message(self) -> str:
        return str(self.fields.get("message", ""))


class Webhook:
    """An HTTP server that records every POST. With :attr:`hold` cleared, each request waits
    until it is set (a service that does not answer)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.arrived = threading.Condition()
        self.hold = threading.Event()
        self.hold.set()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> Webhook:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def _handle(self, request: web.Request) -> web.Response:
        with self.arrived:
            self.arrived.notify_all()  # a request is in (even one we hold)
        await asyncio.get_running_loop().run_in_executor(None, self.hold.wait)
        if request.content_type == "application/json":
            fields = json.loads(await request.text())
        else:
            fields = {k: str(v) for k, v in (await request.post()).items()}
        got = Received(request.path, dict(request.headers), fields)
        with self.arrived:
            self.received.append(got)
            self.arrived.notify_all()
        return web.Response(text="ok")

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def titled(self, prefix: str) -> list[Received]:
        return [r for r in self.received if r.title.startswith(prefix)]

    def stop(self) -> None:
        self.hold.set()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@dataclass(frozen=True)
class Mail:
    """One message the SMTP server accepted."""

    sender: str
    recipients: list[str]
    subject: str
    body: str


class Mailbox:
    """An SMTP server (aiosmtpd) that keeps every message it is given."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.arrived = threading.Condition()
        self.port = free_port()
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port, server_hostname="localhost"
        )

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        part = parsed.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        mail = Mail(str(envelope.mail_from), list(envelope.rcpt_tos), str(parsed["subject"]), body)
        with self.arrived:
            self.mails.append(mail)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def start(self) -> Mailbox:
        self._controller.start()
        return self

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Mail]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.mails) >= count, timeout)
            return list(self.mails)

    def stop(self) -> None:
        self._controller.stop()


def free_port() -> int:
    """A port nobody listens on now (aiosmtpd cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
