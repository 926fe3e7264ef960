"""Live against the exchange simulator: a bot killed while an iceberg's visible child rests on the
exchange adopts that child when it starts again and finishes the iceberg from it.

A child process (``twap_child.py``) trades live through the real ccxt client against the
simulator (the recorded XRP/ETH minutes at 30 times real speed); its strategy buys once as an
iceberg whose limit price is far below the market, so its visible child rests until the test
fills it (:meth:`MatchingEngine.trade_through`, a trade of a given size reaching the order). The
resting child fills in three parts: one while the bot runs, one while it is dead (the restart's
reconciliation books it), one after the restart (the adopted child's own lookups book it). The
restart neither refuses to start nor sends a second first child; the iceberg's next children
are numbered on, and every fill is booked once: the truth is the simulator's own ledger.
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

import pandas as pd
import pytest

from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.accounts import ApiKey, Permissions
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.execution.parent import ParentStatus
from tradewind.persistence.bots import open_bot
from tradewind.persistence.execution import ExecutionStore

CHILD = Path(__file__).with_name("twap_child.py")
ICEBERG = "iceberg:visible=120,limit=0.001"
"""Rests far below the market (0.0014 and up): only the test's trades fill it."""


def _stored_filled(database: Path, client_id: str) -> Decimal:
    """What the bot's database says ``client_id`` filled (0 before its row exists)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
            row = connection.execute(
                "select filled_quantity from orders where client_id = ?", (client_id,)
            ).fetchone()
    except sqlite3.OperationalError:  # the schema is still being made
        return Decimal(0)
    return Decimal(str(row[0])) if row and row[0] is not None else Decimal(0)


def _start(server: LoopbackServer, key: ApiKey, tmp_path: Path, run: str, max_bars: int,
           enter: bool) -> subprocess.Popen[str]:  # fmt: skip
    args = [sys.executable, str(CHILD), server.rest_url, key.key, key.secret,
            str(tmp_path / "bots"), str(tmp_path / run), str(max_bars), "1" if enter else "0",
            ICEBERG]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_restart_adopts_the_resting_iceberg_child_and_books_its_fills_once(
    shared_data: Path, tmp_path: Path
) -> None:
    sim = SimExchange(seed=37, clock=SimClock(speed=30), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    database = tmp_path / "bots" / "twapkill" / "state.sqlite"
    async with LoopbackServer(sim) as server:
        key = server.call(lambda: server.sim.open_account(
            "twapkill", balances={"ETH": 10, "XRP": 5000},
            permissions=Permissions(ip_restrict=True)))  # fmt: skip

        def ledger() -> list:  # type: ignore[type-arg]
            return server.call(
                lambda: list(server.sim.store.all_orders(key.account, False, "XRPETH"))
            )

        def trade(client_id: str, quantity: Decimal) -> Decimal:
            [order] = [o for o in ledger() if o.client_id == client_id]
            return server.call(lambda: server.sim.engine.trade_through(order, quantity))

        victim = _start(server, key, tmp_path, "run1", 200, True)
        try:
            deadline = time.monotonic() + 240
            first = None
            while first is None:
                assert victim.poll() is None, victim.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "the iceberg's first child never rested"
                first = next((o.client_id for o in ledger() if o.is_open), None)
                await asyncio.sleep(0.05)
            # A first part fills while the bot runs: it books it.
            assert trade(first, Decimal(30)) == 30
            while _stored_filled(database, first) < 30:
                assert time.monotonic() < deadline, "the bot never booked the first part"
                await asyncio.sleep(0.05)
            victim.send_signal(signal.SIGKILL)
            _, first_err = await asyncio.to_thread(victim.communicate, timeout=60)
        finally:
            victim.kill()
        assert victim.returncode == -signal.SIGKILL, first_err[-3000:]
        # A second part fills while the bot is dead; the child still rests.
        assert trade(first, Decimal(40)) == 40
        bot = open_bot("twapkill", bots_dir=tmp_path / "bots", create=False)
        [before] = ExecutionStore(bot.engine, bot.bot_id).parents()
        assert before.parent.status is ParentStatus.WORKING
        parent_id = before.parent.parent_id
        assert first == f"{parent_id}-1"
        again = _start(server, key, tmp_path, "run2", 30, False)
        try:
            # Once adopted (the bot books the second part), the rest of each child fills.
            deadline = time.monotonic() + 240
            while _stored_filled(database, first) < 70:
                assert again.poll() is None, again.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "the restarted bot never booked the 2nd part"
                await asyncio.sleep(0.05)
            while again.poll() is None:
                for order in ledger():
                    if order.is_open:
                        trade(order.client_id, order.remaining)
                await asyncio.sleep(0.1)
            _, err = await asyncio.to_thread(again.communicate, timeout=120)
        finally:
            again.kill()
        assert again.returncode == 0, err[-3000:]
        orders = ledger()
    assert f"resumed parent order(s): {parent_id}" in err
    assert f"adopted resting child order(s): {first}" in err
    [after] = ExecutionStore(bot.engine, bot.bot_id).parents()
    with bot.repository() as repository:
        stored = {o.client_id: o for o in repository.load_orders()}
        fills = [f for f, _ in repository.load_fills() if f.client_id.startswith(parent_id)]
    bot.engine.dispose()
    parent = after.parent
    assert parent.status is ParentStatus.DONE, parent.reason
    ids = [o.client_id for o in orders]
    assert len(ids) == len(set(ids)), "a client id exists twice on the exchange"
    assert ids == [f"{parent_id}-{k}" for k in range(1, len(ids) + 1)], ids
    assert len(ids) >= 2  # the adopted child, then the iceberg's next one(s)
    [adopted] = [o for o in orders if o.client_id == first]
    assert adopted.filled == 120
    assert len(adopted.fills) == 3  # in three parts, as traded
    for order in orders:
        assert stored[order.client_id].filled_quantity == order.filled, order.client_id
    # Each of the exchange's trades booked once, no more.
    assert len(fills) == sum(len(o.fills) for o in orders)
    filled = sum((o.filled for o in orders), Decimal(0))
    assert filled == parent.filled_quantity == parent.quantity
    assert sum((f.quantity for f in fills), Decimal(0)) == filled
