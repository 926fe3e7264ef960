"""``tradewind exchange-sim``: prints its URLs and a ccxt snippet, serves health, applies the fault
file, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tradewind.cli.exchange_sim import demo_credentials

_RUN = [sys.executable, "-c", "import sys; from tradewind.cli.main import run; sys.exit(run())"]


def _start(args: list[str]) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen([*_RUN, "exchange-sim", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("serving"):
            return proc, lines
    proc.kill()
    raise AssertionError("exchange-sim did not start:\n" + "\n".join(lines))


def test_cli_serves_prints_config_and_stops_on_sigterm(shared_data: Path, tmp_path: Path) -> None:
    faults = tmp_path / "faults.toml"
    faults.write_text('seed = 1\n[[fault]]\nkind = "maintenance"\npath = "/api/v3/ping"\n')
    proc, lines = _start(["--data", str(shared_data), "--speed", "10", "--faults", str(faults),
                          "--port", "0", "--seed", "5"])  # fmt: skip
    try:
        urls = json.loads(next(line for line in lines if line.startswith("{")))
        rest = urls["rest_url"]
        assert urls["ws_url"].startswith("ws://127.0.0.1:")
        assert any("binance_urls(" in line for line in lines)
        # The same seed gives the same demo key on every start.
        key, secret = demo_credentials(5)
        printed = " ".join(" ".join(lines).split())  # the console may wrap the long lines
        assert f'"apiKey": "{key}"' in printed
        assert f'"secret": "{secret}"' in printed
        health = requests.get(f"{rest}/health", timeout=5).json()
        assert health["status"] == "ok"
        assert health["markets"] >= 10
        first = requests.get(f"{rest}/api/v3/ping", timeout=5)
        assert first.status_code == 503
        assert first.json()["code"] == -1008
        assert requests.get(f"{rest}/api/v3/ping", timeout=5).status_code == 200
        t1 = requests.get(f"{rest}/api/v3/time", timeout=5).json()["serverTime"]
        time.sleep(0.5)
        t2 = requests.get(f"{rest}/api/v3/time", timeout=5).json()["serverTime"]
        assert t2 - t1 >= 4_000  # speed 10: half a second is five replay seconds
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "stopped" in out


def test_cli_refuses_a_bad_fault_file(shared_data: Path, tmp_path: Path) -> None:
    faults = tmp_path / "faults.toml"
    faults.write_text('[[fault]]\nkind = "meteor"\n')
    done = subprocess.run([*_RUN, "exchange-sim", "--data", str(shared_data), "--faults", str(faults),
                           "--port", "0"], capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "unknown kind 'meteor'" in done.stdout + done.stderr


def test_demo_credentials_follow_the_seed() -> None:
    assert demo_credentials(5) == demo_credentials(5)
    assert demo_credentials(5) != demo_credentials(6)
    key, secret = demo_credentials(0)
    assert len(key) == len(secret) == 64
    assert key != secret


def test_cli_refuses_a_history_outside_0_to_1() -> None:
    done = subprocess.run([*_RUN, "exchange-sim", "--history", "1.5", "--port", "0"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "--history must be between 0 and 1, got 1.5" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
