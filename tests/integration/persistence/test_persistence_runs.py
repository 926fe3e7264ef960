"""Backtests recorded into the run registry (opt-in), listed, and compared by strategy and by
the market regime at each trade's entry."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from tradewind.cli.main import run
from tradewind.data.bundled import load_bundled
from tradewind.indicators.regime import Regime, classify_regime
from tradewind.persistence.bots import open_bot
from tradewind.persistence.models import RunTradeRow
from tradewind.persistence.queries import compare_runs

REGIMES = {"trending_up", "trending_down", "ranging", "volatile", "quiet", "undefined"}


@pytest.fixture
def bots_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bots"
    monkeypatch.setenv("TRADEWIND__DATABASE__BOTS_DIR", str(folder))
    return folder


def test_backtests_recorded_listed_and_compared(
    bots_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for strategy in ("sma_cross", "ema_cross"):
        out = tmp_path / f"{strategy}.json"
        code = run(["backtest", "-s", strategy, "--to", "2022-01-06", "--fee", "0.001",
                    "--bot", "research", "--json", str(out)])  # fmt: skip
        assert code == 0
    assert "recorded as run 2" in capsys.readouterr().out
    sma = json.loads((tmp_path / "sma_cross.json").read_text())
    assert len(sma["trades"]) >= 5  # not vacuous

    assert run(["runs", "--bot", "research", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["strategy"] for r in listed] == ["ema_cross", "sma_cross"]
    assert listed[1]["trade_count"] == len(sma["trades"])
    assert listed[1]["total_return"] == pytest.approx(sma["metrics"]["total_return"])

    bot = open_bot("research", bots_dir=bots_dir, create=False)
    with bot.engine.connect() as connection:
        stored = connection.execute(select(RunTradeRow.__table__)).all()
    assert {t.regime_at_entry for t in stored} <= REGIMES
    assert len({t.regime_at_entry for t in stored}) >= 2  # the labels vary over a week of 1m bars
    sma_rows = [t for t in stored if t.run_id == 1]
    assert [float(t.pnl) for t in sma_rows] == [t["pnl"] for t in sma["trades"]]
    # The label is the regime of the last 1m bar complete at the entry (nothing later).
    frame, _ = load_bundled()
    codes = classify_regime(frame["high"], frame["low"], frame["close"])
    closes = frame["date"].astype("datetime64[ms, UTC]").astype("int64").to_numpy() + 60_000
    for row in sma_rows:
        at = int(row.entry_at.timestamp() * 1000)
        index = int(np.searchsorted(closes, at, side="right")) - 1
        assert row.regime_at_entry == Regime(int(codes[index])).name.lower()

    by_strategy = compare_runs(bot.engine, "strategy")
    by_regime = compare_runs(bot.engine, "regime")
    total = sum((Decimal(str(t.pnl)) for t in stored), Decimal(0))
    # Both groupings partition the same trades: counts and exact PnL add up.
    for groups in (by_strategy, by_regime):
        assert sum(g["trades"] for g in groups) == len(stored)
        assert sum((g["total_pnl"] for g in groups), Decimal(0)) == total
    assert run(["runs", "--bot", "research", "compare", "--by", "regime", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {g["regime"] for g in shown} == {g["regime"] for g in by_regime}
    assert run(["runs", "--bot", "research", "compare", "--by", "moon"]) == 2


def test_a_backtest_without_a_database_records_nothing(
    bots_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["backtest", "-s", "sma_cross", "--to", "2022-01-03"]) == 0
    assert "recorded as run" not in capsys.readouterr().out
    assert not bots_dir.exists()
    # A bad target fails before the run, naming what is wrong.
    assert run(["backtest", "-s", "sma_cross", "--bot", "no/slash"]) == 2
    assert "bot name" in capsys.readouterr().err


def test_optimisation_and_walkforward_runs_are_recorded(
    bots_dir: Path, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    common = ["--data", str(data), "--symbol", "ETH/BTC", "-t", "5m", "--fee", "0.001",
              "--bot", "research"]  # fmt: skip
    assert (
        run(
            [
                "optimize",
                "-s",
                "sma_cross",
                *common,
                "--sampler",
                "grid",
                "--space",
                "fast=5:6",
                "--space",
                "slow=30:40:10",
                "-p",
                "short=false",
                "--top",
                "0",
                "--storage",
                "memory",
                "--run-dir",
                str(tmp_path / "opt"),
            ]
        )
        == 0
    )
    assert run(["walkforward", "-s", "ema_cross", *common, "--train", "5d", "--test", "2d",
                "--sampler", "random", "-n", "3", "--space", "fast=3:20",
                "--space", "slow=25:80", "-p", "short=false"]) == 0  # fmt: skip
    capsys.readouterr()
    assert run(["runs", "--bot", "research", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["kind"] for r in listed] == ["walkforward", "optimisation"]
    assert {r["symbols"] for r in listed} == {"ETH/BTC"}
    assert json.loads(listed[1]["parameters"])["fast"] in (5, 6)
    assert len(json.loads(listed[0]["parameters"])["windows"]) >= 2
    assert run(["runs", "--bot", "research", "--kind", "optimisation", "--json"]) == 0
    assert [r["kind"] for r in json.loads(capsys.readouterr().out)] == ["optimisation"]
    assert run(["runs", "--bot", "research", "--kind", "hyperopt"]) == 2
