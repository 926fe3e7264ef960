"""A paper session with its operator side: every order in the bot's database before it reached the
venue, the session row closed with its reason, and the API (with the dashboard) served on the
session's own loop while it trades."""

from __future__ import annotations

import asyncio
import json
import math
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pandas as pd
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig, NotificationsConfig, TelegramConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.persistence.api_tokens import issue_token
from tradewind.persistence.config import DatabaseConfig
from tradewind.session.operate import ServeOptions, SessionOps
from tradewind.session.paper import PaperConfig, PaperSession
from tradewind.testing.telegram_fake import FakeBotApi


async def test_a_session_records_its_orders_and_serves_its_operators(
    shared_data: Path, tmp_path: Path
) -> None:
    sim = SimExchange(seed=5, clock=SimClock(speed=math.inf), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    app_config = AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots")))
    ops = SessionOps(app_config, "paper-test", serve=ServeOptions(port=0))
    answers: list[dict[str, object]] = []

    async def operator() -> None:
        while ops.url is None:
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=ops.url) as client:
            answers.append((await client.get("/health")).json())
            refused = await client.get("/api/v1/status")
            answers.append({"status_without_token": refused.status_code})
            page = await client.get("/dashboard", follow_redirects=False)
            answers.append({"dashboard": page.status_code})

    async with LoopbackServer(sim) as server:
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("sma_cross", {"fast": 5, "slow": 15}),
            symbols=("XRP/ETH",), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="2", stake="50%")),
            run_dir=tmp_path / "run", warmup_bars=30, max_bars=90,
        )  # fmt: skip
        watcher = asyncio.create_task(operator())
        result = await PaperSession(config, ops=ops).run()
        await watcher
    assert answers[0]["ok"] is True
    assert answers[1]["status_without_token"] == 401
    assert answers[2]["dashboard"] in (200, 303, 307)
    assert ops.database is not None
    with ops.database.engine.connect() as connection:
        stored = connection.execute(text("select client_id from orders")).scalars().all()
        ended = connection.execute(text("select end_reason from sessions")).scalars().all()
    assert sorted(stored) == sorted(result.orders["client_id"])
    assert len(stored) >= 2
    assert ended == ["--max-bars 90 reached"]
    # The equity curve starts where the session began to trade, not at the warm-up's first bar.
    assert ops.facade is not None
    [binding] = ops.facade.node.bindings
    curve = ops.facade.equity_curve()["points"]
    assert binding.start >= 30
    # (its first point is the close of the warm-up's last bar: the recording has gaps, so that
    # close is not always the first traded bar's open)
    assert curve[0][0] == int(binding.bars.ts[binding.start - 1]) + 60_000
    assert len(curve) == len(binding.bars) - binding.start + 1


async def test_telegram_operates_a_paper_session(shared_data: Path, tmp_path: Path) -> None:
    """The real python-telegram-bot, started by the session from its [telegram] table, answers
    /status from the session's Node and /pause stops the session's new entries."""
    sim = SimExchange(seed=6, clock=SimClock(speed=math.inf), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    async with FakeBotApi() as api, LoopbackServer(sim) as server:
        telegram = TelegramConfig(token=SecretStr(api.token), allowed_users=(42,),
                                  api_url=api.base_url)  # fmt: skip
        app_config = AppConfig(
            database=DatabaseConfig(bots_dir=str(tmp_path / "bots")), telegram=telegram
        )
        ops = SessionOps(app_config, "telegram-test")
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("sma_cross", {"fast": 3, "slow": 8}),
            symbols=("XRP/ETH",), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="2", stake="50%")),
            run_dir=tmp_path / "run", warmup_bars=30, max_bars=1100,
        )  # fmt: skip
        session = PaperSession(config, ops=ops)
        seen: dict[str, object] = {}

        async def operator() -> None:
            while ops.telegram is None or session.driver is None:
                await asyncio.sleep(0.05)
            api.push_command("/status", user_id=42)
            await api.wait_for(lambda: len(api.sent) >= 1, timeout=30)
            seen["status"] = api.sent[0]["text"]
            api.push_command("/pause testing", user_id=42)
            await api.wait_for(lambda: len(api.sent) >= 2, timeout=30)
            node = session.driver.node  # type: ignore[union-attr]
            seen["paused"] = node.paused
            seen["entries"] = sum(1 for o in node.orders.values() if not o.reduce_only)
            await asyncio.sleep(1.0)  # bars go on closing while paused
            session.stop("operator test done")

        watcher = asyncio.create_task(operator())
        await session.run()
        await watcher
    assert "equity" in str(seen["status"]).lower()
    assert seen["paused"]
    node = session.driver.node  # type: ignore[union-attr]
    assert sum(1 for o in node.orders.values() if not o.reduce_only) == seen["entries"]


_JOBS = {
    "backtest": {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "bars": 3000},
    "optimize": {"strategy": "sma_cross", "trials": 6, "bars": 3000, "sampler": "random"},
}


@pytest.mark.parametrize("kind", sorted(_JOBS))
async def test_a_job_queued_through_a_sessions_api_runs_in_its_worker_process(
    shared_data: Path, tmp_path: Path, kind: str
) -> None:
    """A backtest or an optimisation queued through the served API while the session trades is
    run by the worker process the session starts at the first queued job, beside the trading
    loop."""
    sim = SimExchange(seed=7, clock=SimClock(speed=60), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    app_config = AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots")))
    ops = SessionOps(app_config, "jobs-test", serve=ServeOptions(port=0))
    seen: dict[str, object] = {}

    async def operator() -> None:
        try:
            while ops.url is None or ops.database is None:
                await asyncio.sleep(0.05)
            token = issue_token(ops.database.engine, name="researcher", scopes=["trade"])
            auth = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=ops.url, timeout=30) as client:
                queued = await client.post("/api/v1/jobs", headers=auth, json={
                    "reason": "research", "kind": kind, "spec": _JOBS[kind]})  # fmt: skip
                assert queued.status_code == 200, queued.text
                job = queued.json()["job"]
                deadline = time.monotonic() + 240
                while True:
                    answer = (await client.get(f"/api/v1/jobs/{job}", headers=auth)).json()
                    if answer["state"] in ("done", "failed"):
                        break
                    assert time.monotonic() < deadline, answer
                    await asyncio.sleep(0.2)
                seen["job"] = answer
                seen["worker"] = ops.worker.process.pid if ops.worker else None
        finally:
            session.stop("operator test done")

    async with LoopbackServer(sim) as server:
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("sma_cross", {"fast": 5, "slow": 15}),
            symbols=("XRP/ETH",), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="2", stake="50%")),
            run_dir=tmp_path / "run", warmup_bars=30,
        )  # fmt: skip
        session = PaperSession(config, ops=ops)
        watcher = asyncio.create_task(operator())
        await session.run()
        await watcher
    job = seen["job"]
    assert isinstance(job, dict)
    assert job["state"] == "done", job.get("error")
    if kind == "backtest":
        assert job["result"]["metrics"]["trade_count"] > 0
    else:
        # Every trial is accounted for: ranked, left unranked for too few trades, or failed
        # with its reason.
        result = job["result"]
        assert result["trials"] + result["failed_trials"] == 6, result
        assert sum(result["failure_reasons"].values()) == result["failed_trials"]
        ranked = result["trials"] - result["insufficient_trials"]
        assert len(result["best"]) == min(3, ranked), result
    # The worker ran in its own process and stopped with the session.
    assert seen["worker"] not in (None, os.getpid())
    assert ops.worker is not None
    assert not ops.worker.process.is_alive()


async def test_stream_reconnects_reach_health_and_metrics(
    shared_data: Path, tmp_path: Path
) -> None:
    """The exchange closes every stream connection after two seconds (as Binance does after a
    day): the session's reconnects are counted on /metrics, and /health names each stream's
    state after its latest alert; the instants that sent orders feed the bar -> order latency."""
    sim = SimExchange(seed=8, clock=SimClock(speed=60), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    app_config = AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots")))
    ops = SessionOps(app_config, "streams-test", serve=ServeOptions(port=0))
    seen: dict[str, object] = {}

    async def operator() -> None:
        try:
            while ops.url is None or ops.database is None:
                await asyncio.sleep(0.05)
            token = issue_token(ops.database.engine, name="grafana", scopes=["read"])
            auth = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=ops.url, timeout=30) as client:
                deadline = time.monotonic() + 120
                while True:
                    metrics = (await client.get("/metrics", headers=auth)).text
                    counted = [line for line in metrics.splitlines()
                               if line.startswith("tradewind_stream_reconnects_total{")]  # fmt: skip
                    latency = [line for line in metrics.splitlines()
                               if line.startswith("tradewind_bar_to_order_seconds_count")]  # fmt: skip
                    if (counted and float(counted[0].rsplit(" ", 1)[1]) >= 2 and latency
                            and float(latency[0].rsplit(" ", 1)[1]) >= 1):  # fmt: skip
                        break
                    assert time.monotonic() < deadline, metrics
                    await asyncio.sleep(0.2)
                seen["counted"] = counted
                seen["latency"] = metrics
                seen["health"] = (await client.get("/health")).json()
        finally:
            session.stop("operator test done")

    async with LoopbackServer(sim, max_connection_s=2.0) as server:
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("sma_cross", {"fast": 2, "slow": 4}),
            symbols=("XRP/ETH",), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="2", stake="50%")),
            run_dir=tmp_path / "run", warmup_bars=30,
        )  # fmt: skip
        session = PaperSession(config, ops=ops)
        watcher = asyncio.create_task(operator())
        await session.run()
        await watcher
    counted = seen["counted"]
    assert isinstance(counted, list)
    assert counted[0].startswith('tradewind_stream_reconnects_total{stream="spot kline"}')
    # Each instant that sent orders observed its bar -> order latency (wall seconds since its bar
    # arrived), in the histogram's buckets.
    assert 'tradewind_bar_to_order_seconds_bucket{le="+Inf"}' in str(seen["latency"])
    # Each connection's silence: under a bar's push interval while it streams.
    [silence] = [line for line in str(seen["latency"]).splitlines()
                 if line.startswith('tradewind_stream_staleness_seconds{stream="spot kline"}')]  # fmt: skip
    assert 0 <= float(silence.rsplit(" ", 1)[1]) < 30
    health = seen["health"]
    assert isinstance(health, dict)
    [(name, state)] = health["components"]["streams"]["alerted"].items()
    assert name == "spot kline"
    assert state["symbols"] == ["XRP/ETH"]
    assert state["last_alert"] in ("reconnected", "disconnected", "fresh")


class _Webhook:
    """A loopback JSON webhook on its own thread (what apprise's ``json://`` posts to)."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook.lock:
                    hook.received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                del args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def titles(self) -> list[str]:
        with self.lock:
            return [str(r.get("title", "")) for r in self.received]


async def test_a_session_tells_its_trades_through_apprise(
    shared_data: Path, tmp_path: Path
) -> None:
    """The session starts the notifier from its [notifications] table: the real apprise posts
    each entry and exit of the session's trades on the exchange simulator to a loopback
    webhook, one message per filled order."""
    hook = _Webhook()
    try:
        sim = SimExchange(seed=9, clock=SimClock(speed=math.inf), history=0.5)
        frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
        sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
        app_config = AppConfig(
            database=DatabaseConfig(bots_dir=str(tmp_path / "bots")),
            notifications=NotificationsConfig(
                urls=(SecretStr(hook.url),), events=("entry", "exit"), max_per_minute=1000
            ),
        )
        ops = SessionOps(app_config, "notify-test")
        async with LoopbackServer(sim) as server:
            exchange = ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000)
            config = PaperConfig(
                exchange=exchange,
                strategies=strategies_from("sma_cross", {"fast": 3, "slow": 8}),
                symbols=("XRP/ETH",), timeframe="1m",
                spec=BacktestSpec(account=Account(cash="2", stake="50%")),
                run_dir=tmp_path / "run", warmup_bars=30, max_bars=150,
            )  # fmt: skip
            result = await PaperSession(config, ops=ops).run()
        orders = result.orders
        filled = orders[orders["status"] == "filled"]
        assert len(filled) >= 4
        deadline = time.monotonic() + 60
        while len(hook.titles()) < len(filled):
            assert time.monotonic() < deadline, hook.titles()
            await asyncio.sleep(0.1)
        titles = hook.titles()
        entries = [t for t in titles if t.startswith("Entry long XRP/ETH at ")]
        exits = [t for t in titles if t.startswith("Exit XRP/ETH long: ")]
        assert len(entries) == int((filled["side"] == "buy").sum())
        assert len(exits) == int((filled["side"] == "sell").sum())
        assert len(titles) == len(filled)
    finally:
        hook.server.shutdown()
        hook.server.server_close()
