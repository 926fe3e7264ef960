"""The loopback Bot API fake answers the real python-telegram-bot as Telegram does: long polling,
replies with inline keyboards, button presses, JSON-in-form parameters and Telegram's errors."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, InvalidToken, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from tradewind.testing.telegram_fake import FakeBotApi


async def _ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("again", callback_data="again")]])
    await context.bot.send_message(update.effective_chat.id, f"pong {context.args}",
                                   reply_markup=keyboard)  # fmt: skip


async def _again(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("ok")
    await query.edit_message_text("pressed")


def _app(api: FakeBotApi, token: str | None = None) -> Application:  # type: ignore[type-arg]
    app = (
        Application.builder().token(token or api.token).base_url(api.base_url)
        .base_file_url(api.base_file_url).connect_timeout(2).build()
    )  # fmt: skip
    app.add_handler(CommandHandler("ping", _ping))
    app.add_handler(CallbackQueryHandler(_again))
    return app


async def test_command_reply_keyboard_and_button_round_trip() -> None:
    async with FakeBotApi() as api:
        app = _app(api)
        async with app:
            await app.updater.start_polling(timeout=1)  # type: ignore[union-attr]
            await app.start()
            api.push_command("/ping a b", user_id=42)
            [reply] = await api.wait_sent(1)
            assert reply["chat_id"] == "42"
            assert reply["text"] == "pong ['a', 'b']"
            # Non-string parameters arrive as JSON strings inside the form, decoded by the fake.
            assert reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "again"
            api.push_callback("again", user_id=42, message=reply["message"])
            await api.wait_for(lambda: bool(api.edited))
            assert api.answered[0]["text"] == "ok"
            assert api.edited[0]["text"] == "pressed"
            assert reply["message"]["text"] == "pressed"
            await app.updater.stop()  # type: ignore[union-attr]
            await app.stop()
        assert api.called("deleteWebhook")
        assert api.called("getUpdates")


async def test_a_message_without_the_command_entity_is_not_a_command() -> None:
    async with FakeBotApi() as api:
        app = _app(api)
        async with app:
            await app.updater.start_polling(timeout=1)  # type: ignore[union-attr]
            await app.start()
            api.push_command("hello /ping", user_id=42)
            api.push_command("/ping", user_id=42)
            [reply] = await api.wait_sent(1)
            assert reply["text"] == "pong []"
            await app.updater.stop()  # type: ignore[union-attr]
            await app.stop()
        assert len(api.sent) == 1


async def test_errors_map_to_the_clients_exceptions(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns that RetryAfter.retry_after becomes a timedelta; opt in now.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    async with FakeBotApi() as api:
        request = HTTPXRequest(connect_timeout=2)
        stranger = Bot("999:WRONG-TOKEN-zzzzzzzzzzzzzzzzzzzz", base_url=api.base_url,
                       request=request)  # fmt: skip
        await request.initialize()
        with pytest.raises(InvalidToken):
            await stranger.get_me()
        await request.shutdown()
        app = _app(api)
        async with app:
            api.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
            with pytest.raises(RetryAfter):
                await app.bot.send_message(42, "x")
            with pytest.raises(BadRequest, match="empty"):
                await app.bot.send_message(42, " ")
            with pytest.raises(BadRequest, match="too long"):
                await app.bot.send_message(42, "x" * 4097)
            message = await app.bot.send_message(42, "fine")
            assert message.text == "fine"
