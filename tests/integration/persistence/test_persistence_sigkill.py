"""A process recording a real backtest into a bot's SQLite database is killed with SIGKILL
mid-run; a new process opens the database and finds a consistent state: every order it holds has
its transitions from NEW, and every filled quantity is the sum of the stored fills."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from tradewind.core.orders import OrderStatus
from tradewind.persistence.bots import open_bot

_CHILD = """
import sys, time
import tradewind
from tradewind.data.bundled import load_bundled
from tradewind.engine.bus import MessageBus
from tradewind.engine.recording import RepositoryRecorder
from tradewind.persistence.bots import open_bot

frame, _ = load_bundled()
bot = open_bot("victim", bots_dir=sys.argv[1])
bus = MessageBus()
RepositoryRecorder(bot.repository()).attach(bus)
print("ready", flush=True)
tradewind.backtest("sma_cross", frame, {"fast": 5, "slow": 20}, cash=100_000, fee=0.001, bus=bus)
print("done", flush=True)
time.sleep(600)
"""


def _orders(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as con:
            return int(con.execute("SELECT count(*) FROM orders").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_sigkill_mid_run_leaves_a_consistent_database(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path)],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    database = tmp_path / "victim" / "state.sqlite"
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"  # noqa: PT018
        deadline = time.monotonic() + 120
        while _orders(database) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        rest, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert "done" not in rest  # killed mid-run, not after it
    with sqlite3.connect(database) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    bot = open_bot("victim", bots_dir=tmp_path, create=False)
    with bot.repository() as repo:
        orders = repo.load_orders()
        assert len(orders) >= 40
        for order in orders:
            statuses = [t.status for t in repo.load_transitions(order.client_id)]
            assert statuses[0] is OrderStatus.NEW
            assert statuses[-1] is order.status
            assert sum((f.quantity for f in order.fills), Decimal(0)) == order.filled_quantity
