"""`tradewind strategies list | new` and the README's "Writing a strategy" example, run for real."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.cli.main import run
from tradewind.data.bundled import load_bundled
from tradewind.strategies import get_strategy, registered_names
from tradewind.strategies.template import render_template

README = Path(__file__).resolve().parents[2] / "README.md"


def test_list_shows_every_strategy_with_parameter_ranges_and_docstring(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["strategies", "list"]) == 0
    out = capsys.readouterr().out
    for name in registered_names():
        assert re.search(rf"^{name}\b", out, re.MULTILINE), name
        first_doc_line = (get_strategy(name).__doc__ or "").strip().splitlines()[0]
        assert first_doc_line.strip() in out
    assert re.search(r"fast\s+int\s+10\s+2 \.\. 200\s+fast SMA period, bars", out)
    assert re.search(r"bb_dev\s+float\s+2\s+0\.5 \.\. 4\s+", out)
    assert re.search(r"short\s+bool\s+false\s+true \| false", out)
    assert "{'" not in out
    assert run(["strategies", "list", "sma_crss"]) == 2
    assert "did you mean 'sma_cross'" in capsys.readouterr().err


def test_new_writes_a_template_that_backtests_and_passes_lookahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["strategies", "new", "my_trend"]) == 0
    assert "tradewind backtest -s my_trend.py:MyTrend" in capsys.readouterr().out
    source = (tmp_path / "my_trend.py").read_text()
    assert 'name = "my_trend"' in source
    assert source.count("#") > 10  # commented for a reader
    code = run(["backtest", "-s", "my_trend.py:MyTrend", "-p", "fast=8", "-p", "hold_hours=6",
                "--to", "2022-01-12", "--json", str(tmp_path / "out.json")])  # fmt: skip
    assert code == 0
    assert run(["lookahead", "-s", "my_trend.py:MyTrend", "--cuts", "5"]) == 0
    assert "no lookahead" in capsys.readouterr().out
    # A second `new` does not overwrite the user's work; a bad name is a user mistake.
    assert run(["strategies", "new", "my_trend"]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err
    assert run(["strategies", "new", "My-Trend"]) == 2
    assert "must be lower-case letters" in capsys.readouterr().err


def _readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Writing a strategy", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the section has exactly one complete Python example"
    return blocks[0]


def test_the_readme_example_runs_with_its_hooks_and_passes_lookahead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "ema_rsi.py"
    script.write_text(_readme_example())
    # The README says the example is what `strategies new ema_rsi` writes: hold it to that.
    assert _readme_example() == render_template("ema_rsi")
    frame, _ = load_bundled()
    frame = frame[frame["date"] < pd.Timestamp("2022-01-12", tz="UTC")]

    result = backtest(f"{script}:EmaRsi", frame, {"hold_hours": 2}, fee=0.001,
                      symbol="BTC/USD")  # fmt: skip

    reasons = set(result.trades["reason"])
    assert len(result.trades) > 20
    assert any("time stop" in str(r) for r in reasons), reasons  # on_fill + on_timer acted
    assert result.meta["params"]["hold_hours"] == 2
    assert run(["lookahead", "-s", f"{script}:EmaRsi", "--cuts", "5"]) == 0
    assert run(["recursive", "-s", f"{script}:EmaRsi"]) == 0
    capsys.readouterr()
