"""``tradewind demo`` end to end in a subprocess, as ``make demo`` runs it: the bundled month
backtested, then a paper session on the exchange simulator with the operator API up while it
trades (URL and login token printed), its summary, and where the database and reports are."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tradewind.persistence.api_tokens import check_token
from tradewind.persistence.engine import open_database, sqlite_url

TOKEN = "demo-operator-token-0123456789"
_API_LINE = re.compile(r"API: (http://127\.0\.0\.1:\d+)/api/v1 ")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND__")}
    return {**env, "COLUMNS": "200", "NO_COLOR": "1", "NO_PROXY": "127.0.0.1", **extra}


def _stored_grant(database: Path, token: str) -> frozenset[str] | None:
    engine = open_database(sqlite_url(database))
    try:
        grant = check_token(engine, token)
    finally:
        engine.dispose()
    return None if grant is None else grant.scopes


@pytest.mark.timeout(700)
def test_demo_trades_with_the_api_up_and_says_where_everything_is(tmp_path: Path) -> None:
    # The demo backtests a month and paper-trades 150 bars: minutes on a loaded 2-core machine.
    done = subprocess.run(
        [sys.executable, "-m", "tradewind.cli.main", "demo", "--run-dir", str(tmp_path / "run")],
        cwd=tmp_path, env=_env(TRADEWIND__API__TOKEN=TOKEN), capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "45,031" in out
    assert "no errors" in out
    run = tmp_path / "run"
    assert (run / "data" / "bundled" / "candles" / "BTC-PERP-1m.parquet").is_file()
    # The API was served while the session traded, its URL and how to log in printed; the
    # operator's own token is accepted by the bot's database and never printed.
    assert _API_LINE.search(out), out
    assert "/dashboard" in out
    assert "log in with the token of TRADEWIND__API__TOKEN" in out
    assert TOKEN not in out + done.stderr
    database = run / "bots" / "demo" / "state.sqlite"
    assert _stored_grant(database, TOKEN) == frozenset({"read", "trade"})
    # The summary: bars, trades, PnL, the drift report against the backtest of the same bars,
    # and where the database and the reports are.
    assert "bars traded" in out
    assert "trade_count" in out
    assert re.search(r"pnl \(ETH\) +│ +[+-]\d\.\d{6}", out), out
    assert "no differences" in out
    assert f"database: {database}" in out
    assert f"report: {run / 'report.html'}" in out
    assert (run / "report.html").is_file()
    assert (run / "paper" / "result.json").is_file()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.timeout(700)
def test_demo_serve_keeps_the_api_up_until_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    errors = (tmp_path / "stderr.txt").open("w")  # a file: a full pipe would block the child
    child = subprocess.Popen(
        [sys.executable, "-m", "tradewind.cli.main", "demo", "--run-dir", str(tmp_path / "run"),
         "--serve", "--port", str(port)],
        cwd=tmp_path, env=_env(TRADEWIND__API__TOKEN=TOKEN), stdout=subprocess.PIPE,
        stderr=errors, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in child.stdout or ()])
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 600
        while not any(_API_LINE.search(x) for x in seen):
            assert child.poll() is None, "".join(seen)
            assert time.monotonic() < deadline, "".join(seen)
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
        [url] = [m.group(1) for x in seen if (m := _API_LINE.search(x))]
        assert url == f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/api/v1/status").status_code == 401
            # The session trades a bar a second: the API follows its clock forward.
            first = client.get("/api/v1/status", headers=auth)
            assert first.status_code == 200, first.text
            while (
                client.get("/api/v1/status", headers=auth).json()["engine_time"]
                == (first.json()["engine_time"])
            ):
                assert time.monotonic() < deadline, "the served session never moved"
                time.sleep(0.2)
            assert client.get("/dashboard/login").status_code == 200
        child.send_signal(signal.SIGINT)
        child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        reader.join(timeout=30)
        errors.close()
    rest = "".join(seen) + "".join(lines.queue)
    assert child.returncode == 0, (tmp_path / "stderr.txt").read_text() + rest
    assert "a bar a second; Ctrl-C stops" in rest
    assert "drift report" in rest
    assert f"database: {tmp_path / 'run' / 'bots' / 'demo' / 'state.sqlite'}" in rest
