"""A paper session with its operator side: every order in the bot's database before it reached the
venue, the session row closed with its reason, and the API (with the dashboard) served on the
session's own loop while it trades."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import httpx
import pandas as pd
from sqlalchemy import text

from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.persistence.config import DatabaseConfig
from tradewind.session.operate import ServeOptions, SessionOps
from tradewind.session.paper import PaperConfig, PaperSession
from tradewind.venues.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.venues.exchange_sim.recordings import shared_listings


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
