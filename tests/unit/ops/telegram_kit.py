"""The Telegram tests' kit: the real python-telegram-bot Application of :class:`TelegramBot`,
polling a loopback fake of the Bot API, and an operator who types commands and presses buttons."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from ops_bot import Bot
from pydantic import SecretStr

from tradewind.config import TelegramConfig
from tradewind.ops.facade import ControlFacade
from tradewind.ops.secrets import Secret
from tradewind.ops.telegram import TelegramBot
from tradewind.testing.telegram_fake import FakeBotApi

ALICE = 42
BOB = 43
GROUP = -100_777
STRANGER = 666
PROBE = 99


class Clock:
    """Monotonic seconds a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Operator:
    """Types commands into the fake and waits for the bot's answer."""

    def __init__(self, api: FakeBotApi, telegram: TelegramBot, clock: Clock) -> None:
        self.api = api
        self.telegram = telegram
        self.clock = clock

    async def say(self, text: str, *, user: int = ALICE, chat: int | None = None,
                  chat_type: str = "private") -> dict[str, Any]:  # fmt: skip
        """Send ``text`` and return the bot's reply (its sendMessage parameters)."""
        before = len(self.api.sent)
        self.api.push_command(text, user_id=user, chat_id=chat, chat_type=chat_type)
        await self.api.wait_for(lambda: len(self.api.sent) > before, timeout=15)
        return self.api.sent[before]

    async def silence(self, text: str, *, user: int = ALICE, chat: int | None = None,
                      chat_type: str = "private") -> None:  # fmt: skip
        """Send ``text`` and check the bot handled it without a word: a probe sent after it
        (from a user kept for that) is answered, and updates are handled in order."""
        before = len(self.api.sent)
        self.api.push_command(text, user_id=user, chat_id=chat, chat_type=chat_type)
        self.api.push_command("/help", user_id=PROBE)
        await self.api.wait_for(lambda: len(self.api.sent) > before, timeout=15)
        assert [m["chat_id"] for m in self.api.sent[before:]] == [str(PROBE)]

    async def press(self, reply: dict[str, Any], button: int, *, user: int = ALICE) -> str:
        """Press button ``button`` (0 Confirm, 1 Cancel) under ``reply``; returns the text the
        message was edited to, or the alert the bot answered with when it edited nothing."""
        data = reply["reply_markup"]["inline_keyboard"][0][button]["callback_data"]
        edited, answered = len(self.api.edited), len(self.api.answered)
        self.api.push_callback(data, user_id=user, message=reply["message"])

        def alerted() -> bool:
            return any(a.get("text") for a in self.api.answered[answered:])

        # A press is answered, then the message edited; a refused press gets an alert only.
        await self.api.wait_for(lambda: len(self.api.edited) > edited or alerted(), timeout=15)
        if len(self.api.edited) > edited:
            return str(self.api.edited[edited]["text"])
        return str(self.api.answered[answered].get("text", ""))


def config(api: FakeBotApi, **changes: Any) -> TelegramConfig:
    values: dict[str, Any] = {
        "token": SecretStr(api.token),
        "allowed_users": (ALICE, BOB, PROBE),
        "allowed_chats": (GROUP,),
        "api_url": api.base_url,
    }
    return TelegramConfig(**{**values, **changes})


@asynccontextmanager
async def telegram(
    facade: ControlFacade, **options: Any
) -> AsyncIterator[tuple[Operator, FakeBotApi, TelegramBot]]:
    """A started :class:`TelegramBot` on ``facade`` with its fake server and an operator."""
    clock = Clock()
    async with FakeBotApi() as api:
        cfg = config(api, **options)
        bot = TelegramBot(facade, cfg, Secret(api.token), clock=clock, poll_timeout_s=1)
        async with bot:
            yield Operator(api, bot, clock), api, bot


async def trade_with(bot: Bot, scenarios: dict[int, Callable[[], Awaitable[None]]]) -> None:
    """Run the bot's replay in a thread; at each bar in ``scenarios`` the trading thread waits
    while the scenario runs on this loop (an operator acting between two bars)."""
    loop = asyncio.get_running_loop()

    def operator(i: int, ctx: object) -> None:
        scenario = scenarios.get(i)
        if scenario is not None:
            asyncio.run_coroutine_threadsafe(scenario(), loop).result(timeout=60)

    bot.strategy.operator = operator
    await asyncio.to_thread(bot.run)
