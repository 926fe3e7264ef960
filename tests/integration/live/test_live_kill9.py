"""kill -9 at named crash points, restart, and a one-to-one match with the simulator's ledger.

A child process trades live through the real ccxt client against the simulator, every order
written ahead into the bot's SQLite database (``churn_child.py``: market buy, protective stop,
its cancel-replace, the exit in its place, a resting limit and its cancel per cycle). It is killed
with SIGKILL at a named crash point (``TRADEWIND_CRASH_AT``; the test fails unless the child's
stderr shows the hook firing), then
started again: it reconciles before trading and churns on. Afterwards, read from the simulator's
own ledger (not through any client): every order on the exchange is in the database with the same
status and filled quantity, every database order that never reached the exchange is rejected as
lost, every exchange trade is booked exactly once, no client id exists twice on the exchange, and
the account's balances on the exchange equal its funding plus what the stored fills moved (the
database's balances equal the exchange's). Each restart is timed from its start to its first
trade (a market buy filled and booked): within 10 s at p95, as the issue asks, counted from the
restarted program's start (client, markets, database, reconcile, first order); the wall time
including the interpreter's start and the imports is printed beside it (on a loaded machine the
imports alone take seconds).

CI: every named point, plus a few random kills (``make chaos``: 100 random kills).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from livekit import ledger, ledger_status

from tradewind.core.orders import OrderStatus
from tradewind.core.records import Side
from tradewind.exchange_sim import LoopbackServer, SimExchange
from tradewind.exchange_sim.accounts import ApiKey
from tradewind.exchange_sim.limits import LimitConfig
from tradewind.exchange_sim.recordings import list_shared_recordings
from tradewind.persistence.bots import open_bot

CHILD = Path(__file__).with_name("churn_child.py")
POINTS = [
    "after_write_before_send:2",
    "after_send_before_answer:3",
    "after_fill_before_commit:2",
    "during_reconciliation",
    "during_stop_replace:2",
]
RANDOM_KILLS = 100 if os.environ.get("TRADEWIND_CHAOS") else 20
FUNDS = {"USDT": Decimal(100_000), "XRP": Decimal(20_000)}
RESTART_P95_S = 10.0


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    # Twenty churning restarts a minute, each loading the markets, reconciling and polling its
    # orders, go past Binance's 6,000 weight a minute and earn the IP a 418 ban (seen on an idle
    # machine, where the restarts come fastest). The budget is the rate-budget tests' subject,
    # not this one's: this exchange allows ten times as much.
    sim = list_shared_recordings(
        SimExchange(seed=17, limits=LimitConfig(weight_per_minute=60_000)), shared_data
    )
    with LoopbackServer(sim) as running:
        yield running


def _run(
    server: LoopbackServer, key: ApiKey, bots: Path, cycles: int, **env: str
) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(CHILD), server.rest_url, key.key, key.secret, str(bots),
            str(cycles)]  # fmt: skip
    started = time.time()
    done = subprocess.run(
        args, check=False, capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )
    traded = next((x for x in done.stdout.splitlines() if x.startswith("first trade at ")), "")
    if traded:
        at, after = _first_trade(traded)
        done.stdout += f"\nrestart to first trade {after:.3f} {at - started:.3f}\n"
    return done


def _first_trade(line: str) -> tuple[float, float]:
    """``(wall time of the first trade, seconds since the program started)`` from the child's
    ``first trade at T after S`` line."""
    at, _, after = line.removeprefix("first trade at ").partition(" after ")
    return float(at), float(after)


def _restart_s(done: subprocess.CompletedProcess[str]) -> tuple[float, float]:
    """``(seconds from the program's start, wall seconds from the spawn)`` to the first trade."""
    line = next(x for x in done.stdout.splitlines() if x.startswith("restart to first trade"))
    program, wall = line.removeprefix("restart to first trade ").split()
    return float(program), float(wall)


def _balances_match(server: LoopbackServer, key: ApiKey, fills: list[Any]) -> None:
    """The exchange's balances equal the funding plus what the stored fills moved."""
    expected = dict(FUNDS)
    for fill in fills:
        sign = 1 if fill.side is Side.BUY else -1
        expected["XRP"] += sign * fill.quantity
        expected["USDT"] -= sign * fill.notional
        expected[fill.fee_currency] = expected.get(fill.fee_currency, Decimal(0)) - fill.fee
    rows = server.call(key.account.balances_json)
    held = {r["asset"]: Decimal(r["free"]) + Decimal(r["locked"]) for r in rows}
    for asset, quantity in expected.items():
        assert held.get(asset, Decimal(0)) == quantity, (asset, held.get(asset), quantity)


def _check_against_ledger(server: LoopbackServer, key: ApiKey, bots: Path) -> int:
    exchange = ledger(server, key, "XRPUSDT")
    ids = [o.client_id for o in exchange]
    assert len(ids) == len(set(ids)), "a client id exists twice on the exchange"
    bot = open_bot("churn", bots_dir=bots, create=False)
    with bot.repository() as repository:
        stored = {o.client_id: o for o in repository.load_orders()}
        fills = [f for f, _ in repository.load_fills()]
    by_id = {o.client_id: o for o in exchange}
    for client_id, order in by_id.items():
        mine = stored.get(client_id)
        assert mine is not None, f"{client_id} is on the exchange but not in the database"
        assert mine.status is ledger_status(order), (client_id, mine.status, order.status)
        assert mine.filled_quantity == order.filled
    for client_id, mine in stored.items():
        if client_id not in by_id:
            assert mine.status is OrderStatus.REJECTED, (client_id, mine.status)
            assert mine.reject_reason.startswith("lost")
    trades = server.call(lambda: [str(t["id"]) for t in key.account.trades])
    booked = [f.trade_id for f in fills]
    assert sorted(booked) == sorted(trades), "every exchange trade booked exactly once"
    assert sum((f.quantity for f in fills), Decimal(0)) == sum(o.filled for o in exchange)
    _balances_match(server, key, fills)
    return len(stored)


def _account(server: LoopbackServer) -> ApiKey:
    name = f"churn{time.monotonic_ns()}"
    return server.call(lambda: server.sim.open_account(name, balances=dict(FUNDS)))


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_a_named_point_then_restart_matches_the_ledger(
    server: LoopbackServer, tmp_path: Path, point: str
) -> None:
    key = _account(server)
    if point == "during_reconciliation":
        # Something to reconcile: a first run killed before its fill was committed.
        first = _run(server, key, tmp_path, 2, TRADEWIND_CRASH_AT="after_fill_before_commit:2")
        assert first.returncode == -signal.SIGKILL
    killed = _run(server, key, tmp_path, 2, TRADEWIND_CRASH_AT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert f"crash point {point.partition(':')[0]} firing" in killed.stderr
    again = _run(server, key, tmp_path, 2)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "done" in again.stdout
    assert _check_against_ledger(server, key, tmp_path) >= 10
    program, wall = _restart_s(again)
    print(f"{point}: restart to first trade {program:.2f}s ({wall:.2f}s with the imports)")
    assert program < RESTART_P95_S


def test_random_kills_then_restart_match_the_ledger(server: LoopbackServer, tmp_path: Path) -> None:
    rng = random.Random(18)
    key = _account(server)
    restarts: list[tuple[float, float]] = []
    for _ in range(RANDOM_KILLS):
        started = time.time()
        child = subprocess.Popen(
            [sys.executable, str(CHILD), server.rest_url, key.key, key.secret, str(tmp_path), "50"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert child.stdout is not None
        child.stdout.readline()  # reconciled: now churning
        time.sleep(rng.uniform(0.05, 1.0))
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate(timeout=30)
        traded = next((x for x in rest.splitlines() if x.startswith("first trade at ")), "")
        if traded:  # it traded again before this kill
            at, after = _first_trade(traded)
            restarts.append((after, at - started))
    final = _run(server, key, tmp_path, 1)
    assert final.returncode == 0, final.stderr[-3000:]
    _check_against_ledger(server, key, tmp_path)
    restarts.append(_restart_s(final))
    program = sorted(r[0] for r in restarts)
    wall = sorted(r[1] for r in restarts)
    at = min(len(program) - 1, int(0.95 * len(program)))
    print(f"restart to first trade over {len(program)} restarts: median "
          f"{program[len(program) // 2]:.2f}s, p95 {program[at]:.2f}s (with the imports: median "
          f"{wall[len(wall) // 2]:.2f}s, p95 {wall[at]:.2f}s)")  # fmt: skip
    assert program[at] < RESTART_P95_S
