"""A paper bot killed with SIGKILL and started again continues its account.

``tradewind trade --mode paper --bot NAME`` trades the exchange simulator (its minutes replayed a
bar a second) into the bot's SQLite database; while an order is working it is killed with SIGKILL.
The test replays every fill the database holds from the starting cash (independently of the
code that resumes) to get the account at the kill. The same command then starts again for a few
bars: it announces the positions it resumed, the order left working fills instead of being lost,
and at its end the account it checkpointed equals the replay of every fill of both sessions from
the starting cash, so it continued from exactly the account the kill left.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import orjson
import pandas as pd
import pytest

from tradewind.core.instrument import Instrument
from tradewind.core.orders import OrderStatus
from tradewind.engine.portfolio import Portfolio
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.persistence.bots import open_bot
from tradewind.session.drift import instrument_from_settings

SYMBOL = "XRP/ETH"
CASH = Decimal("2")


def _command(config: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "tradewind.cli.main", "--config", str(config), "trade",
        "--mode", "paper", "-s", "sma_cross", "-p", "fast=2", "-p", "slow=4",
        "--symbol", SYMBOL, "-t", "1m", "--cash", str(CASH), "--stake", "50%",
        "--bot", "victim", "--warmup", "30", "--run-dir", str(run_dir), *extra,
    ]  # fmt: skip


def _replayed(bots: Path, instruments: dict[str, Instrument]) -> Portfolio:
    """Every fill the bot's database holds, booked from the starting cash in recording order."""
    bot = open_bot("victim", bots_dir=bots, create=False)
    portfolio = Portfolio(instruments, cash={"ETH": CASH})
    with bot.repository() as repository:
        fills = repository.load_fills()
    bot.engine.dispose()
    for fill, strategy in sorted(fills, key=lambda f: (f[0].ts, f[0].trade_id)):
        portfolio.apply_fill(fill, strategy, 0)
    return portfolio


def _account(portfolio: Portfolio) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    cash = {asset: amount for asset, amount in portfolio.cash.items() if amount}
    held = {f"{k[0]}|{k[1]}": p.quantity for k, p in portfolio.positions.items() if p.quantity}
    return cash, held


def _working(database: Path) -> list[str]:
    """The orders working now, once the bot has some fills (none while its schema is made)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
            fills = connection.execute("select count(*) from fills").fetchone()[0]
            if fills < 4:
                return []
            return [row[0] for row in connection.execute(
                "select client_id from orders where status in ('submitted', 'accepted')")]  # fmt: skip
    except sqlite3.OperationalError:  # the first start is still migrating the schema
        return []


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_paper_bot_killed_with_sigkill_resumes_its_account(
    shared_data: Path, tmp_path: Path
) -> None:
    sim = SimExchange(seed=5, clock=SimClock(speed=60.0), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    bots = tmp_path / "bots"
    database = bots / "victim" / "state.sqlite"
    async with LoopbackServer(sim) as server:
        config = tmp_path / "tradewind.toml"
        config.write_text(
            f'[exchange]\nrest_url = "{server.rest_url}"\nrate_limit = false\n'
            f'[database]\nbots_dir = "{bots.as_posix()}"\n'
        )
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        victim = subprocess.Popen(_command(config, tmp_path / "run1"), env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            working: list[str] = []
            while not working:
                assert victim.poll() is None, victim.stderr.read().decode() if victim.stderr else ""
                assert time.monotonic() < deadline, "the session made no working order in time"
                await asyncio.sleep(0.05)
                if database.exists():
                    working = _working(database)
            victim.send_signal(signal.SIGKILL)
        finally:
            victim.kill()
            victim.wait()
        instruments = {
            s: instrument_from_settings(row)
            for s, row in orjson.loads((tmp_path / "run1" / "session.json").read_bytes())[
                "instruments"
            ].items()
        }
        at_kill = _account(_replayed(bots, instruments))

        # In a thread: the simulator answers on this test's event loop.
        again = await asyncio.to_thread(
            subprocess.run, _command(config, tmp_path / "run2", "--max-bars", "3"), env=env,
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resumed the bot's account" in again.stdout + again.stderr
    for key, quantity in at_kill[1].items():
        assert f"{quantity} {key.split('|')[1]}" in again.stdout + again.stderr
    bot = open_bot("victim", bots_dir=bots, create=False)
    with bot.repository() as repository:
        orders = {o.client_id: o for o in repository.load_orders()}
        stored = (
            {a: v for a, v in repository.load_balances().items() if v},
            {f"{p.strategy_id}|{p.symbol}": p.quantity
             for p in repository.load_positions() if p.quantity},
        )  # fmt: skip
    bot.engine.dispose()
    # The order the kill left working was carried on and filled, not lost or sent twice.
    for client_id in working:
        assert orders[client_id].status in (OrderStatus.FILLED, OrderStatus.CANCELED)
        assert len(orders[client_id].fills) <= 1
    assert any(orders[c].status is OrderStatus.FILLED for c in working)
    # The account at the end is the starting cash plus every fill of both sessions.
    assert stored == _account(_replayed(bots, instruments))
    assert not any(o.status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED)
                   for o in orders.values())  # fmt: skip
