"""One CLI that behaves the same everywhere: short flags, shared run options, global options after
the sub-command, several strategies in one account, help that keeps brackets, config show."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer.main

from tradewind.cli.main import app
from tradewind.cli.run_options import RunOptions
from tradewind.config import load_config

CliRunner = Callable[..., Any]
RUN_COMMANDS = ("backtest", "optimize", "walkforward", "montecarlo")


def _commands() -> Iterator[tuple[str, Any]]:
    """Every leaf command of the CLI with its full name, found by walking click's tree."""
    stack: list[tuple[str, Any]] = [("tradewind", typer.main.get_command(app))]
    while stack:
        name, command = stack.pop()
        children = getattr(command, "commands", None)
        if children:
            stack.extend((f"{name} {child}", sub) for child, sub in children.items())
        else:
            yield name, command


def _options(command: Any) -> list[Any]:
    return [p for p in command.params if p.param_type_name == "option"]


def test_the_walk_finds_every_command() -> None:
    names = {name for name, _ in _commands()}
    assert len(names) >= 20
    for expected in ("tradewind backtest", "tradewind data import", "tradewind config show"):
        assert expected in names


def test_s_means_strategy_everywhere_and_symbols_have_no_short_flag() -> None:
    with_s = []
    for name, command in _commands():
        for option in _options(command):
            flags = [*option.opts, *option.secondary_opts]
            if "-s" in flags:
                assert "--strategy" in flags, f"{name}: -s is {flags}"
                with_s.append(name)
            if "--symbol" in flags or "--symbols" in flags:
                short = [f for f in flags if not f.startswith("--")]
                assert not short, f"{name}: --symbol has the short flag {short}"
    assert {f"tradewind {c}" for c in RUN_COMMANDS} <= set(with_s)


def test_run_commands_take_the_same_data_cost_risk_and_output_flags() -> None:
    shared = {flag for field in RunOptions.__dataclass_fields__ for flag in _flags_of_field(field)}
    assert {"--data-dir", "--from", "--to", "--leverage", "--slippage-bps", "--stop", "--json",
            "--report", "--risk-preset", "--data", "--symbol", "--fee"} <= shared  # fmt: skip
    commands = dict(_commands())
    for name in RUN_COMMANDS:
        flags = {f for option in _options(commands[f"tradewind {name}"]) for f in option.opts}
        assert shared <= flags, f"{name} lacks {sorted(shared - flags)}"


def _flags_of_field(field: str) -> list[str]:
    import typing

    info = typing.get_type_hints(RunOptions, include_extras=True)[field].__metadata__[0]
    return [str(n) for n in (info.default, *info.param_decls) if str(n).startswith("--")]


@pytest.mark.parametrize("name", ["tradewind backtest", "tradewind exchange-sim"])
def test_help_keeps_bracketed_words(cli: CliRunner, name: str) -> None:
    outcome = cli(*name.split()[1:], "--help")
    assert outcome.code == 0
    text = " ".join(outcome.out.split())
    assert ("[risk]" in text) if name.endswith("backtest") else ("[[fault]]" in text)


def test_every_help_text_keeps_its_brackets(cli: CliRunner) -> None:
    checked = 0
    for name, command in _commands():
        outcome = cli(*name.split()[1:], "--help")
        assert outcome.code == 0, (name, outcome.err)
        shown = " ".join(outcome.out.split()).replace("│", " ")
        shown = " ".join(shown.split())
        for option in _options(command):
            for token in re.findall(r"\[\[?[a-z_]+\]\]?", option.help or ""):
                assert token in shown, f"{name} {option.opts[0]}: {token} missing from help"
                checked += 1
    assert checked >= 3


def test_config_and_debug_after_the_sub_command(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text('[data]\ndir = "elsewhere/catalog"\n')
    outcome = cli("config", "show", "--config", config)
    assert outcome.code == 0, outcome.err
    assert 'dir = "elsewhere/catalog"' in outcome.out
    before = cli("--config", config, "config", "show")
    assert before.out == outcome.out

    debugged = cli("backtest", "-s", "sma_cross", "--from", "nonsense", "--debug")
    assert debugged.code == 2
    assert "Traceback" in debugged.err  # --debug after the sub-command still shows it
    plain = cli("backtest", "-s", "sma_cross", "--from", "nonsense")
    assert plain.code == 2
    assert "Traceback" not in plain.err


def test_a_flag_value_that_looks_like_a_global_option_stays_a_value(cli: CliRunner) -> None:
    outcome = cli("backtest", "-s", "sma_cross", "--param", "--debug")
    assert outcome.code == 2
    assert "--param takes key=value, got '--debug'" in outcome.err


def test_several_strategies_run_together_in_one_account(
    cli: CliRunner, shared_data: Path, tmp_path: Path
) -> None:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    outcome = cli("backtest", "-s", "sma_cross", "-s", "ema_cross", "-p", "sma_cross.fast=5",
                  "-p", "sma_cross.slow=20", "--stake", "25%", "--fee", "0.001", "--data", data,
                  "--json", tmp_path / "r.json", "--export", tmp_path / "csv")  # fmt: skip
    assert outcome.code == 0, outcome.err
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["meta"]["strategy"] == "sma_cross, ema_cross"
    traded = set(pd.read_csv(tmp_path / "csv" / "trades.csv")["strategy"])
    assert any(s.startswith("sma_cross(fast=5, slow=20") for s in traded), traded
    assert "ema_cross" in traded

    unnamed = cli("backtest", "-s", "sma_cross", "-s", "ema_cross", "-p", "fast=5", "--data", data)
    assert unnamed.code == 2
    assert "-p sma_cross.fast=5" in unnamed.err
    one_only = cli("optimize", "-s", "sma_cross", "-s", "ema_cross", "--data", data)
    assert one_only.code == 2
    assert "got 2 --strategy: sma_cross, ema_cross" in one_only.err


@pytest.mark.parametrize("command", ["optimize", "walkforward"])
def test_a_search_refuses_an_execution_algorithm_by_name(cli: CliRunner, command: str) -> None:
    windows = ["--train", "5d", "--test", "2d"] if command == "walkforward" else []
    outcome = cli(command, "-s", "sma_cross", "--execution", "twap", *windows)
    assert outcome.code == 2
    assert f"{command} cannot apply --execution" in outcome.err


def test_config_show_prints_toml_to_copy_and_no_secret(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRADEWIND__DATABASE__URL", "postgresql://bob:hunter2-secret@db:5432/tw")
    monkeypatch.setenv("TRADEWIND__EXCHANGE__SECRET", "api-secret-value")
    monkeypatch.setenv("TRADEWIND__RISK__EXITS__STOP_PCT", "0.03")
    outcome = cli("config", "show")
    assert outcome.code == 0, outcome.err
    assert "hunter2-secret" not in outcome.out
    assert "api-secret-value" not in outcome.out
    assert "TRADEWIND__DATABASE__URL" in outcome.out
    assert "TRADEWIND__EXCHANGE__SECRET" in outcome.out
    document = tomllib.loads(outcome.out)
    assert document["risk"]["exits"]["stop_pct"] == 0.03
    copied = tmp_path / "copied.toml"
    copied.write_text(outcome.out)
    # The copy gives the same config, except the secrets, which stay in the environment.
    env = {"TRADEWIND__DATABASE__URL": "postgresql://bob:hunter2-secret@db:5432/tw",
           "TRADEWIND__EXCHANGE__SECRET": "api-secret-value"}  # fmt: skip
    assert load_config(copied, env=env) == load_config(None)
