"""``optimize`` and ``walkforward`` apply ``--leverage`` and ``--volatility-slippage`` as
``backtest`` does, on both engines a search uses (they were refused by name).

A trial on the screening kernel takes the margin kernel with these flags; ``--top 1`` re-runs it
on the event engine, which must agree (an engine mismatch is a bug and fails the command). The
flags must change the result, or the test proves nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

CliRunner = Callable[..., Any]
COSTS = ["--leverage", "3", "--volatility-slippage", "0.1"]
PARAMS = ["-p", "fast=6", "-p", "slow=30", "-p", "short=true"]


@pytest.fixture(scope="module")
def perp(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Two days of the recorded BTC perpetual (1m) as a file, and the flags that name it."""
    source = shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv"
    path = tmp_path_factory.mktemp("perp") / "perp.csv"
    path.write_text("".join(source.read_text().splitlines(keepends=True)[: 2 * 1440 + 1]))
    return ["-s", "sma_cross", "--data", str(path), "--symbol", "BTC/USD:USD", "--fee", "0.0005"]


def _one_point() -> list[str]:
    return ["--sampler", "grid", "-n", "1", "--space", "fast=6:6", "--space", "slow=30:30",
            "--param", "short=true", "--min-trades", "1"]  # fmt: skip


def _backtest(cli: CliRunner, market: list[str], out: Path, *costs: str) -> dict[str, Any]:
    outcome = cli("backtest", *market, *PARAMS, *costs, "--json", out)
    assert outcome.code == 0, outcome.err
    metrics: dict[str, Any] = json.loads(out.read_text())["metrics"]
    return metrics


def test_an_optimize_trial_runs_with_leverage_and_volatility_slippage(
    cli: CliRunner, perp: list[str], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"

    outcome = cli("optimize", *perp, *_one_point(), "--top", "1", *COSTS, "--run-dir", run_dir)

    assert outcome.code == 0, outcome.err
    (trial,) = pd.read_csv(run_dir / "trials.csv").to_dict("records")
    assert trial["engine"] == "kernel"  # the margin kernel, long and short
    # The event engine re-ran the trial with the same flags and agreed (else exit 1).
    assert "event engine check #0" in outcome.out
    costly = _backtest(cli, perp, tmp_path / "costly.json", *COSTS)
    plain = _backtest(cli, perp, tmp_path / "plain.json")
    assert costly["total_return"] != pytest.approx(plain["total_return"], rel=1e-3)
    assert trial["trade_count"] == costly["trade_count"]
    assert trial["total_return"] == pytest.approx(costly["total_return"], rel=1e-9)


@pytest.mark.parametrize("costs", [["--leverage", "3"], ["--volatility-slippage", "0.1"]])
def test_each_flag_alone_changes_an_optimize_trial(
    cli: CliRunner, perp: list[str], tmp_path: Path, costs: list[str]
) -> None:
    returns = {}
    for name, given in (("plain", []), ("costly", costs)):
        run_dir = tmp_path / name
        outcome = cli("optimize", *perp, *_one_point(), "--top", "0", *given, "--run-dir", run_dir)
        assert outcome.code == 0, outcome.err
        (trial,) = pd.read_csv(run_dir / "trials.csv").to_dict("records")
        returns[name] = trial["total_return"]
        backtest = _backtest(cli, perp, tmp_path / f"{name}.json", *given)
        assert trial["total_return"] == pytest.approx(backtest["total_return"], rel=1e-9)
    assert returns["costly"] != pytest.approx(returns["plain"], rel=1e-3)


def test_every_walkforward_window_runs_with_leverage_and_volatility_slippage(
    cli: CliRunner, perp: list[str], tmp_path: Path
) -> None:
    windows = ["--train", "12h", "--test", "6h", "--min-oos-trades", "1"]
    runs = {}
    for name, costs in (("plain", []), ("costly", COSTS)):
        out = tmp_path / f"{name}.json"
        outcome = cli("walkforward", *perp, *_one_point(), *windows, *costs, "--json", out)
        assert outcome.code == 0, outcome.err
        runs[name] = json.loads(out.read_text())["windows"]

    plain, costly = runs["plain"], runs["costly"]
    assert len(plain) == len(costly) >= 3
    for side in ("in_sample", "out_of_sample"):
        returns = [
            (a[side]["total_return"], b[side]["total_return"])
            for a, b in zip(plain, costly, strict=True)
        ]
        assert all(a != pytest.approx(b, rel=1e-9) for a, b in returns), (side, returns)


@pytest.mark.parametrize("command", ["optimize", "walkforward"])
def test_a_search_refuses_leverage_on_a_spot_market(
    cli: CliRunner, shared_data: Path, command: str
) -> None:
    windows = ["--train", "5d", "--test", "2d"] if command == "walkforward" else []
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    outcome = cli(command, "-s", "sma_cross", "--data", data, "--leverage", "3", *windows)
    assert outcome.code == 2, outcome.err
    assert "leverage needs a perpetual market" in outcome.err
    assert "Traceback" not in outcome.err
