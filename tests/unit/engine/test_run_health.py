"""Every run carries its health, and a position still open at the end is reported beside the
closed-trade statistics (issue 12, item 4 and "Loud, not quiet")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.cli.main import run
from tradewind.engine.health import reason_key
from tradewind.series.bars import BarSeries
from tradewind.strategies import Signals, Strategy


class BuyAndKeep(Strategy):
    """Enters once, at bar 100's close, and never exits: the position is open at the end."""

    name = "buy_and_keep_test"

    def signals(self, bars: BarSeries) -> Signals:
        entry = np.zeros(len(bars), dtype=bool)
        entry[100] = True
        return Signals(entry_long=entry)


@pytest.fixture(scope="module")
def month(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=3000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


def test_an_open_position_counts_in_the_return_and_is_reported_beside_the_trades(
    month: pd.DataFrame,
) -> None:
    result = backtest(BuyAndKeep, month, cash=100_000, fee=0.001, symbol="BTC/USD")
    metrics = result.metrics
    assert metrics["trade_count"] == 0  # closed trades only
    assert np.isnan(metrics["win_rate"])
    assert metrics["open_positions"] == 1
    (position,) = result.health.open_positions  # type: ignore[union-attr, misc]
    assert position["side"] == "long"
    assert position["mark_price"] == float(month["close"].iloc[-1])
    # The return marks the open position at the last close: all of it is the open PnL.
    assert metrics["final_equity"] - 100_000 == pytest.approx(position["open_pnl"], abs=1e-6)
    assert metrics["open_pnl"] == pytest.approx(position["open_pnl"])
    assert metrics["exposure_time"] > 0.9  # held from bar 101 to the end
    assert result.health.ok  # type: ignore[union-attr]
    document = result.to_json_dict()
    assert document["health"]["open_positions"][0]["symbol"] == "BTC/USD"
    assert document["health"]["orders_submitted"] == document["health"]["orders_filled"] == 1


class BuyOnTheLastBar(Strategy):
    """Enters at bar 100's close and signals again on the last bar, after which no bar comes."""

    name = "buy_on_the_last_bar_test"

    def signals(self, bars: BarSeries) -> Signals:
        entry = np.zeros(len(bars), dtype=bool)
        exit_ = np.zeros(len(bars), dtype=bool)
        entry[100] = exit_[200] = entry[-1] = True
        return Signals(entry_long=entry, exit_long=exit_)


def test_an_order_sent_after_the_last_bar_is_counted_apart_not_a_problem(
    month: pd.DataFrame,
) -> None:
    result = backtest(BuyOnTheLastBar, month, cash=100_000, fee=0.001, symbol="BTC/USD")
    health = result.health
    assert health is not None

    # The last bar's entry was sent and refused (no bar comes to fill it): a fact of where the
    # data ends, not a rejection that makes the result doubtful.
    assert (result.orders["status"] == "rejected").sum() == 1
    assert health.ok, health.problems
    assert health.unfilled_at_end == 1
    assert health.orders_rejected == 0
    assert health.orders_submitted == 3
    assert health.orders_filled == 2
    assert "1 sent after the last bar" in health.headline()
    assert "sent after the last bar, no bar to fill them 1" in health.lines()
    assert result.to_json_dict()["health"]["orders_unfilled_at_end"] == 1
    kernel = backtest(BuyOnTheLastBar, month, cash=100_000, fee=0.001, engine="kernel")
    assert kernel.metrics["trade_count"] == result.metrics["trade_count"] == 1


def test_the_kernel_reports_the_open_position_as_the_event_engine_does(
    month: pd.DataFrame,
) -> None:
    result = backtest(BuyAndKeep, month, cash=100_000, fee=0.001, engine="kernel")
    assert result.health is not None
    (position,) = result.health.open_positions
    assert position["side"] == "long"
    assert result.metrics["open_positions"] == 1
    assert result.metrics["final_equity"] - 100_000 == pytest.approx(position["open_pnl"], abs=1e-6)
    assert result.health.headline().startswith("health: ok - screening kernel, 1 fills")
    assert not any("not tracked" in line for line in result.health.lines())


def test_a_run_with_problems_says_so_in_its_first_line(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    out = tmp_path / "run.json"
    # Short signals on a spot market: every short entry is denied (a problem, not a rule).
    code = run(["--log-level", "WARNING", "backtest", "-s", "sma_cross", "--data", str(data),
                "--symbol", "ETH/BTC", "-t", "5m", "--fee", "0.001", "-p", "short=true",
                "--json", str(out)])  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("health: PROBLEMS - ")
    assert "intents denied (ETH/BTC is a spot market: it cannot be sold short" in lines[0]
    assert "run health:" in lines  # the full summary under the metrics
    health = json.loads(out.read_text())["health"]
    assert health["ok"] is False
    assert health["intents_denied"] > 0


def test_a_clean_run_says_ok_first(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["--log-level", "WARNING", "backtest", "-s", "sma_cross", "--to", "2022-01-03"])
    assert code == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("health: ok - ")
    assert "orders filled" in first


def test_reasons_that_differ_only_by_amounts_count_together() -> None:
    assert reason_key("stake 12.5 exceeds the free 3") == reason_key("stake 7 exceeds the free 1")
    assert reason_key("Filter failure: LOT_SIZE") == "Filter failure: LOT_SIZE"
