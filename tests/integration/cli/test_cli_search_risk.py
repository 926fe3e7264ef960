"""``optimize`` and ``walkforward`` take the risk flags ``backtest`` takes and apply them to every
trial and every test window (they were refused: "its trials run on the screening kernel").

A trial with risk rules runs on the event engine, so a trial and a ``backtest`` with the same
parameters and flags are the same run; the flag must change the result, or the test proves
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

CliRunner = Callable[..., Any]
STOP = "0.005"


def _market(shared_data: Path) -> list[str]:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    return ["-s", "sma_cross", "--data", str(data), "--fee", "0.001", "-p", "short=false"]


def _one_point() -> list[str]:
    return ["--sampler", "grid", "-n", "1", "--space", "fast=6:6", "--space", "slow=30:30",
            "--min-trades", "1"]  # fmt: skip


def _backtest(cli: CliRunner, shared_data: Path, out: Path, *risk: str) -> dict[str, Any]:
    outcome = cli("backtest", *_market(shared_data), "-p", "fast=6", "-p", "slow=30",
                  *risk, "--json", out)  # fmt: skip
    assert outcome.code == 0, outcome.err
    metrics: dict[str, Any] = json.loads(out.read_text())["metrics"]
    return metrics


def test_every_optimize_trial_runs_with_the_risk_flags(
    cli: CliRunner, shared_data: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"

    outcome = cli("optimize", *_market(shared_data), *_one_point(), "--top", "0",
                  "--stop", STOP, "--run-dir", run_dir)  # fmt: skip

    assert outcome.code == 0, outcome.err
    assert f"risk rules in force: exits.stop_pct={STOP}" in outcome.err
    (trial,) = pd.read_csv(run_dir / "trials.csv").to_dict("records")
    assert trial["engine"] == "event"
    stopped = _backtest(cli, shared_data, tmp_path / "stopped.json", "--stop", STOP)
    plain = _backtest(cli, shared_data, tmp_path / "plain.json")
    assert stopped["total_return"] != pytest.approx(plain["total_return"])  # the stop acts
    assert trial["trade_count"] == stopped["trade_count"]
    assert trial["total_return"] == pytest.approx(stopped["total_return"], rel=1e-12)


def test_every_walkforward_window_runs_with_the_risk_flags(
    cli: CliRunner, shared_data: Path, tmp_path: Path
) -> None:
    windows = ["--train", "5d", "--test", "3d", "--min-oos-trades", "1"]
    runs = {}
    for name, risk in (("plain", []), ("stopped", ["--stop", STOP])):
        out = tmp_path / f"{name}.json"
        outcome = cli("walkforward", *_market(shared_data), *_one_point(), *windows, *risk,
                      "--json", out)  # fmt: skip
        assert outcome.code == 0, outcome.err
        runs[name] = json.loads(out.read_text())["windows"]
        said = f"risk rules in force: {'exits.stop_pct=' + STOP if risk else 'none'}"
        assert said in outcome.err

    plain, stopped = runs["plain"], runs["stopped"]
    assert len(plain) == len(stopped) >= 3
    assert all(w["status"] == "ok" for w in plain + stopped)
    # Every train trial and test window ran with the stop, which cuts losing trades short.
    for side in ("in_sample", "out_of_sample"):
        returns = [
            (a[side]["total_return"], b[side]["total_return"])
            for a, b in zip(plain, stopped, strict=True)
        ]
        changed = [a != pytest.approx(b, rel=1e-12) for a, b in returns]
        assert all(changed), (side, returns)
