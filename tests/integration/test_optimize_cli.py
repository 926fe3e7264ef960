"""The optimisation commands end to end on the bundled month and a shared multi-asset 5m file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tradewind.cli.main import run

LEAKY = """
import numpy as np
from tradewind.strategies.base import Signals, Strategy

class NextClose(Strategy):
    name = "next_close"

    def indicators(self, bars):
        return {"next_close": np.append(bars.close[1:], np.nan)}

    def signals(self, bars):
        return Signals(entry_long=self.indicators(bars)["next_close"] > bars.close)
"""


def _strict(path: Path) -> Any:
    """Parse as a strict parser does: NaN and infinities are not JSON (issue 12, item 8)."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{path.name} holds the non-JSON constant {constant}")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_optimize_grid_on_the_bundled_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["optimize", "-s", "sma_cross", "--as-spot", "--fee", "0.001", "--sampler", "grid",
                "--space", "fast=5:7", "--space", "slow=30:40:10", "-p", "short=false",
                "--top", "1", "--run-dir", str(tmp_path)])  # fmt: skip
    assert code == 0
    summary = _strict(tmp_path / "study.json")
    assert summary["completed_trials"] == 6
    assert summary["parity"][0]["kernel_trades"] == summary["parity"][0]["event_trades"]
    assert "pbo" in summary
    assert "deflated_sharpe" in summary
    assert "plotly" in (tmp_path / "report.html").read_text()[:200_000].lower()
    assert "probability of backtest overfitting" in capsys.readouterr().out


def test_walkforward_and_montecarlo_on_a_shared_5m_file(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    common = ["--data", str(data), "--symbol", "ETH/BTC", "-t", "5m", "--fee", "0.001"]
    code = run(["walkforward", "-s", "ema_cross", *common, "--train", "5d", "--test", "2d",
                "--sampler", "random", "-n", "6", "--space", "fast=3:20",
                "--space", "slow=25:80", "-p", "short=false",
                "--json", str(tmp_path / "wf.json"), "--report", str(tmp_path / "wf.html")])  # fmt: skip
    assert code == 0
    assert _strict(tmp_path / "wf.json")["windows"]
    code = run(["montecarlo", "-s", "sma_cross", *common, "--method", "block", "--paths", "1000",
                "--json", str(tmp_path / "mc.json"), "--report", str(tmp_path / "mc.html")])  # fmt: skip
    assert code == 0
    mc = _strict(tmp_path / "mc.json")
    assert mc["paths"] == 1000
    assert mc["health"]["orders_submitted"] > 0  # the backtest the paths come from
    assert "risk of ruin" in capsys.readouterr().out
    # A run without a trade: its ratios are undefined, written as null.
    code = run(["backtest", "-s", "sma_cross", *common, "--to", "2018-01-10T06:00",
                "--json", str(tmp_path / "bt.json")])  # fmt: skip
    assert code == 0
    document = _strict(tmp_path / "bt.json")
    assert document["metrics"]["trade_count"] == 0
    assert document["metrics"]["win_rate"] is None


def test_lookahead_and_recursive_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["lookahead", "-s", "sma_cross", "--cuts", "5"]) == 0
    assert run(["recursive", "-s", "macd_adx_trend"]) == 0
    script = tmp_path / "leaky.py"
    script.write_text(LEAKY)
    assert run(["lookahead", "-s", f"{script}:NextClose", "--cuts", "3"]) == 3
    assert "next_close" in capsys.readouterr().out


def test_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["optimize", "-s", "sma_cross", "--sampler", "anneal", "--storage", "memory"]) == 2
    assert "unknown sampler 'anneal'" in capsys.readouterr().err
