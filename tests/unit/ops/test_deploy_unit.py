"""The systemd unit: a notify service with a watchdog and a restart policy, and it verifies."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[3] / "deploy" / "tradewind.service"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    return parser


def test_the_unit_restarts_and_watches() -> None:
    service = _unit()["Service"]
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert service["UMask"] == "0077"
    assert int(_unit()["Unit"]["StartLimitBurst"]) > 0


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart's program exists: point it at a real one in a copy.
    program = tmp_path / "tradewind"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    text = UNIT.read_text().replace("/opt/tradewind/venv/bin/tradewind", str(program))
    copy = tmp_path / "tradewind.service"
    copy.write_text(text)
    completed = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True,
                               timeout=60, check=False)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "tradewind.service" not in completed.stderr, completed.stderr
