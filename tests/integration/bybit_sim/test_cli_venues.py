"""``tradewind exchange-sim --venues``: one process serving several venues, each printing its
configuration; a bad venue name exits 2 naming it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

_RUN = [sys.executable, "-c", "import sys; from tradewind.cli.main import run; sys.exit(run())"]


def test_venues_serve_side_by_side_and_print_their_config(shared_data: Path) -> None:
    proc = subprocess.Popen(
        [*_RUN, "exchange-sim", "--data", str(shared_data), "--venues", "binance,bybit,binance2",
         "--port", "0", "--seed", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or line.startswith("serving"):
                break
            lines.append(line.rstrip("\n"))
        configs = [json.loads(x) for x in lines if x.startswith("{")]
        assert [(c["name"], c["protocol"]) for c in configs] == [
            ("binance", "binance"), ("bybit", "bybit"), ("binance2", "binance")
        ]  # fmt: skip
        assert len({c["port"] for c in configs}) == 3
        assert configs[0]["offset_bps"] == 0
        assert configs[1]["offset_bps"] != 0
        binance = requests.get(f"{configs[0]['rest_url']}/api/v3/time", timeout=10).json()
        bybit = requests.get(f"{configs[1]['rest_url']}/v5/market/time", timeout=10).json()
        assert "serverTime" in binance
        assert bybit["retCode"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_unknown_venue_exits_2_naming_it() -> None:
    done = subprocess.run([*_RUN, "exchange-sim", "--venues", "binance,kraken"],
                          check=False, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert "kraken" in done.stdout + done.stderr
