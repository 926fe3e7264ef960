"""The trading half of the leak session (imported by ``leak_session.py``, run in its process): a
paper and a live session against the exchange simulator with the canary key, each serving the
operator API, answering Telegram (a canary bot token) and notifying a webhook (a canary password
in its URL); an operator reads every endpoint, sends bad requests and Telegram commands, and an
error is logged. Whatever came back is written under the run folder for the scan.
"""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from aiohttp import web
from pydantic import SecretStr

from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig, NotificationsConfig, TelegramConfig, secret_values
from tradewind.connectors.config import ExchangeConfig
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.accounts import Permissions
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.logs import RedactingFilter
from tradewind.persistence.api_tokens import issue_token
from tradewind.persistence.config import DatabaseConfig
from tradewind.session.live import LiveConfig, LiveSession
from tradewind.session.operate import ServeOptions, SessionOps
from tradewind.session.paper import PaperConfig, PaperSession
from tradewind.testing.telegram_fake import FakeBotApi

SYMBOL = "XRP/ETH"
OPERATOR = 42
READS = ("status", "balances", "positions", "equity", "strategies", "costs", "runs", "orders",
         "trades", "profit", "performance", "risk", "logs", "actions", "jobs")  # fmt: skip
log = logging.getLogger("tradewind.leak_session")


class Webhook:
    """Where apprise's ``json://`` notifications land: every request's path, headers and body."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> Webhook:
        async def take(request: web.Request) -> web.Response:
            self.received.append({"path": request.path_qs, "headers": dict(request.headers),
                                  "body": await request.text()})  # fmt: skip
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", take)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def _operate(ops: SessionOps, api: FakeBotApi, out: Path) -> None:
    """Read every endpoint, send bad requests and Telegram commands; keep every answer."""
    while ops.url is None or ops.database is None or ops.telegram is None:
        await asyncio.sleep(0.05)
    token = issue_token(ops.database.engine, name="leak-operator", scopes=["admin"],
                        bot_id=ops.database.bot_id)  # fmt: skip
    answers: dict[str, Any] = {}
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=ops.url, timeout=30) as client:
        for path in READS:
            answers[path] = (await client.get(f"/api/v1/{path}", headers=auth)).text
        for path in ("/health", "/metrics", "/openapi.json"):
            answers[path] = (await client.get(path, headers=auth)).text
        for action in ("pause", "resume"):
            answers[action] = (await client.post(f"/api/v1/{action}", headers=auth,
                                                 json={"reason": "leak test"})).text  # fmt: skip
        answers["bad body"] = (await client.post("/api/v1/pause", headers=auth,
                                                 json={"reason": ""})).text  # fmt: skip
        answers["bad token"] = (await client.get("/api/v1/status",
                                                 headers={"Authorization": "Bearer x"})).text  # fmt: skip
        answers["unknown symbol"] = (await client.post("/api/v1/symbols/NO-SUCH/stop-entries",
                                                       headers=auth, json={"reason": "x"})).text  # fmt: skip
    for command in ("/status", "/balance", "/pause leak", "/resume", "/logs", "/nosuch"):
        sent = len(api.sent)
        api.push_command(command, user_id=OPERATOR)
        await api.wait_for(lambda n=sent: len(api.sent) > n, timeout=60)
    # An error whose text holds a secret, as httpx's does (the URL of a Telegram call holds the
    # bot token): the log line and the error notification must both come out redacted.
    log.error("provoked error for the notifier: Client error '401 Unauthorized' for url '%s'",
              f"{api.base_url}{api.token}/getMe")  # fmt: skip
    (out / "api.json").write_text(json.dumps(answers, indent=1), encoding="utf-8")


async def _session(session: PaperSession, ops: SessionOps, api: FakeBotApi, out: Path) -> None:
    async def operator() -> None:
        try:
            await _operate(ops, api, out)
        finally:
            session.stop("leak test done")

    watcher = asyncio.create_task(operator())
    await session.run()
    await watcher


def _app_config(folder: Path, api: FakeBotApi, hook: Webhook, password: str) -> AppConfig:
    return AppConfig(
        database=DatabaseConfig(bots_dir=str(folder / "bots")),
        telegram=TelegramConfig(
            token=SecretStr(api.token), allowed_users=(OPERATOR,), api_url=api.base_url
        ),
        notifications=NotificationsConfig(
            urls=(SecretStr(f"json://leak:{password}@127.0.0.1:{hook.port}/notify"),),
            dedupe_seconds=0,
        ),
    )


def _make_session(
    mode: str, venue: ExchangeConfig, run_dir: Path, common: dict[str, Any], ops: SessionOps
) -> PaperSession:
    if mode == "paper":
        return PaperSession(PaperConfig(exchange=venue, run_dir=run_dir, **common), ops=ops)
    live = LiveConfig(exchange=venue, run_dir=run_dir, max_capital=Decimal("0.5"), confirmed=True,
                      poll_s=0.05, **common)  # fmt: skip
    return LiveSession(live, ops=ops)


async def trade(work: Path, shared: Path, exchange: ExchangeConfig, bot_token: str,
                password: str, redactor: RedactingFilter) -> None:  # fmt: skip
    """Run the paper, then the live session; their configs' secrets go to ``redactor`` first,
    as the command line gives the config's secrets to its log handler."""
    frame = pd.read_feather(shared / "candles" / "XRP_ETH-1m.feather")
    sim = SimExchange(seed=11, clock=SimClock(speed=120), history=0.5)
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    async with LoopbackServer(sim) as server, FakeBotApi(bot_token) as api, Webhook() as hook:
        server.call(lambda: sim.open_account(
            "canary-live", key=exchange.api_key.get_secret_value(),  # type: ignore[union-attr]
            secret=exchange.secret.get_secret_value(),  # type: ignore[union-attr]
            balances={"ETH": "10", "XRP": "5000"}, permissions=Permissions(ip_restrict=True)))  # fmt: skip
        venue = exchange.model_copy(update={"rest_url": server.rest_url, "timeout_ms": 15_000})
        common: dict[str, Any] = {
            "strategies": strategies_from("sma_cross", {"fast": 2, "slow": 4}),
            "symbols": (SYMBOL,), "timeframe": "1m", "warmup_bars": 20,
            "spec": BacktestSpec(account=Account(cash="1", stake="50%")),
        }  # fmt: skip
        for mode in ("paper", "live"):
            app_config = _app_config(work / mode, api, hook, password)
            redactor.add(secret_values(app_config))
            ops = SessionOps(app_config, f"leak-{mode}", serve=ServeOptions(port=0), mode=mode)
            session = _make_session(mode, venue, work / mode / "run", common, ops)
            await _session(session, ops, api, work / mode)
        (work / "telegram.json").write_text(json.dumps(api.sent, indent=1, default=str))
        (work / "notifications.json").write_text(json.dumps(hook.received, indent=1))
