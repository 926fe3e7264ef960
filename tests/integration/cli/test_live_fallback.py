"""Repeated live failures make `tradewind trade --mode live` fall back to paper (recorded in the
audit trail); only `tradewind live-resume` with a two-factor code allows live again."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyotp
import pytest
from sqlalchemy import select
from tests.integration.cli.conftest import CliRunner

from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.ops.fallback import FallbackPolicy, live_refusal
from tradewind.persistence.bots import BotDatabase, open_bot
from tradewind.persistence.models import OperatorActionRow, TradingSession

PASSPHRASE = "a passphrase for the tests"
NOW = datetime.now(UTC)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("TRADEWIND_KEYSTORE_PASSPHRASE", PASSPHRASE)
    return monkeypatch


def _session(bot: BotDatabase, mode: str, ago_min: float, end: str | None) -> None:
    started = NOW - timedelta(minutes=ago_min)
    session = bot.start_session(mode=mode, strategies=["sma_cross"], parameters={},
                                config_hash="", code_version="", started_at=started)  # fmt: skip
    if end is not None:
        bot.end_session(session, end, ended_at=started + timedelta(seconds=30))


def _failing_bot(name: str = "desk") -> BotDatabase:
    bot = open_bot(name, bots_dir="user_data/bots")
    _session(bot, "live", 90, "error: ConnectionError")  # outside the 30-minute window
    _session(bot, "live", 20, "--max-bars 5 reached")  # a clean end
    _session(bot, "paper", 15, "error: RuntimeError")  # paper
    _session(bot, "live", 12, "error: ExchangeNotAvailable")
    _session(bot, "live", 8, None)  # killed: never ended
    return bot


def test_the_policy_counts_failed_live_sessions_in_the_window(cli: CliRunner) -> None:
    bot = _failing_bot()
    assert live_refusal(bot, FallbackPolicy(max_failed=3)) is None  # two failures count
    _session(bot, "live", 4, "error: AuthenticationError")
    refusal = live_refusal(bot, FallbackPolicy(max_failed=3))
    assert refusal is not None
    assert refusal.startswith("3 live sessions of bot 'desk' failed within 30 minutes")
    assert live_refusal(bot, FallbackPolicy(max_failed=3, window=timedelta(minutes=5))) is None


def test_live_resumes_only_with_a_two_factor_code(cli: CliRunner, env: pytest.MonkeyPatch) -> None:
    bot = _failing_bot()
    _session(bot, "live", 4, "error: AuthenticationError")
    resume = ("live-resume", "--bot", "desk", "--operator", "ops", "--reason", "fixed the key")
    unenrolled = cli(*resume, "--code", "123456")
    assert unenrolled.code == 2
    assert "no keystore" in unenrolled.err
    enrolled = cli("2fa", "enroll", "ops")
    assert enrolled.code == 0, enrolled.err
    totp = pyotp.parse_uri(re.findall(r"otpauth://\S+", enrolled.out)[0])
    wrong = cli(*resume, "--code", f"{(int(totp.now()) + 1) % 10**6:06d}")
    assert wrong.code == 2
    assert "wrong" in wrong.err
    assert live_refusal(bot, FallbackPolicy()) is not None
    assert cli(*resume, "--code", totp.now()).code == 0
    assert live_refusal(bot, FallbackPolicy()) is None
    with bot.engine.connect() as connection:
        row = connection.execute(select(OperatorActionRow).where(
            OperatorActionRow.action == "live_resume")).one()  # fmt: skip
    assert (row.actor, row.channel) == ("ops", "cli")


def test_a_failing_live_bot_trades_paper_instead(
    cli: CliRunner, env: pytest.MonkeyPatch, shared_data: Path
) -> None:
    bot = _failing_bot("flaky")
    _session(bot, "live", 4, "error: AuthenticationError")
    sim = SimExchange(seed=3, clock=SimClock(speed=math.inf), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    with LoopbackServer(sim) as server:
        env.setenv("TRADEWIND__EXCHANGE__REST_URL", server.rest_url)
        env.setenv("TRADEWIND__EXCHANGE__API_KEY", "key-of-a-failing-bot")
        env.setenv("TRADEWIND__EXCHANGE__SECRET", "secret-of-a-failing-bot")
        outcome = cli("trade", "--mode", "live", "--bot", "flaky", "-s", "sma_cross", "--symbol",
                      "XRP/ETH", "-t", "1m", "--max-capital", "1", "--i-understand-live-orders",
                      "--warmup", "20", "--max-bars", "3")  # fmt: skip
    assert outcome.code == 0, outcome.err
    assert "falling back to paper" in " ".join(outcome.out.split())
    assert "paper session" in outcome.out
    with bot.engine.connect() as connection:
        modes = connection.execute(select(TradingSession.mode).order_by(TradingSession.id))
        actions = connection.execute(select(OperatorActionRow.action)).scalars().all()
        assert list(modes.scalars())[-1] == "paper"
    assert "fallback_to_paper" in actions
