"""A paper session under a fake systemd (NOTIFY_SOCKET, WATCHDOG_USEC) and with a [heartbeat]
table: READY once it trades, watchdog beats from its loop carrying the audit chain's head, the
heartbeat monitor receiving that head with each beat, STOPPING at the end."""

from __future__ import annotations

import asyncio
import math
import os
import re
import socket
import threading
from pathlib import Path

import pandas as pd
import pytest
from aiohttp import web
from sqlalchemy import Engine, func, select

from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig, HeartbeatConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.ops.facade import Actor
from tradewind.persistence.audit import chain_head
from tradewind.persistence.config import DatabaseConfig
from tradewind.persistence.models import OperatorActionRow
from tradewind.session.operate import SessionOps
from tradewind.session.paper import PaperConfig, PaperSession


class Systemd:
    """The receiving end of NOTIFY_SOCKET: every datagram, read on a thread of its own."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[str] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._done.is_set():
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=10)
        self.sock.close()


async def _monitor(beats: list[dict[str, str]]) -> tuple[web.AppRunner, str]:
    async def beat(request: web.Request) -> web.Response:
        beats.append(dict(request.query))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ping", beat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/ping"


async def _until(condition: object, what: str, timeout_s: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_watchdog_and_heartbeat_carry_the_chain_head(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    systemd = Systemd(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    beats: list[dict[str, str]] = []
    runner, url = await _monitor(beats)
    sim = SimExchange(seed=5, clock=SimClock(speed=math.inf), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    app_config = AppConfig(
        database=DatabaseConfig(bots_dir=str(tmp_path / "bots")),
        heartbeat=HeartbeatConfig(url=url, interval_s=0.1, max_silence_s=600),
    )
    ops = SessionOps(app_config, "beats-test")
    seen: dict[str, object] = {}
    try:
        async with LoopbackServer(sim) as server:
            config = PaperConfig(
                exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False,
                                        timeout_ms=15_000),
                strategies=strategies_from("sma_cross", {"fast": 3, "slow": 8}),
                symbols=("XRP/ETH",), timeframe="1m",
                spec=BacktestSpec(account=Account(cash="2", stake="50%")),
                run_dir=tmp_path / "run", warmup_bars=30, max_bars=100_000,
            )  # fmt: skip
            session = PaperSession(config, ops=ops)

            async def operator() -> None:
                await _until(lambda: ops.facade is not None, "the facade")
                await _until(lambda: "READY=1" in systemd.messages, "READY")
                facade = ops.facade
                assert facade is not None
                for action in (facade.pause, facade.resume):
                    action(Actor("ops", "cli"), "beats test")
                assert ops.database is not None
                head = chain_head(ops.database.engine)
                assert head is not None
                seen["head"] = head
                # The chain grows with the session's orders: wait for beats past these rows.
                await _until(lambda: any(int(b.get("audit_rows", 0)) >= head.row_count
                                         for b in beats), "a heartbeat carrying the head")  # fmt: skip
                await _until(lambda: any(_status_rows(m) >= head.row_count
                                         for m in systemd.messages), "a watchdog beat carrying it")  # fmt: skip
                session.stop("beats test done")

            watcher = asyncio.create_task(operator())
            await session.run()
            await watcher
    finally:
        await runner.cleanup()
        systemd.close()
    head = seen["head"]
    assert systemd.messages[0] == "READY=1"
    assert systemd.messages[-1] == "STOPPING=1"
    watchdog = [m for m in systemd.messages if m.startswith("WATCHDOG=1")]
    assert len(watchdog) >= 2
    assert ops.database is not None
    engine = ops.database.engine
    # Each head that went out names a real point of the chain: the row with that HMAC is the
    # row-count-th one.
    [status] = re.findall(r"STATUS=paper session trading; audit chain (\d+) rows, last hmac "
                          r"([0-9a-f]{64})$", watchdog[-1])  # fmt: skip
    carried = [b for b in beats if "audit_rows" in b]
    for rows, digest in (status, (carried[-1]["audit_rows"], carried[-1]["audit_hmac"])):
        assert int(rows) >= head.row_count  # type: ignore[attr-defined]
        assert _position(engine, digest) == int(rows)


def _status_rows(message: str) -> int:
    found = re.search(r"audit chain (\d+) rows", message)
    return int(found.group(1)) if found else 0


def _position(engine: Engine, digest: str) -> int:
    """How many rows the chain has up to and including the one whose HMAC is ``digest``."""
    table = OperatorActionRow.__table__
    with engine.connect() as connection:
        row_id = connection.execute(select(table.c.id).where(table.c.hash == digest)).scalar_one()
        return int(
            connection.execute(select(func.count()).where(table.c.id <= row_id)).scalar_one()
        )
