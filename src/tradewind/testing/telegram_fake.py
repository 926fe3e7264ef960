"""A loopback fake of the Telegram Bot API, for testing real clients (python-telegram-bot, apprise)
without the internet.

It speaks the wire format the real server speaks: ``POST {base_url}{token}/{method}`` with the
parameters as a query string, a url-encoded or multipart form (where every non-string value is a
JSON string inside the field, as python-telegram-bot sends them) or a JSON body (as apprise sends
them); answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description":
...}`` with the same HTTP status. ``getUpdates`` long-polls: it holds the request until an update is
pushed, its ``timeout`` runs out or the fake stops.

A test plays the user: :meth:`FakeBotApi.push_command` puts a message (with the ``bot_command``
entity the real server computes) into the update queue, :meth:`FakeBotApi.push_callback` a button
press; what the bot sent is in :attr:`FakeBotApi.sent` and every call in :attr:`FakeBotApi.calls`.

Usage::

    async with FakeBotApi() as api:
        app = Application.builder().token(api.token).base_url(api.base_url).build()
        ...
        api.push_command("/status", user_id=42)
        [reply] = await api.wait_sent(1)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["BOT_USER", "MESSAGE_LIMIT", "TOKEN", "Call", "FakeBotApi"]

TOKEN = "123456:TEST-FAKE-TOKEN-abcdefghijklmnop"
"""The token the fake accepts unless told another."""

MESSAGE_LIMIT = 4096
"""Telegram's longest message text, in characters (after entity parsing; the fake counts raw)."""

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "FakeOps", "username": "fake_ops_bot"}


@dataclass(frozen=True)
class Call:
    """One Bot API call the fake received: the method (as sent) and its decoded parameters."""

    method: str
    params: dict[str, Any]


@dataclass
class _Failure:
    status: int
    description: str
    parameters: dict[str, Any] | None
    times: int


@dataclass
class _Chat:
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)


class FakeBotApi:
    """The fake server; start it with ``async with`` (or :meth:`start`/:meth:`stop`).

    Parameters
    ----------
    token
        The bot token it accepts; any other gets 401 Unauthorized, as from Telegram.
    host
        Where it listens (loopback; the port is chosen free at start).
    """

    def __init__(self, token: str = TOKEN, *, host: str = "127.0.0.1") -> None:
        self.token = token
        self.host = host
        self.port = 0
        self.calls: list[Call] = []
        self.sent: list[dict[str, Any]] = []
        self.edited: list[dict[str, Any]] = []
        self.answered: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._callback_ids = itertools.count(1)
        self._failures: dict[str, _Failure] = {}
        self._changed = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What to give ``ApplicationBuilder.base_url`` (the token is appended to it)."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """What to give ``ApplicationBuilder.base_file_url``."""
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self) -> FakeBotApi:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)  # aiohttp's TCPSite serves with asyncio
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening; held long polls answer at once (aiohttp would wait them out)."""
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- playing the user ----------------------------------------------------------------------

    def push_command(
        self,
        text: str,
        *,
        user_id: int,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Trader",
    ) -> dict[str, Any]:
        """Queue a text message from ``user_id`` in ``chat_id`` (their private chat by default);
        a leading ``/command`` gets its ``bot_command`` entity. Returns the message."""
        chat = chat_id if chat_id is not None else user_id
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(chat, chat_type),
            "from": {"id": user_id, "is_bot": False, "first_name": first_name},
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        self._push({"message": message})
        return message

    def push_callback(
        self, data: str, *, user_id: int, message: dict[str, Any], first_name: str = "Trader"
    ) -> str:
        """Queue a press of an inline button carrying ``data`` under ``message`` (one the bot
        sent, from :attr:`sent`); returns the callback query's id."""
        query_id = f"cbq-{next(self._callback_ids)}"
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": {"id": user_id, "is_bot": False, "first_name": first_name},
                    "chat_instance": f"ci-{message['chat']['id']}",
                    "data": data,
                    "message": message,
                }
            }
        )
        return query_id

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error, as Telegram does (a
        ``retry_after`` with 429 makes python-telegram-bot raise ``RetryAfter``)."""
        params = None if retry_after is None else {"retry_after": retry_after}
        self._failures[method.lower()] = _Failure(status, description, params, times)

    async def wait_sent(self, count: int, *, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until the bot has sent ``count`` messages in all; returns them."""
        await self.wait_for(lambda: len(self.sent) >= count, timeout=timeout)
        return self.sent[:count]

    async def wait_for(self, predicate: Any, *, timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds (checked after every call the fake answers)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    def called(self, method: str) -> list[Call]:
        """The calls of ``method`` received so far."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    # -- serving -------------------------------------------------------------------------------

    def _push(self, update: dict[str, Any]) -> None:
        self._updates.append({"update_id": next(self._update_ids), **update})
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        self.calls.append(Call(method, params))
        failure = self._failures.get(method.lower())
        if failure is not None:
            failure.times -= 1
            if failure.times <= 0:
                del self._failures[method.lower()]
            await self._notify()
            return _error(failure.status, failure.description, failure.parameters)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return _error(404, "Not Found")
        try:
            result = await handler(params)
        except _BadRequestError as exc:
            await self._notify()
            return _error(400, f"Bad Request: {exc}")
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        body = self.files.get(request.match_info["path"])
        return web.Response(status=404) if body is None else web.Response(body=body)

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()
        return True

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        # An offset confirms every update below it: Telegram forgets them.
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0 and not self._closing:
            async with self._changed:
                # No update in time: an empty answer, and the client polls again.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._updates) or self._closing),
                        timeout,
                    )
        return self._updates[:limit]

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        if "chat_id" not in params or not str(params.get("text", "")).strip():
            raise _BadRequestError("message text is empty or chat_id is missing")
        if len(str(params["text"])) > MESSAGE_LIMIT:
            raise _BadRequestError("message is too long")
        chat_id = int(params["chat_id"]) if _is_int(params["chat_id"]) else params["chat_id"]
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(
                chat_id, "private" if isinstance(chat_id, int) and chat_id > 0 else "group"
            ),
            "from": BOT_USER,
            "text": str(params["text"]),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.sent.append({**params, "message": message})
        return message

    async def _m_editmessagetext(self, params: dict[str, Any]) -> Any:
        self.edited.append(params)
        for sent in self.sent:
            message = sent["message"]
            if message["message_id"] == int(params.get("message_id") or 0):
                message["text"] = params.get("text", message["text"])
                if "reply_markup" in params:
                    message["reply_markup"] = params["reply_markup"]
                else:
                    message.pop("reply_markup", None)
                return message
        raise _BadRequestError("message to edit not found")

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        self.edited.append(params)
        return True

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        self.answered.append(params)
        return True

    async def _m_setmycommands(self, params: dict[str, Any]) -> Any:
        self.commands = list(params.get("commands") or [])
        return True

    async def _m_getmycommands(self, params: dict[str, Any]) -> Any:
        return self.commands

    async def _m_deletemycommands(self, params: dict[str, Any]) -> Any:
        self.commands = []
        return True

    async def _m_getfile(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise _BadRequestError("invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}",
                "file_size": len(self.files[file_id]), "file_path": file_id}  # fmt: skip


class _BadRequestError(Exception):
    """A call Telegram would refuse with 400 (the message is its description)."""


async def _params(request: web.Request) -> dict[str, Any]:
    """Query, form (url-encoded or multipart) and JSON bodies alike; form values that hold JSON
    (python-telegram-bot sends every non-string that way) are decoded."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params
    if request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            params[key] = value if not isinstance(value, str) else _decode(value)
    return params


def _decode(value: str) -> Any:
    if value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _is_int(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


def _chat(chat_id: Any, chat_type: str) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type != "private":
        chat["title"] = f"chat {chat_id}"
    return chat


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)
