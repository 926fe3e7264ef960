"""User mistakes found by trying Tradewind as a new user: each is one line and exit 2, never a
traceback; a failure inside Tradewind itself still looks like a bug (exit 1, traceback)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tradewind.cli.backtest as backtest_cmd
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.kinds import DataKind

CliRunner = Callable[..., Any]
Outcome = Any  # conftest.Outcome: code, out, err

FILE = "ETH_BTC-5m.feather"


def _one_line(outcome: Outcome, *needles: str) -> None:
    assert outcome.code == 2, (outcome.out, outcome.err)
    assert "Traceback" not in outcome.err
    lines = [line for line in outcome.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, outcome.err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def eth(shared_data: Path) -> Path:
    return shared_data / "candles" / FILE


def test_from_after_to(cli: CliRunner, eth: Path) -> None:
    outcome = cli("backtest", "-s", "sma_cross", "--data", eth, "--from", "2018-01-20",
                  "--to", "2018-01-12")  # fmt: skip
    _one_line(outcome, "--from", "--to", "2018-01-20")


def test_from_after_the_data_ends(cli: CliRunner, eth: Path) -> None:
    outcome = cli("backtest", "-s", "sma_cross", "--data", eth, "--from", "2030-01-01")
    _one_line(outcome, "no bars to trade", "2030-01-01", "the data covers 2018-01-10")


def test_header_only_data_file(cli: CliRunner, eth: Path, tmp_path: Path) -> None:
    empty = tmp_path / "ETH_BTC-5m.csv"
    pd.read_feather(eth).iloc[:0].to_csv(empty, index=False)
    _one_line(cli("backtest", "-s", "sma_cross", "--data", empty), "ETH_BTC-5m.csv")


def test_empty_stored_series(cli: CliRunner, eth: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    pd.read_feather(eth).iloc[:0].to_csv(empty, index=False)
    cat = tmp_path / "cat"
    flags = ["--symbol", "ETH/BTC", "-t", "5m", "--data-dir", cat]
    refused = cli("data", "import", empty, *flags)
    _one_line(refused, "empty.csv has no rows", "--force")
    imported = cli("data", "import", empty, *flags, "--force")
    assert imported.code == 0, imported.err
    outcome = cli("backtest", "-s", "sma_cross", "--symbol", "ETH/BTC", "--data-dir", cat)
    _one_line(outcome, "ETH/BTC", "no rows")


def test_replacing_a_series_with_a_header_only_file_is_refused(
    cli: CliRunner, eth: Path, tmp_path: Path
) -> None:
    cat = tmp_path / "cat"
    assert cli("data", "import", eth, "--data-dir", cat).code == 0
    empty = tmp_path / "ETH_BTC-5m.csv"
    pd.read_feather(eth).iloc[:0].to_csv(empty, index=False)
    key = SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)
    before = Catalog(cat).path(key).read_bytes()

    flags = ["--symbol", "ETH/BTC", "-t", "5m", "--data-dir", cat]
    outcome = cli("data", "import", empty, "--mode", "replace", *flags)

    _one_line(outcome, "replacing 5,760 stored rows with 0 would lose data", "--force")
    assert Catalog(cat).path(key).read_bytes() == before
    assert not [p for p in Catalog(cat).path(key).parent.iterdir() if p.name.endswith(".tmp")]
    forced = cli("data", "import", empty, "--mode", "replace", "--force", *flags)
    assert forced.code == 0, forced.err
    assert Catalog(cat).row_count(key) == 0


def test_strategy_exception_names_the_strategy_file_and_line(
    cli: CliRunner, eth: Path, tmp_path: Path
) -> None:
    script = tmp_path / "broken.py"
    script.write_text(
        "from tradewind.strategies.base import Signals, Strategy\n"
        "\n"
        "class Broken(Strategy):\n"
        "    name = 'broken'\n"
        "\n"
        "    def signals(self, bars):\n"
        "        return Signals(entry_long=bars.close > {})\n"
    )
    for command in ("backtest", "lookahead"):
        outcome = cli(command, "-s", f"{script}:Broken", "--data", eth)
        _one_line(outcome, "strategy 'broken' raised TypeError in signals()", f"{script}:7")


def test_unknown_log_level_in_the_config_file(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "loud.toml"
    config.write_text('[log]\nlevel = "LOUD"\n')
    outcome = cli("config", "show", "--config", config)
    _one_line(outcome, "log.level", "loud.toml", "'LOUD'", "DEBUG, INFO")


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["backtest", "-s", "sma_cross", "--data", "{eth}", "--json", "{blocked}/out.json"],
         "--json"),
        (["optimize", "-s", "sma_cross", "--data", "{eth}", "--run-dir", "{blocked}/run"],
         "--run-dir"),
        (["data", "import", "{eth}", "--data-dir", "{blocked}/cat"], "--data-dir"),
        (["walkforward", "-s", "sma_cross", "--train", "5d", "--test", "2d", "--data", "{eth}",
          "--report", "{blocked}/wf.html"], "--report"),
        (["demo", "--run-dir", "{blocked}/demo"], "--run-dir"),
    ],
)  # fmt: skip
def test_unwritable_output_paths(
    cli: CliRunner, eth: Path, tmp_path: Path, args: list[str], flag: str
) -> None:
    # A regular file where a folder is needed: unwritable even for root, which ignores modes.
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    filled = [a.replace("{eth}", str(eth)).replace("{blocked}", str(blocked)) for a in args]
    _one_line(cli(*filled), flag, str(blocked))


def test_epoch_ms_csv_backtests_like_its_catalog_import(
    cli: CliRunner, eth: Path, tmp_path: Path
) -> None:
    frame = pd.read_feather(eth)
    frame["date"] = frame["date"].astype("datetime64[ms, UTC]").astype("int64")
    csv = tmp_path / "eth.csv"
    frame.to_csv(csv, index=False)
    cat = tmp_path / "cat"
    common = ["-s", "sma_cross", "-p", "fast=5", "-p", "slow=20", "--fee", "0.001"]

    direct = cli("backtest", *common, "--data", csv, "--symbol", "ETH/BTC",
                 "--json", tmp_path / "direct.json")  # fmt: skip
    assert direct.code == 0, direct.err
    imported = cli("data", "import", csv, "--symbol", "ETH/BTC", "-t", "5m", "--data-dir", cat)
    assert imported.code == 0, imported.err
    stored = cli("backtest", *common, "--symbol", "ETH/BTC", "--data-dir", cat,
                 "--json", tmp_path / "stored.json")  # fmt: skip
    assert stored.code == 0, stored.err

    a = json.loads((tmp_path / "direct.json").read_text())
    b = json.loads((tmp_path / "stored.json").read_text())
    assert a["metrics"]["trade_count"] > 5
    assert a["metrics"] == b["metrics"]
    assert a["trades"] == b["trades"]


def test_data_file_symbol_and_timeframe_are_inferred_or_asked_for(
    cli: CliRunner, eth: Path, tmp_path: Path
) -> None:
    named = cli("backtest", "-s", "sma_cross", "--data", eth, "--json", tmp_path / "a.json")
    assert named.code == 0, named.err
    meta = json.loads((tmp_path / "a.json").read_text())["meta"]
    assert "ETH/BTC" in json.dumps(meta)
    assert meta["timeframe"] == "5m"

    plain = tmp_path / "candles.feather"
    plain.write_bytes(eth.read_bytes())
    _one_line(cli("backtest", "-s", "sma_cross", "--data", plain), "--symbol", "candles.feather")
    inferred = cli("backtest", "-s", "sma_cross", "--data", plain, "--symbol", "ETH/BTC",
                   "--json", tmp_path / "b.json")  # fmt: skip
    assert inferred.code == 0, inferred.err
    assert json.loads((tmp_path / "b.json").read_text())["meta"]["timeframe"] == "5m"


def test_a_bug_still_looks_like_a_bug(
    cli: CliRunner, eth: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal invariant broken")

    monkeypatch.setattr(backtest_cmd, "run_backtest", broken)
    outcome = cli("backtest", "-s", "sma_cross", "--data", eth)
    assert outcome.code == 1
    assert "Traceback (most recent call last)" in outcome.err
    assert "RuntimeError: internal invariant broken" in outcome.err
    assert "a bug in Tradewind" in outcome.err
    assert "report it with the traceback" in outcome.err


SHORT_WARMUP = """
import numpy as np
from tradewind.indicators.overlap import ema
from tradewind.strategies.base import Signals, Strategy

class ShortWarmup(Strategy):
    name = "short_warmup"

    @property
    def warmup(self):
        return 1  # an EMA of 50 bars needs far more than one bar to settle

    def indicators(self, bars):
        return {"ema": ema(bars.close, 50)}

    def signals(self, bars):
        return Signals(entry_long=bars.close > self.indicators(bars)["ema"])
"""

RAISES_IN_ON_BAR = """
from tradewind.strategies.base import Strategy

class Hooked(Strategy):
    name = "hooked"

    def on_bar(self, ctx, bars, i):
        if i > 10:
            raise KeyError("missing column")
"""


def test_recursive_exits_3_when_the_declared_warmup_is_too_short(
    cli: CliRunner, eth: Path, tmp_path: Path
) -> None:
    script = tmp_path / "short.py"
    script.write_text(SHORT_WARMUP)
    outcome = cli("recursive", "-s", f"{script}:ShortWarmup", "--data", eth)
    assert outcome.code == 3, outcome.err
    assert "check failed: short_warmup: the declared warm-up (1 bars)" in outcome.err
    assert "Traceback" not in outcome.err


def test_an_exception_in_a_hook_names_the_hook_and_line(
    cli: CliRunner, eth: Path, tmp_path: Path
) -> None:
    script = tmp_path / "hooked.py"
    script.write_text(RAISES_IN_ON_BAR)
    outcome = cli("backtest", "-s", f"{script}:Hooked", "--data", eth)
    _one_line(outcome, "strategy 'hooked' raised KeyError in on_bar()", f"{script}:9")


def test_an_exception_inside_a_built_in_strategy_stays_a_bug(
    cli: CliRunner, eth: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradewind.strategies.builtin.ma_cross import SmaCross

    def broken(self: object, bars: object) -> None:
        raise IndexError("built-in strategies must not fail")

    monkeypatch.setattr(SmaCross, "signals", broken)
    outcome = cli("backtest", "-s", "sma_cross", "--data", eth)
    assert outcome.code == 1
    assert "IndexError: built-in strategies must not fail" in outcome.err
    assert "a bug in Tradewind" in outcome.err
