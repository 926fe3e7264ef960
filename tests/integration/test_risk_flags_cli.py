"""Each risk flag switches on its own rule and nothing else, and the run says so when it starts.

Regression (issue 12, item 11): ``--stop 0.02`` alone used to switch on a 2% daily-loss and a 20%
drawdown breaker, and ``--take-profit`` alone added a hidden 2% stop.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradewind.cli.main import run

SHORT_RUN = ["--log-level", "WARNING", "backtest", "-s", "sma_cross", "--to", "2022-01-04"]


def _rules(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("risk rules in force:")]
    assert len(lines) == 1, err
    return lines[0].removeprefix("risk rules in force:").strip()


@pytest.mark.parametrize(
    ("flags", "rule"),
    [
        ([], "none"),
        (["--stop", "0.02"], "exits.stop_pct=0.02"),
        (["--take-profit", "0.03"], "exits.take_profit_pct=0.03"),
        (["--trailing", "0.01"], "exits.trailing_pct=0.01"),
        (
            ["--risk-preset", "conservative"],
            "sizing.model=fixed_risk (risk=0.01), exits.stop_pct=0.02, breakers.daily_loss=0.02, "
            "breakers.max_drawdown=0.2",
        ),
    ],
)
def test_each_single_risk_flag_lists_exactly_its_rule(
    flags: list[str], rule: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.json"
    code = run([*SHORT_RUN, *flags, "--json", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert _rules(captured.err) == rule
    risk = json.loads(out.read_text())["meta"]["risk"]
    if not flags:
        assert risk is None
        return
    breakers_on = {k: v for k, v in risk["breakers"].items() if v not in (None, False)}
    if flags[0] == "--risk-preset":
        assert breakers_on.keys() >= {"daily_loss", "max_drawdown"}
    else:
        assert risk["exits"]["stop_pct"] == (0.02 if flags[0] == "--stop" else None)
        assert not {k for k in breakers_on if not k.endswith(("_window", "_bars"))}


def test_an_unknown_preset_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["backtest", "-s", "sma_cross", "--risk-preset", "safest"]) == 2
    assert "unknown risk preset 'safest'" in capsys.readouterr().err


def test_a_risk_config_file_lists_exactly_its_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "risk.toml"
    path.write_text("[risk.breakers]\ndaily_loss = 0.03\n", encoding="utf-8")
    code = run([*SHORT_RUN, "--risk-config", str(path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert _rules(captured.err) == "breakers.daily_loss=0.03"
