"""Live against the exchange simulator: a TWAP survives a kill -9 mid-schedule and finishes
without a duplicate child.

A child process (``twap_child.py``) trades live through the real ccxt client against the
simulator, which replays the recorded XRP/ETH minutes at 30 times real speed (a bar every two
seconds); its one strategy buys once as a 30-minute TWAP of six slices. Every parent is written
ahead into the bot's SQLite database (its row counts each child id before the child is recorded
and sent). The process is killed with SIGKILL mid-schedule: by the test once two children are
written, or at a named crash point (``TRADEWIND_CRASH_AT``: between the parent's row and its
child's, or between a child's send and the exchange's answer). Started again on the same bot, it
reconciles the recorded children with the exchange (each open one looked up by client id),
resumes the parent from them, and finishes it. The truth is the simulator's own ledger, read
without any client: no client id twice, every child of the parent numbered after the ones
before the kill, what the exchange filled for them is what the bot booked and what the parent
asked for.
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

from tradewind.core.orders import OrderStatus
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.accounts import ApiKey, Permissions
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.execution.parent import ParentStatus
from tradewind.persistence.bots import open_bot
from tradewind.persistence.execution import ExecutionStore

CHILD = Path(__file__).with_name("twap_child.py")


def _written(database: Path) -> int:
    """How many child ids the parent's row counts (0 before it exists)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
            row = connection.execute("select max(children) from parent_orders").fetchone()
            return int(row[0] or 0)
    except sqlite3.OperationalError:  # the schema is still being made
        return 0


def _start(server: LoopbackServer, key: ApiKey, tmp_path: Path, run: str, max_bars: int,
           enter: bool, **env: str) -> subprocess.Popen[str]:  # fmt: skip
    args = [sys.executable, str(CHILD), server.rest_url, key.key, key.secret,
            str(tmp_path / "bots"), str(tmp_path / run), str(max_bars), "1" if enter else "0"]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **env})  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("crash", [None, "parent_child_numbered:2", "after_send_before_answer:2"])
async def test_a_twap_survives_kill_9_mid_schedule_without_a_duplicate_child(
    shared_data: Path, tmp_path: Path, crash: str | None
) -> None:
    sim = SimExchange(seed=31, clock=SimClock(speed=30), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    database = tmp_path / "bots" / "twapkill" / "state.sqlite"
    async with LoopbackServer(sim) as server:
        key = server.call(lambda: server.sim.open_account(
            "twapkill", balances={"ETH": 10, "XRP": 5000},
            permissions=Permissions(ip_restrict=True)))  # fmt: skip
        env = {} if crash is None else {"TRADEWIND_CRASH_AT": crash}
        victim = _start(server, key, tmp_path, "run1", 200, True, **env)
        try:
            deadline = time.monotonic() + 240
            while victim.poll() is None:
                assert time.monotonic() < deadline, "the TWAP wrote no second child in time"
                if crash is None and database.exists() and _written(database) >= 2:
                    victim.send_signal(signal.SIGKILL)
                    break
                await asyncio.sleep(0.05)
            _, first_err = await asyncio.to_thread(victim.communicate, timeout=60)
        finally:
            victim.kill()
        assert victim.returncode == -signal.SIGKILL, first_err[-3000:]
        if crash is not None:
            assert f"crash point {crash.partition(':')[0]} firing" in first_err
        at_kill = _written(database)
        bot = open_bot("twapkill", bots_dir=tmp_path / "bots", create=False)
        [before] = ExecutionStore(bot.engine, bot.bot_id).parents()
        assert before.parent.status is ParentStatus.WORKING
        # Started again: it reconciles, resumes the parent and finishes its schedule.
        again = _start(server, key, tmp_path, "run2", 40, False)
        _, err = await asyncio.to_thread(again.communicate, timeout=300)
        assert again.returncode == 0, err[-3000:]
        ledger = server.call(
            lambda: list(server.sim.store.all_orders(key.account, False, "XRPETH"))
        )
    parent_id = before.parent.parent_id
    assert f"resumed parent order(s): {parent_id}" in err
    [after] = ExecutionStore(bot.engine, bot.bot_id).parents()
    with bot.repository() as repository:
        stored = {o.client_id: o for o in repository.load_orders()}
    bot.engine.dispose()
    parent = after.parent
    assert parent.status is ParentStatus.DONE, parent.reason
    ids = [o.client_id for o in ledger]
    assert len(ids) == len(set(ids)), "a client id exists twice on the exchange"
    assert all(i.startswith(f"{parent_id}-") for i in ids), ids
    numbers = sorted(int(i.rpartition("-")[2]) for i in ids)
    assert max(numbers) > at_kill, "no child was sent after the restart"
    assert after.children >= max(numbers)
    # Every child on the exchange is the bot's, with the fills it booked; a child id the bot
    # wrote but never sent is either absent from the database (its row not yet written) or
    # recorded as lost, and its number is never used again.
    for order in ledger:
        mine = stored[order.client_id]
        assert mine.filled_quantity == order.filled, order.client_id
    for client_id, mine in stored.items():
        if client_id not in ids:
            assert mine.status is OrderStatus.REJECTED, client_id
            assert mine.reject_reason.startswith("lost"), client_id
    filled = sum((o.filled for o in ledger), Decimal(0))
    assert filled == parent.filled_quantity == parent.quantity
