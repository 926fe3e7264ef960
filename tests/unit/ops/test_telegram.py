"""The Telegram bot through the real python-telegram-bot, polling a loopback fake of the Bot API,
on a bot trading the real BTC minutes on the simulated venue: each command's effect is checked on
the venue's side (its request log) and in the HMAC-chained operator-actions table; strangers get
no answer; destructive commands act only on their Confirm button; commands are rate-limited."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ops_bot import AUDIT_KEY, SYMBOL, Bot
from telegram_kit import ALICE, BOB, GROUP, STRANGER, telegram, trade_with

from tradewind.ops.telegram_text import amount, money
from tradewind.persistence.audit import verify_chain


async def test_pause_stop_entries_force_exit_and_emergency_stop_act_on_the_venue(bot: Bot) -> None:
    texts: dict[str, str] = {}
    rows: dict[str, dict[str, Any]] = {}
    async with telegram(bot.facade) as (op, api, _):

        async def pause() -> None:
            texts["pause"] = (await op.say("/pause news at 14:00"))["text"]

        async def resume() -> None:
            texts["resume"] = (await op.say("/resume"))["text"]

        async def stop_entry() -> None:
            texts["stop"] = (await op.say("/stopentry btc/usdt"))["text"]

        async def allow_entry() -> None:
            texts["allow"] = (await op.say("/allowentry BTC-USDT"))["text"]

        async def force_exit() -> None:
            texts["positions"] = (await op.say("/positions"))["text"]
            [rows["held"]] = bot.facade.positions()
            ask = await op.say("/forceexit BTC/USDT taking profit")
            texts["ask_exit"] = ask["text"]
            # Nothing happens on the question alone: no reduce-only order reached the venue.
            assert not [o for kind, _, o in bot.port.requests if kind == "submit" and o.reduce_only
                        and o.tag.startswith("force exit")]  # fmt: skip
            texts["exit"] = await op.press(ask, 0)

        async def emergency() -> None:
            ask = await op.say("/emergency_stop")
            texts["ask_stop"] = ask["text"]
            texts["stop_done"] = await op.press(ask, 0)
            texts["status"] = (await op.say("/status"))["text"]

        await trade_with(bot, {1000: pause, 1500: resume, 2000: stop_entry, 2500: allow_entry,
                               2710: force_exit, 3560: emergency})  # fmt: skip

    entry_times = [ts for ts, _ in bot.entries()]
    assert entry_times, "the bot traded"
    # Paused from bar 1000's close to bar 1500's: the venue got no entry (two were due).
    assert not [t for t in entry_times if bot.bar_close(1000) <= t < bot.bar_close(1500)]
    assert [t for t in entry_times if bot.bar_close(1500) <= t < bot.bar_close(2000)]
    assert "Paused" in texts["pause"]
    assert "Resumed" in texts["resume"]
    # Entries stopped in the symbol from bar 2000 to 2500: none reached the venue.
    assert not [t for t in entry_times if bot.bar_close(2000) <= t < bot.bar_close(2500)]
    assert f"entries stopped in {SYMBOL}" in texts["stop"]
    assert f"entries allowed in {SYMBOL}" in texts["allow"]
    # /positions before it: the long, marked at the last close, with its open PnL in USDT.
    held = rows["held"]
    assert f"<b>BTC/USDT</b> LONG {amount(held['quantity'], 'BTC')} @ " in texts["positions"]
    assert f"open PnL <b>{money(held['unrealized_pnl'], 'USDT')}</b>" in texts["positions"]
    # Force exit at bar 2710 while long: asked first, then a reduce-only sell at that time.
    assert "Force exit BTC/USDT" in texts["ask_exit"]
    assert "every_fifty" in texts["ask_exit"]
    exits = [o for kind, ts, o in bot.port.requests
             if kind == "submit" and o.reduce_only and ts == bot.bar_close(2710)]  # fmt: skip
    assert len(exits) == 1
    assert exits[0].tag == "force exit: taking profit"
    assert texts["exit"] == "✅ Force exit BTC/USDT: exiting 1 position(s)"
    # Emergency stop at bar 3560 while long: flattened, halted, no entry after it.
    assert "flatten 1 position(s)" in texts["ask_stop"]
    assert texts["stop_done"].startswith("✅ Emergency stop: halted;")
    assert "HALTED" in texts["status"]
    assert not [t for t in entry_times if t >= bot.bar_close(3560)]
    assert bot.venue._working == {}
    assert bot.venue.balance("BTC") < Decimal("0.001")
    # Every action is in the chain, by the Telegram user, over the telegram channel, with why.
    rows = bot.facade.operator_actions(20)
    assert [r["action"] for r in reversed(rows)] == [
        "pause", "resume", "stop_entries", "allow_entries", "force_exit", "emergency_stop",
    ]  # fmt: skip
    assert {r["actor"] for r in rows} == {f"telegram:{ALICE}"}
    assert {r["channel"] for r in rows} == {"telegram"}
    assert json.loads(rows[-1]["detail"])["reason"] == "news at 14:00"
    assert verify_chain(bot.database.engine, AUDIT_KEY).ok
    # The command menu was published.
    assert "emergency_stop" in {c["command"] for c in api.commands}


async def test_reads_are_written_for_a_trader(bot: Bot) -> None:
    bot.run()
    async with telegram(bot.facade) as (op, _, _):
        status = (await op.say("/status"))["text"]
        profit = (await op.say("/profit"))["text"]
        balance = (await op.say("/balance"))["text"]
        positions = (await op.say("/positions"))["text"]
        risk = (await op.say("/risk"))["text"]
        health = (await op.say("/health"))["text"]
        helped = (await op.say("/help"))["text"]
        unknown = (await op.say("/moon"))["text"]
    equity = bot.node.account.equity()
    shown = amount(equity, "USDT")
    assert f"Equity: <b>{shown}</b>" in status
    assert "," in shown  # thousands grouped: equity is above 10,000 or just below
    assert "paper" in status
    assert "every_fifty" in status
    closed = bot.node.portfolio.trades
    pnl = sum((t.pnl for t in closed), Decimal(0))
    assert f"Session: <b>{amount(pnl, 'USDT', signed=True)}</b> · {len(closed)} trades" in profit
    assert str(amount(bot.node.account.balances()["USDT"], "USDT")) in balance
    held = bot.node.account.open_positions()
    assert ("No open position" in positions) == (not held)
    assert "Risk</b>: ACTIVE" in risk
    assert "✅ node" in health
    assert "✅ database" in health
    assert "/forceexit SYMBOL|all" in helped
    assert unknown == "Unknown command /moon: /help lists them."


async def test_strangers_get_no_answer_and_change_nothing(bot: Bot, caplog) -> None:  # type: ignore[no-untyped-def]
    async with telegram(bot.facade) as (op, api, tg):
        await op.silence("/pause", user=STRANGER)
        await op.silence("/emergency_stop", user=STRANGER)
        # An allowed user in a group that is not allowed: no answer either.
        await op.silence("/status", user=ALICE, chat=-5, chat_type="group")
        # A stranger in the allowed group: no answer.
        await op.silence("/pause", user=STRANGER, chat=GROUP, chat_type="supergroup")
        # A stranger pressing someone's Confirm button does nothing.
        ask = await op.say("/forceexit all")
        assert "No open position" in ask["text"]
        emergency = await op.say("/emergency_stop")
        before = len(api.answered)
        api.push_callback(
            emergency["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
            user_id=STRANGER, message=emergency["message"],
        )  # fmt: skip
        await op.silence("/pause", user=STRANGER)
        assert len(api.answered) == before
        assert not api.edited
        # The allowed user in the allowed group is answered.
        answer = await op.say("/status", user=BOB, chat=GROUP, chat_type="supergroup")
        assert answer["chat_id"] == str(GROUP)
        assert tg.ignored == 6
    assert bot.node.paused == ""
    assert bot.facade.operator_actions(10) == []
    warnings = [r.getMessage() for r in caplog.records if "not allow-listed" in r.getMessage()]
    assert (
        f"telegram: ignored an update from user {STRANGER} in chat {STRANGER} (not allow-listed)"
        in warnings
    )


async def test_destructive_commands_act_only_on_their_confirm(bot: Bot) -> None:
    seen: dict[str, str] = {}
    async with telegram(bot.facade, confirm_timeout_s=30) as (op, _, _):

        async def at_2710() -> None:
            assert bot.node.account.open_positions()
            # Cancel: nothing done.
            ask = await op.say("/forceexit all")
            seen["cancel"] = await op.press(ask, 1)
            # Another allowed user cannot confirm Alice's command.
            ask = await op.say("/forceexit all")
            seen["bob"] = await op.press(ask, 0, user=BOB)
            # Too late: expired.
            op.clock.now += 31
            seen["late"] = await op.press(ask, 0)
            # Pressing a used button again does nothing.
            seen["again"] = await op.press(ask, 0)
            assert not [o for kind, _, o in bot.port.requests
                        if kind == "submit" and o.reduce_only and o.tag.startswith("force exit")]  # fmt: skip
            assert bot.node.account.open_positions()
            # Confirmed in time: the exit goes to the venue.
            ask = await op.say("/forceexit all")
            seen["yes"] = await op.press(ask, 0)

        await trade_with(bot, {2710: at_2710})
    assert seen["cancel"] == "✖️ /forceexit cancelled: nothing was done."
    assert seen["bob"] == "Only the user who sent the command can confirm it."
    assert seen["late"] == "⌛ /forceexit expired: nothing was done. Send it again."
    assert seen["again"] == "This confirmation was used or is unknown; nothing done."
    assert seen["yes"] == "✅ Force exit all: exiting 1 position(s)"
    exits = [o for kind, ts, o in bot.port.requests
             if kind == "submit" and o.reduce_only and ts == bot.bar_close(2710)]  # fmt: skip
    assert len(exits) == 1
    assert [r["action"] for r in bot.facade.operator_actions(10)] == ["force_exit"]


async def test_blacklist_asks_then_stops_entries_in_the_symbol(bot: Bot) -> None:
    async with telegram(bot.facade) as (op, _, _):
        empty = (await op.say("/blacklist"))["text"]
        ask = await op.say("/blacklist BTC/USDT delisting rumour")
        assert bot.node.stopped_entries == {}
        done = await op.press(ask, 0)
        listed = (await op.say("/blacklist"))["text"]
        wrong = (await op.say("/blacklist ETH/USDT"))["text"]
    assert empty.startswith("No symbol is blacklisted")
    assert done == "✅ BTC/USDT blacklisted: entries stopped in BTC/USDT"
    assert bot.node.stopped_entries == {SYMBOL: "blacklisted: delisting rumour"}
    assert "BTC/USDT: blacklisted: delisting rumour" in listed
    assert "does not trade 'ETH/USDT'" in wrong
    bot.run()
    assert bot.entries() == []  # the whole replay: not one entry reached the venue


async def test_commands_are_rate_limited_per_user(bot: Bot) -> None:
    async with telegram(bot.facade, commands_per_minute=3) as (op, _, _):
        for _ in range(3):
            assert "Equity" in (await op.say("/status"))["text"]
        slow = (await op.say("/status"))["text"]
        await op.silence("/pause")  # refused quietly: told once is enough
        # Bob has his own allowance.
        assert "Equity" in (await op.say("/status", user=BOB))["text"]
        op.clock.now += 60
        again = (await op.say("/status"))["text"]
    assert slow == "Slow down: at most 3 commands a minute. Try again in 60 s."
    assert "Equity" in again
    assert bot.node.paused == ""
