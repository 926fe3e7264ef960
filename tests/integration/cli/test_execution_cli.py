"""``--execution``: the backtest and Monte Carlo carry every market order out with the named
algorithm and report its cost; a wrong setting, or a command whose engine cannot run it, is one
line and exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CliRunner = Callable[..., Any]


@pytest.fixture
def eth(shared_data: Path) -> Path:
    return shared_data / "candles" / "ETH_BTC-5m.feather"


def _one_line(outcome: Any, needle: str) -> None:
    assert outcome.code == 2, (outcome.out, outcome.err)
    assert "Traceback" not in outcome.err
    lines = [line for line in outcome.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, outcome.err
    assert needle in lines[0], lines[0]


def test_a_backtest_runs_its_orders_as_twap_parents_and_reports_their_cost(
    cli: CliRunner, eth: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run.json"
    outcome = cli("backtest", "-s", "sma_cross", "--data", eth, "--to", "2018-01-14",
                  "--execution", "twap:horizon=20m,slices=4", "--json", out)  # fmt: skip
    assert outcome.code == 0, outcome.err
    document = json.loads(out.read_text())
    algos = {row["algo"]: row for row in document["tca"]["by_algo"]}
    assert set(algos) == {"twap", "twap.child"}
    assert algos["twap"]["count"] * 4 >= algos["twap.child"]["count"] > 0
    assert document["meta"]["execution"] == {"algo": "twap", "horizon_ms": 1_200_000, "slices": 4}


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("twap:slices=x,horizon=1h", "execution twap: slices='x' is not a valid value"),
        ("fastest", "unknown execution algorithm 'fastest'"),
    ],
)
def test_a_wrong_execution_is_one_line(cli: CliRunner, eth: Path, value: str, needle: str) -> None:
    _one_line(cli("backtest", "-s", "sma_cross", "--data", eth, "--execution", value), needle)


def test_the_kernel_refuses_an_execution_algorithm(cli: CliRunner, eth: Path) -> None:
    outcome = cli("backtest", "-s", "sma_cross", "--data", eth, "--engine", "kernel",
                  "--execution", "twap:horizon=20m,slices=4")  # fmt: skip
    _one_line(outcome, "execution algorithms (--execution) run in the event engine")
    outcome = cli("optimize", "-s", "sma_cross", "--data", eth, "--execution", "market")
    _one_line(outcome, "--execution")
