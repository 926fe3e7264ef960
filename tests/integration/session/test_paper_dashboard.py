"""The web dashboard of a real paper session: the session serves the operator API on its own
event loop while it trades real XRP/ETH minutes replayed by the exchange simulator, and an
operator in Debian's chromium logs in, reads the bot and pauses it; the session's Node is
paused (the strategy's entries are refused from then on) and the bot's database records no entry
order after that."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from playwright.async_api import async_playwright
from sqlalchemy import text

from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.persistence.api_tokens import issue_token
from tradewind.persistence.config import DatabaseConfig
from tradewind.session.operate import ServeOptions, SessionOps
from tradewind.session.paper import PaperConfig, PaperSession

CHROMIUM = os.environ.get("TRADEWIND_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
        "--disable-gpu"]  # fmt: skip


async def _until(page: Any, expression: str, timeout_s: float = 20.0) -> Any:
    """Poll ``expression`` in the page (its CSP forbids the string evaluation that
    ``wait_for_function`` does)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not (value := await page.evaluate(expression)):
        assert loop.time() < deadline, f"timed out waiting for {expression}"
        await asyncio.sleep(0.05)
    return value


async def test_an_operator_pauses_a_paper_session_from_the_dashboard(
    shared_data: Path, tmp_path: Path
) -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium")
    # 1m bars at 180x: a bar every third of a second; the operator stops the session when done.
    sim = SimExchange(seed=5, clock=SimClock(speed=180.0), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    app_config = AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots")))
    ops = SessionOps(app_config, "paper-web", serve=ServeOptions(port=0))
    seen: dict[str, Any] = {}
    session: list[PaperSession] = []

    async def operator() -> None:
        try:
            await act()
        finally:
            session[0].stop("the operator is done")

    async def act() -> None:
        while ops.url is None or ops.facade is None or ops.database is None:
            await asyncio.sleep(0.05)
        token = issue_token(ops.database.engine, name="desk", scopes=["trade"],
                            bot_id=ops.database.bot_id)  # fmt: skip
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=ARGS
            )
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{ops.url}/dashboard")
            await page.wait_for_url("**/dashboard/login")
            await page.fill("#token", token)
            await page.click("#login")
            await page.wait_for_url("**/dashboard")
            await _until(page, "Number(document.body.dataset.refreshes || 0) > 0")
            seen["bot"] = await page.locator("#bot-name").inner_text()
            seen["mode"] = await page.locator("#mode").inner_text()
            seen["equity"] = await page.locator("#equity-value").get_attribute("data-value")
            seen["equity_text"] = await page.locator("#equity-value").inner_text()
            seen["equity_api"] = ops.facade.status()["equity"]
            await page.click("#pause")
            await _until(page, "document.getElementById('state').textContent === 'PAUSED'")
            node = ops.facade.node
            seen["paused_at"] = node.now
            seen["paused"] = node.paused
            denied = len(node.denials)
            await page.screenshot(path=str(tmp_path / "paper-dashboard.png"), full_page=True)
            seen["errors"] = errors
            await browser.close()
        # Trade on paused until the strategy has asked to enter (and been refused) twice.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while len(node.denials) < denied + 2 and loop.time() < deadline:
            await asyncio.sleep(0.1)
        seen["denied_while_paused"] = len(node.denials) - denied

    async with LoopbackServer(sim) as server:
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("sma_cross", {"fast": 3, "slow": 8}),
            symbols=("XRP/ETH",), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="2", stake="50%")),
            run_dir=tmp_path / "run", warmup_bars=10, max_bars=1000,
        )  # fmt: skip
        session.append(PaperSession(config, ops=ops))
        watcher = asyncio.create_task(operator())
        await session[0].run()
        await watcher

    assert seen["bot"] == "paper-web"
    assert seen["mode"].lower() == "paper"  # shown as a tag, in capitals
    # An ETH account reads in micro-ETH, not cents (its PnL is thousandths of an ETH).
    assert re.fullmatch(r"\d\.\d{6}", seen["equity_text"])
    assert abs(Decimal(seen["equity_text"]) - Decimal(seen["equity"])) <= Decimal("0.0000005")
    assert seen["paused"]
    assert seen["denied_while_paused"] >= 2
    assert seen["errors"] == []
    assert ops.database is not None
    with ops.database.engine.connect() as connection:
        buys = (
            connection.execute(
                text("select created_at from orders where side = 'buy' and reduce_only = 0")
            )
            .scalars()
            .all()
        )
        # The audit trail also chains the engine's orders and fills (channel "engine"), and the
        # operator's login.
        actions = connection.execute(
            text("select action, channel from operator_actions where channel != 'engine'")
        ).all()
    paused_at = pd.Timestamp(seen["paused_at"], unit="ms", tz="UTC")
    assert not [b for b in buys if pd.Timestamp(b).tz_localize("UTC") > paused_at]
    assert [tuple(a) for a in actions] == [("login", "dashboard"), ("pause", "dashboard")]
