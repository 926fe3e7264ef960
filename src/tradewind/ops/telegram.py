"""The Telegram bot: a thin adapter over the control facade, polling on the trading loop.

Every command is one facade call (a read, or an action written to the operator-actions chain with
``channel="telegram"`` and the user's id), so Telegram can do nothing the REST API cannot, and
nothing differently. Three guards sit in front of every command:

- **Allow list.** Only the user ids in ``[telegram].allowed_users`` are answered, in their private
  chat or in a group chat listed in ``allowed_chats``. Anyone else gets no reply at all (a reply
  would confirm the bot exists and whose it is); the attempt is logged with the ids.
- **Rate limit.** Each user may send ``commands_per_minute`` commands in any minute; past that
  the bot says how long to wait, once, and ignores the rest until the window moves on.
- **Confirmation.** Destructive commands (``/forceexit``, ``/emergency_stop``,
  ``/reload_config``, ``/blacklist``) only describe what they would do, with a Confirm and a Cancel
  button; the action runs when the same user presses Confirm within ``confirm_timeout_s``, once.

Updates are fetched by long polling (no public address needed). Updates that queued while the
bot was down are dropped at start: an hour-old ``/pause`` should not act now.

The facade is not thread-safe; handlers call it on the loop that runs the bot, which must be the
loop that drives the Node (the paper and live runtimes run both on one loop).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tradewind.config import TelegramConfig
from tradewind.core.errors import UserError
from tradewind.ops.facade import Actor, ControlFacade
from tradewind.ops.keystore import Keystore
from tradewind.ops.secrets import Secret
from tradewind.ops.telegram_commands import COMMANDS, Ask, CommandCall, Commands
from tradewind.ops.telegram_text import escape, fit

__all__ = ["TelegramBot", "TelegramStartError", "telegram_token"]

_log = logging.getLogger(__name__)


class TelegramStartError(UserError):
    """The bot could not start (token refused, server unreachable); the message says which."""


def telegram_token(config: TelegramConfig, keystore: Keystore | None = None) -> Secret:
    """The bot token named by ``config``: its ``token`` (from the environment) or its keystore
    entry.

    Raises
    ------
    UserError
        When the config names a keystore entry and no keystore is open, or the entry is missing.
    """
    if config.token is not None:
        return Secret(config.token.get_secret_value())
    if keystore is None:
        raise UserError(
            f"[telegram] keystore_entry is {config.keystore_entry!r}, but no keystore is open: "
            "give its passphrase (TRADEWIND_KEYSTORE_PASSPHRASE) or set TRADEWIND__TELEGRAM__TOKEN"
        )
    assert config.keystore_entry is not None  # the config validator checks one of the two is set
    return keystore.get(config.keystore_entry)


@dataclass(frozen=True)
class _Pending:
    """A destructive command waiting for its Confirm button."""

    command: str
    run: Callable[[Actor], str]
    user_id: int
    expires: float


class _RateLimit:
    """At most ``limit`` commands per user in any ``window_s`` seconds of ``clock``."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._told: set[int] = set()

    def check(self, user_id: int) -> tuple[bool, float, bool]:
        """Whether the user may go on; if not, seconds to wait and whether to say so (only the
        first refusal in a window is answered, so the bot does not become the spammer)."""
        now = self.clock()
        seen = self._seen.setdefault(user_id, deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        if len(seen) < self.limit:
            seen.append(now)
            self._told.discard(user_id)
            return True, 0.0, False
        wait = seen[0] + self.window_s - now
        tell = user_id not in self._told
        self._told.add(user_id)
        return False, wait, tell


class TelegramBot:
    """The Telegram front end of one running bot.

    Parameters
    ----------
    facade
        The running bot's control facade; every command is one of its calls.
    config
        The ``[telegram]`` table: allow lists, rate limit, confirmation timeout, server URL.
    token
        The bot token (see :func:`telegram_token`); it never appears in a log line, a repr or an
        error this class raises.
    clock
        Monotonic seconds, for the rate limit and confirmation expiry (tests move it).
    poll_timeout_s
        The long-poll timeout of ``getUpdates``: how long one request waits for an update.

    Use ``async with TelegramBot(...)`` (or :meth:`start` and :meth:`stop`) on the loop that
    drives the Node.
    """

    def __init__(
        self,
        facade: ControlFacade,
        config: TelegramConfig,
        token: Secret,
        *,
        clock: Callable[[], float] = time.monotonic,
        poll_timeout_s: int = 10,
    ) -> None:
        self.facade = facade
        self.config = config
        self.commands = Commands(facade)
        self.clock = clock
        self.poll_timeout_s = poll_timeout_s
        self._token = token
        self._limit = _RateLimit(config.commands_per_minute, 60.0, clock)
        self._pending: dict[str, _Pending] = {}
        self.ignored = 0
        """Updates dropped because their sender or chat is not allow-listed."""
        # Our own request objects, so a failed start can close them (PTB's shutdown() skips an
        # application that never finished initialize()).
        self._requests = (HTTPXRequest(connect_timeout=5), HTTPXRequest(connect_timeout=5))
        self.application = (
            Application.builder()
            .token(token.reveal())
            .base_url(config.api_url)
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
            .build()
        )
        self._install_handlers()

    def __repr__(self) -> str:
        return f"TelegramBot(bot={self.facade.bot.name!r}, users={list(self.config.allowed_users)})"

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token, publish the command menu and start polling on the running loop.

        Raises
        ------
        TelegramStartError
            When Telegram refuses the token or cannot be reached (the token is not in it).
        """
        app = self.application
        try:
            await app.initialize()
            await app.bot.set_my_commands([BotCommand(n, d) for n, d in COMMANDS])
            assert app.updater is not None  # the builder always makes one
            await app.updater.start_polling(
                timeout=self.poll_timeout_s, drop_pending_updates=True,
                allowed_updates=["message", "callback_query"],
            )  # fmt: skip
            await app.start()
        except InvalidToken as exc:
            await self._close_quietly()
            raise TelegramStartError(
                f"the Telegram server refused the bot token ({self._scrub(str(exc))}): check "
                "TRADEWIND__TELEGRAM__TOKEN or the keystore entry"
            ) from None
        except TelegramError as exc:
            await self._close_quietly()
            raise TelegramStartError(
                f"cannot reach the Telegram server at {self._scrub(self.config.api_url)}: "
                f"{self._scrub(str(exc))}"
            ) from None
        _log.info(
            "telegram bot started for %d allow-listed user(s)", len(self.config.allowed_users)
        )

    async def stop(self) -> None:
        """Stop polling and close the HTTP client (a command being handled finishes first)."""
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def __aenter__(self) -> TelegramBot:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _close_quietly(self) -> None:
        app = self.application
        try:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            await app.shutdown()
            for request in self._requests:
                await request.shutdown()
        except Exception as exc:
            _log.warning(
                "telegram: closing after a failed start failed too: %s", self._scrub(str(exc))
            )

    def _scrub(self, text: str) -> str:
        return text.replace(self._token.reveal(), "***")

    # -- wiring --------------------------------------------------------------------------------

    def _install_handlers(self) -> None:
        app = self.application
        app.add_handler(TypeHandler(Update, self._guard), group=-1)
        for name, answer in self.commands.answers().items():
            app.add_handler(CommandHandler(name, self._answering(answer)))
        for name, ask in self.commands.asks().items():
            app.add_handler(CommandHandler(name, self._asking(name, ask)))
        app.add_handler(CallbackQueryHandler(self._pressed))
        # Only in private chats: in a group, "/x" may be meant for another bot.
        app.add_handler(MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, self._unknown))
        app.add_error_handler(self._failed)

    def _allowed(self, update: Update) -> bool:
        user, chat = update.effective_user, update.effective_chat
        if user is None or user.id not in self.config.allowed_users:
            return False
        if chat is None or chat.type == ChatType.PRIVATE:
            return True
        return chat.id in self.config.allowed_chats

    async def _guard(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not self._allowed(update):
            self.ignored += 1
            user, chat = update.effective_user, update.effective_chat
            _log.warning(
                "telegram: ignored an update from user %s in chat %s (not allow-listed)",
                None if user is None else user.id, None if chat is None else chat.id,
            )  # fmt: skip
            raise ApplicationHandlerStop
        message = update.message
        if message is None or not (message.text or "").startswith("/"):
            return
        assert update.effective_user is not None
        ok, wait, tell = self._limit.check(update.effective_user.id)
        if ok:
            return
        _log.warning("telegram: rate limit reached for user %s", update.effective_user.id)
        if tell:
            await message.reply_text(
                f"Slow down: at most {self.config.commands_per_minute} commands a minute. "
                f"Try again in {max(1, round(wait))} s."
            )
        raise ApplicationHandlerStop

    @staticmethod
    def _call(update: Update, context: ContextTypes.DEFAULT_TYPE) -> CommandCall:
        assert update.effective_user is not None  # the guard drops updates without a user
        return CommandCall(update.effective_user.id, list(context.args or []))

    def _answering(
        self, answer: Callable[[CommandCall], str]
    ) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Any]:
        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            call = self._call(update, context)
            try:
                text = answer(call)
            except UserError as exc:
                text = f"⛔ {escape(str(exc))}"
            await _reply(update, text)

        return handle

    def _asking(
        self, command: str, ask: Callable[[CommandCall], Ask]
    ) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Any]:
        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            call = self._call(update, context)
            try:
                asked = ask(call)
            except UserError as exc:
                await _reply(update, f"⛔ {escape(str(exc))}")
                return
            if isinstance(asked, str):  # nothing to confirm (no position, a usage line)
                await _reply(update, asked)
                return
            question, run = asked
            now = self.clock()
            self._pending = {k: p for k, p in self._pending.items() if p.expires > now}
            key = secrets.token_urlsafe(9)
            assert update.effective_user is not None
            self._pending[key] = _Pending(
                command, run, update.effective_user.id, now + self.config.confirm_timeout_s
            )
            buttons = InlineKeyboardMarkup(
                [[InlineKeyboardButton("✅ Confirm", callback_data=f"yes:{key}"),
                  InlineKeyboardButton("✖️ Cancel", callback_data=f"no:{key}")]]
            )  # fmt: skip
            seconds = round(self.config.confirm_timeout_s)
            await _reply(update, f"{question}\n<i>Confirm within {seconds} s.</i>", buttons)

        return handle

    async def _pressed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        assert update.effective_user is not None
        verdict, _, key = (query.data or "").partition(":")
        pending = self._pending.get(key)
        if pending is None:
            await query.answer()
            await query.edit_message_text("This confirmation was used or is unknown; nothing done.")
            return
        if pending.user_id != update.effective_user.id:
            await query.answer(
                "Only the user who sent the command can confirm it.", show_alert=True
            )
            return
        del self._pending[key]
        await query.answer()
        if verdict != "yes":
            text = f"✖️ /{pending.command} cancelled: nothing was done."
        elif self.clock() > pending.expires:
            text = f"⌛ /{pending.command} expired: nothing was done. Send it again."
        else:
            try:
                text = f"✅ {escape(pending.run(self._call(update, context).actor))}"
            except UserError as exc:
                text = f"⛔ /{pending.command} refused: {escape(str(exc))}"
        await query.edit_message_text(text, parse_mode=ParseMode.HTML)

    async def _unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        word = ((update.message and update.message.text) or "").split()[0]
        await _reply(update, f"Unknown command {escape(word)}: /help lists them.")

    async def _failed(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        # The traceback goes to the log (whose filter removes the token); the chat gets no detail.
        _log.error(
            "telegram: a command failed: %s: %s", type(error).__name__, self._scrub(str(error)),
            exc_info=error,
        )  # fmt: skip
        if (
            isinstance(update, Update)
            and update.effective_chat is not None
            and self._allowed(update)
        ):
            await context.bot.send_message(
                update.effective_chat.id,
                "⚠️ The command failed inside the bot; its log has the details.",
            )


async def _reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        fit(text), parse_mode=ParseMode.HTML, reply_markup=markup, do_quote=False
    )
