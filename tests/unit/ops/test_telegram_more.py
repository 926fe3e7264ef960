"""The Telegram bot's research commands (jobs run by the real worker), the config reload, the
``[telegram]`` config's errors, and the token kept out of logs, reprs and errors."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pandas as pd
import pyotp
import pytest
from ops_bot import AUDIT_KEY, Bot, make_bot
from pydantic import SecretStr
from telegram_kit import config, telegram

from tradewind.config import TelegramConfig, load_config
from tradewind.core.errors import ConfigError, UserError
from tradewind.logs import LogConfig, setup_logging
from tradewind.ml.artifact import ModelCard
from tradewind.ops.facade import ControlFacade
from tradewind.ops.jobs import work
from tradewind.ops.keystore import Keystore
from tradewind.ops.secrets import Secret
from tradewind.ops.telegram import TelegramBot, TelegramStartError, telegram_token
from tradewind.ops.two_factor import TwoFactor
from tradewind.persistence.model_registry import register_model
from tradewind.risk.config import BreakerConfig
from tradewind.testing.telegram_fake import FakeBotApi

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abc-def"


async def test_backtest_and_optimize_queue_jobs_the_worker_runs(bot: Bot) -> None:
    async with telegram(bot.facade) as (op, _, _):
        queued = (await op.say("/backtest sma_cross fast=5 slow=20 bars=3000"))["text"]
        misspelt = (await op.say("/backtest sma_cross fastt=5"))["text"]
        unknown = (await op.say("/backtest no_such_strategy"))["text"]
        ours = (await op.say("/optimize"))["text"]  # the bot's own strategy is not registered
        optimise = (await op.say("/optimize sma_cross 3 bars=2000"))["text"]
        listed = (await op.say("/jobs"))["text"]
        url = bot.database.engine.url.render_as_string(hide_password=False)
        assert work(url, once=True, nice=0) == 2
        result = (await op.say("/jobs 1"))["text"]
        missing = (await op.say("/jobs 99"))["text"]
    assert queued.startswith("🧪 Backtest of sma_cross queued as job #1")
    assert misspelt.startswith("⛔")
    assert "fastt" in misspelt
    assert unknown.startswith("⛔")
    assert "no_such_strategy" in unknown
    assert ours.startswith("⛔")
    assert "every_fifty" in ours
    assert optimise.startswith("🧪 Optimisation of sma_cross queued as job #2")
    assert "#2 optimize sma_cross: queued" in listed
    assert "#1 backtest sma_cross: queued" in listed
    [done] = [j for j in bot.facade.jobs() if j["id"] == 1]
    trades = done["result"]["metrics"]["trade_count"]
    assert trades > 0
    assert f"Trades: {trades:,}" in result
    assert "Job #1</b> backtest · done" in result
    assert "no job 99" in missing
    actions = [(r["action"], r["actor"]) for r in bot.facade.operator_actions(10)]
    assert actions.count(("start_job", "telegram:42")) == 5  # three refused, two queued


async def test_ml_retrain_lists_the_models_and_queues_a_retraining_job(
    bot: Bot, tmp_path: Path, shared_data: Path
) -> None:
    candles = shared_data / "candles" / "ETH_BTC-5m.feather"
    async with telegram(bot.facade) as (op, _, _):
        none = (await op.say("/ml_retrain"))["text"]
        card = ModelCard(
            model_type="lightgbm", target="direction", horizon=12, features=("ret_1",),
            parameters={}, symbol="BTC/USDT", timeframe="1m", data_start_ts=0,
            data_end_ts=60_000, data_hash="0" * 64, code_version="test",
        )  # fmt: skip
        register_model(bot.database.engine, name="btc-direction", version=1, card=card,
                       folder=tmp_path, files={})  # fmt: skip
        some = (await op.say("/ml_retrain"))["text"]
        missing = (await op.say(f"/ml_retrain btc-direction {tmp_path / 'none.feather'}"))["text"]
        queued = (await op.say(f"/ml_retrain btc-direction {candles}"))["text"]
    assert none.startswith("No ML model is registered")
    assert "Registered: btc-direction v1 (candidate)" in some
    assert "/ml_retrain NAME CANDLE_FILE" in some
    assert "a candle file that exists" in missing
    assert "Retraining of btc-direction queued as job #1" in queued
    [job] = bot.facade.jobs()
    assert (job["kind"], job["spec"]) == ("ml_retrain", {"model": "btc-direction",
                                                         "data": str(candles)})  # fmt: skip


async def test_an_internal_failure_is_logged_and_answered_without_detail(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    async with telegram(bot.facade) as (op, _, _):
        # The database file is gone under the running bot: reading the jobs fails in SQLite.
        path = Path(str(bot.database.engine.url.database))
        bot.database.engine.dispose()
        path.unlink()
        failed = (await op.say("/jobs"))["text"]
        status = (await op.say("/status"))["text"]  # the bot goes on answering
    assert failed == "⚠️ The command failed inside the bot; its log has the details."
    assert "Equity" in status
    [record] = [r for r in caplog.records if "a command failed" in r.getMessage()]
    assert "OperationalError" in record.getMessage()
    assert record.exc_info is not None


async def test_reload_config_asks_then_applies_the_reloadable_keys(
    bot: Bot, tmp_path: Path
) -> None:
    path = tmp_path / "tradewind.toml"
    path.write_text('[log]\nlevel = "INFO"\n')
    facade = ControlFacade(bot.node, bot.database, AUDIT_KEY, config=load_config(path, env={}),
                           config_path=path)  # fmt: skip
    level = logging.getLogger("tradewind").level
    try:
        async with telegram(facade) as (op, _, _):
            path.write_text('[log]\nlevel = "WARNING"\n')
            ask = await op.say("/reload_config")
            assert logging.getLogger("tradewind").level == level
            done = await op.press(ask, 0)
            assert logging.getLogger("tradewind").level == logging.WARNING
            path.write_text('[database]\nurl = "sqlite:///elsewhere.db"\n')
            refused = await op.press(await op.say("/reload_config"), 0)
    finally:
        logging.getLogger("tradewind").setLevel(level)
    assert "tradewind.toml" in ask["text"]
    assert done == "✅ Config reload: applied log.level"
    assert refused.startswith("⛔ /reload_config refused: not reloadable while the bot runs")
    assert "database.url" in refused
    outcomes = [r["outcome"] for r in facade.operator_actions(5)]
    assert outcomes[0].startswith("refused:")
    assert outcomes[1] == "applied log.level"


async def test_the_token_stays_out_of_logs_reprs_and_errors(bot: Bot) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    setup_logging(LogConfig(level="DEBUG"), stream=stream)
    try:
        async with telegram(bot.facade) as (op, api, tg):
            await op.say("/status")
            shown = repr(tg) + str(tg) + repr(tg.config)
        # httpx logs every request's URL at INFO, and the URL holds the token: it is redacted.
        logged = stream.getvalue()
        assert "getUpdates" in logged
        assert api.token not in logged
        assert api.token not in shown
        async with FakeBotApi() as other:
            wrong = TelegramBot(bot.facade, config(other), Secret(TOKEN))
            with pytest.raises(TelegramStartError, match="refused the bot token") as refused:
                await wrong.start()
        assert TOKEN not in str(refused.value)
        unreachable = TelegramBot(
            bot.facade, config(other, api_url="http://127.0.0.1:9/bot"), Secret(TOKEN)
        )
        with pytest.raises(TelegramStartError, match="cannot reach") as down:
            await unreachable.start()
        assert TOKEN not in str(down.value)
        assert TOKEN not in stream.getvalue()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


@pytest.mark.parametrize(
    ("env", "overrides", "message"),
    [
        ({}, {"telegram.allowed_users": [1]}, "must take the bot token from exactly one place"),
        ({"TRADEWIND__TELEGRAM__TOKEN": TOKEN},
         {"telegram.allowed_users": [1], "telegram.keystore_entry": "tg"},
         "must take the bot token from exactly one place"),
        ({"TRADEWIND__TELEGRAM__TOKEN": "not-a-token-at-all"}, {"telegram.allowed_users": [1]},
         "has a token that does not look like a Bot API token"),
        ({"TRADEWIND__TELEGRAM__TOKEN": TOKEN}, {}, "has no allowed_users"),
        ({"TRADEWIND__TELEGRAM__TOKEN": TOKEN}, {"telegram.allowed_users": ["alice"]},
         "'telegram.allowed_users.0' in command line must be an integer, got 'alice'"),
        ({"TRADEWIND__TELEGRAM__TOKEN": TOKEN, "TRADEWIND__TELEGRAM__ALLOWED_USER": "1"}, {},
         "unknown config key 'telegram.allowed_user' in environment variable "
         "TRADEWIND__TELEGRAM__ALLOWED_USER (did you mean 'allowed_users'?)"),
        ({"TRADEWIND__TELEGRAM__TOKEN": TOKEN},
         {"telegram.allowed_users": [1], "telegram.commands_per_minute": 0},
         "telegram.commands_per_minute"),
    ],
)  # fmt: skip
def test_bad_telegram_config_is_refused_by_name(
    env: dict[str, str], overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(env=env, overrides=overrides)
    assert message in str(refused.value)
    assert "ABCDEFGHIJ" not in str(refused.value)


def test_the_token_comes_from_the_environment_or_the_keystore(tmp_path: Path) -> None:
    from_env = load_config(env={"TRADEWIND__TELEGRAM__TOKEN": TOKEN},
                           overrides={"telegram.allowed_users": [7]})  # fmt: skip
    assert from_env.telegram is not None
    assert telegram_token(from_env.telegram).reveal() == TOKEN
    cfg = TelegramConfig(keystore_entry="telegram.bot", allowed_users=(7,))
    with pytest.raises(UserError, match="no keystore is open"):
        telegram_token(cfg)
    store = Keystore.create(tmp_path / "keys.twk", Secret("a long passphrase"))
    store.add("telegram.bot", "telegram", Secret(TOKEN))
    assert telegram_token(cfg, store).reveal() == TOKEN
    with pytest.raises(UserError, match="no entry 'other'"):
        telegram_token(TelegramConfig(keystore_entry="other", allowed_users=(7,)), store)
    assert TOKEN not in repr(TelegramConfig(token=SecretStr(TOKEN), allowed_users=(7,)))


async def test_resuming_after_an_emergency_stop_needs_a_two_factor_code(
    bot: Bot, tmp_path: Path
) -> None:
    store = Keystore.create(tmp_path / "keys.twk", Secret("a long passphrase"))
    now = [1_800_000_000.0]
    two_factor = TwoFactor(store, tmp_path / "2fa.json", clock=lambda: now[0])
    totp = pyotp.parse_uri(two_factor.enroll("telegram:42").uri.reveal())
    bot.facade.two_factor = two_factor
    async with telegram(bot.facade) as (op, _, _):
        # A plain pause needs no code.
        await op.say("/pause")
        assert "Resumed" in (await op.say("/resume"))["text"]
        await op.press(await op.say("/emergency_stop"), 0)
        missing = (await op.say("/resume"))["text"]
        right = totp.at(now[0])
        wrong = (await op.say(f"/resume {(int(right) + 1) % 1_000_000:06d}"))["text"]
        bob = (await op.say(f"/resume {right}", user=43))["text"]  # Bob is not enrolled
        assert bot.facade.status()["halted"] is True
        resumed = (await op.say(f"/resume {right} all clear"))["text"]
        assert bot.facade.status()["halted"] is False
        await op.press(await op.say("/emergency_stop"), 0)
        replayed = (await op.say(f"/resume {right}"))["text"]
    assert missing.startswith("⛔ this action needs a two-factor code")
    assert "/resume CODE [reason]" in missing
    assert wrong.startswith("⛔ the two-factor code is wrong")
    assert bob.startswith("⛔ operator 'telegram:43' has no two-factor enrollment")
    assert resumed.startswith("▶️ Resumed")
    assert replayed.startswith("⛔ the two-factor code was used already")
    assert bot.facade.status()["halted"] is True
    resumes = [r for r in bot.facade.operator_actions(20) if r["action"] == "resume"]
    # Newest first: the replay, the resume, then Bob's, the wrong and the missing code refused.
    assert [r["outcome"].split(":")[0] for r in resumes[:5]] == [
        "refused", "resumed", "refused", "refused", "refused"]  # fmt: skip
    assert json.loads(resumes[1]["detail"])["reason"] == "all clear"


async def test_changing_risk_limits_from_telegram_needs_a_fresh_code(
    minutes: pd.DataFrame, tmp_path: Path
) -> None:
    bot = make_bot(minutes, tmp_path, breakers=BreakerConfig())  # under the risk engine
    store = Keystore.create(tmp_path / "keys.twk", Secret("a long passphrase"))
    now = [1_800_000_000.0]
    two_factor = TwoFactor(store, tmp_path / "2fa.json", clock=lambda: now[0])
    totp = pyotp.parse_uri(two_factor.enroll("telegram:42").uri.reveal())
    bot.facade.two_factor = two_factor
    async with telegram(bot.facade) as (op, _, _):
        usage = (await op.say("/risk_limits"))["text"]
        missing = (await op.say("/risk_limits max_positions=2"))["text"]
        bad = (await op.say(f"/risk_limits max_positions=two {totp.at(now[0])}"))["text"]
        code = totp.at(now[0])
        done = (await op.say(f"/risk_limits max_positions=2 max_heat=off {code} calmer"))["text"]
        replayed = (await op.say(f"/risk_limits max_positions=5 {code}"))["text"]
        shown = (await op.say("/risk"))["text"]
    assert usage.startswith("⛔ usage: /risk_limits NAME=VALUE")
    assert missing.startswith("⛔ this action needs a two-factor code")
    assert "/risk_limits NAME=VALUE ... CODE [reason]" in missing
    assert bad.startswith("⛔ max_positions takes a number (or off), got 'two'")
    assert done.startswith("🛡 Risk limits set: max_heat=None, max_positions=2")
    assert replayed.startswith("⛔ the two-factor code was used already")
    assert "Limits: max_positions 2" in shown
    assert bot.node.gate.default.limits.max_positions == 2  # type: ignore[attr-defined]
    rows = [r for r in bot.facade.operator_actions(20) if r["action"] == "set_risk_limits"]
    assert [r["outcome"].split(":")[0] for r in rows] == ["refused", "limits set", "refused"]
    assert json.loads(rows[1]["detail"])["reason"] == "calmer"
