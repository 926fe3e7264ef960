"""A seeded fuzz of the CLI through its entry function: bad flag values, config keys and values,
and broken files (truncated, wrong columns, wrong types, binary).

Every example knows what it broke (a flag, a config key, a file) and checks the CLI's answer:
exit 2, one ``error:`` line that names the broken thing, no traceback. Examples per command stay
at most 200 (found here: ``data download --since 1,5`` overflowed, ``data resample --to`` was not
named) and the whole module well under 3 minutes: each example fails before any backtest runs.
A fixed seed makes every failure reproducible (the example is in the assertion message).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

CliRunner = Callable[..., Any]
SEED = 20261207
GARBAGE = ["x", "abc", "1e", "--", "1,5", "0x", "?", "1.2.3", "NaNx", "12ab", "-", "[]", "é"]


@dataclass(frozen=True)
class Example:
    """One generated bad input: the command line, what it broke, and words naming it."""

    args: list[str]
    broke: str
    names: tuple[str, ...]


def _names(flag: str) -> tuple[str, ...]:
    bare = flag.lstrip("-")
    return (flag, bare, bare.replace("-", "_"), bare.replace("-", " "), bare.split("-")[0])


def _check(cli: CliRunner, example: Example) -> None:
    outcome = cli(*example.args)
    where = f"{example.broke}: tradewind {' '.join(example.args)}\n{outcome.err}"
    assert outcome.code == 2, where
    assert "Traceback" not in outcome.err, where
    text = " ".join(outcome.err.split())
    assert any(name in text for name in example.names), where


# -- bad flag values --------------------------------------------------------------------------

# Flags whose values are checked, per command, with a generator of values that must be refused.
_NUMBERS = {"--leverage", "--slippage-bps", "--volatility-slippage", "--stop", "--take-profit",
            "--trailing", "--trials", "--paths", "--seed", "--cuts", "--starts", "--ruin",
            "--confidence", "--skip", "--block", "--tolerance", "--top", "--batch", "--rows",
            "--tolerance-ms", "--limit", "--dd-penalty"}  # fmt: skip
_WORDS = {"--cash", "--stake", "--fee", "--fill", "--engine", "--from", "--to", "--timeframe",
          "--sampler", "--method", "--risk-preset", "--exchange", "--symbol", "--mode",
          "--kind", "--price-step", "--amount-step", "--maker-fee", "--taker-fee",
          "--period", "--objective", "--train", "--test", "--date-format"}  # fmt: skip


def _bad_value(rng: random.Random, flag: str) -> str:
    if flag in {"--stop", "--take-profit", "--trailing", "--leverage", "--slippage-bps"}:
        return rng.choice([*GARBAGE, "-1", "-0.5"])
    if flag == "--exchange":
        return rng.choice(["BAD!", "a b", "../x", "ÿ"])
    if flag == "--symbol":
        return rng.choice(["a_b", "../x", "BTC/USD/X", "_x"])
    return rng.choice(GARBAGE)


def _flag_examples(
    rng: random.Random, base: list[str], flags: list[str], n: int
) -> Iterator[Example]:
    for _ in range(n):
        flag = rng.choice(flags)
        yield Example([*base, flag, _bad_value(rng, flag)], flag, _names(flag))


COMMANDS: dict[str, tuple[list[str], list[str]]] = {
    "backtest": (["backtest", "-s", "sma_cross", "--data", "{eth}"],
                 ["--cash", "--stake", "--fee", "--fill", "--engine", "--from", "--to",
                  "--timeframe", "--leverage", "--slippage-bps", "--volatility-slippage",
                  "--stop", "--take-profit", "--trailing", "--risk-preset", "--exchange",
                  "--symbol"]),
    "optimize": (["optimize", "-s", "sma_cross", "--data", "{eth}", "--storage", "memory",
                  "--run-dir", "{tmp}/opt"],
                 ["--sampler", "--trials", "--cash", "--stake", "--fee", "--fill", "--from",
                  "--to", "--objective", "--period", "--timeframe", "--top", "--batch",
                  "--slippage-bps"]),
    "walkforward": (["walkforward", "-s", "sma_cross", "--data", "{eth}", "--train", "5d",
                     "--test", "2d"],
                    ["--sampler", "--trials", "--cash", "--stake", "--fee", "--fill",
                     "--train", "--test", "--from", "--to"]),
    "montecarlo": (["montecarlo", "-s", "sma_cross", "--data", "{eth}"],
                   ["--method", "--paths", "--cash", "--stake", "--fee", "--fill", "--ruin",
                    "--confidence", "--skip", "--from", "--to", "--leverage", "--stop"]),
    "lookahead": (["lookahead", "-s", "sma_cross", "--data", "{eth}"],
                  ["--cuts", "--timeframe", "--symbol"]),
    "recursive": (["recursive", "-s", "sma_cross", "--data", "{eth}"],
                  ["--tolerance", "--starts", "--timeframe"]),
    "data import": (["data", "import", "{eth}", "--data-dir", "{tmp}/cat"],
                    ["--mode", "--kind", "--price-step", "--amount-step", "--maker-fee",
                     "--taker-fee", "--tolerance-ms", "--timeframe", "--symbol", "--exchange"]),
    "data show": (["data", "show", "--symbol", "ETH/BTC", "-t", "5m", "--data-dir", "{cat}"],
                  ["--rows", "--kind", "--timeframe"]),
    "data validate": (["data", "validate", "{eth}"],
                      ["--limit", "--tolerance-ms", "--kind", "--timeframe"]),
    "data resample": (["data", "resample", "--to", "1h", "--symbol", "ETH/BTC", "-t", "5m",
                       "--data-dir", "{cat}"],
                      ["--to", "--kind", "--timeframe"]),
    # A closed loopback port: a value let through would fail on the connection, not pass.
    "data download": (["data", "download", "--symbol", "ETH/BTC", "-t", "5m", "--since",
                       "2018-01-10", "--rest-url", "http://127.0.0.1:9", "--data-dir",
                       "{tmp}/dl"],
                      ["--since", "--until", "--timeframe", "--kind"]),
    "exchange-sim": (["exchange-sim"],
                     ["--speed", "--port", "--seed", "--usdt", "--history",
                      "--max-connection-hours"]),
    "trade": (["trade", "-s", "sma_cross", "--symbol", "BTC/USDT", "--mode", "paper"],
              ["--mode", "--max-bars", "--warmup", "--grace", "--entry-timeout",
               "--max-orders-per-minute"]),
    "tax": (["tax", "--year", "2024"], ["--year", "--method"]),
    "orders": (["orders"], ["--limit"]),
    "trades": (["trades"], ["--limit"]),
    "sessions": (["sessions"], ["--limit"]),
    "ml evaluate": (["ml", "evaluate", "--data", "{eth}"],
                    ["--horizon", "--barrier", "--dead-zone", "--splits", "--sample-step",
                     "--sequence-length"]),
    "demo": (["demo", "--run-dir", "{tmp}/demo"], ["--paper-bars", "--api-port"]),
}  # fmt: skip


@pytest.fixture
def places(shared_data: Path, tmp_path: Path, cli: CliRunner) -> dict[str, str]:
    eth = shared_data / "candles" / "ETH_BTC-5m.feather"
    cat = tmp_path / "stored"
    assert cli("data", "import", eth, "--data-dir", cat).code == 0
    return {"eth": str(eth), "tmp": str(tmp_path), "cat": str(cat)}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_bad_flag_values_name_the_flag(
    cli: CliRunner, places: dict[str, str], command: str
) -> None:
    rng = random.Random(f"{SEED}-{command}")
    base, flags = COMMANDS[command]
    filled = [a.format(**places) for a in base]
    # Four examples per flag, 8 to 24 per command: the module keeps to its 3 minutes.
    examples = list(_flag_examples(rng, filled, flags, min(24, max(8, 4 * len(flags)))))
    assert len(examples) <= 200
    for example in examples:
        _check(cli, example)


# -- config keys and values -------------------------------------------------------------------

_KEYS = {
    "data": {"dir": "path", "default_exchange": "str", "gap_fill": "enum"},
    "exchange": {"name": "str", "timeout_ms": "int", "rate_limit": "bool", "max_retries": "int"},
    "log": {"level": "level", "json_lines": "bool"},
    "database": {"durability": "enum"},
}
_BAD_VALUE = {"int": '"soon"', "bool": '"maybe"', "enum": '"sideways"', "level": '"LOUD"',
              "path": "[1, 2]", "str": "{ a = 1 }"}  # fmt: skip


def _config_examples(rng: random.Random, n: int) -> Iterator[tuple[str, str]]:
    """(TOML text, dotted key it broke)."""
    for _ in range(n):
        section = rng.choice(list(_KEYS))
        key = rng.choice(list(_KEYS[section]))
        kind = rng.random()
        if kind < 0.4:  # a misspelt key
            typo = key[:-1] + rng.choice("xyz") if len(key) > 2 else key + "x"
            yield f"[{section}]\n{typo} = 1\n", f"{section}.{typo}"
        elif kind < 0.5:  # an unknown section
            yield '[exchnage]\nname = "binance"\n', "exchnage"
        else:  # a value of the wrong type
            yield f"[{section}]\n{key} = {_BAD_VALUE[_KEYS[section][key]]}\n", f"{section}.{key}"


def test_bad_config_keys_and_values_name_the_key(cli: CliRunner, tmp_path: Path) -> None:
    rng = random.Random(f"{SEED}-config")
    examples = list(_config_examples(rng, 60))
    for i, (text, key) in enumerate(examples):
        path = tmp_path / f"bad{i}.toml"
        path.write_text(text)
        command = rng.choice([["config", "show"], ["data", "list", "--data-dir", str(tmp_path)]])
        _check(cli, Example([*command, "--config", str(path)], f"config {text!r}", (key,)))
    broken = tmp_path / "broken.toml"
    broken.write_text("[data\ndir = 1\n")
    _check(cli, Example(["config", "show", "--config", str(broken)], "syntax", ("broken.toml",)))


def test_bad_environment_variables_name_the_variable_key(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(f"{SEED}-env")
    for _ in range(20):
        section = rng.choice(list(_KEYS))
        key = rng.choice(list(_KEYS[section]))
        if _KEYS[section][key] in ("str", "path"):
            continue
        name = f"TRADEWIND__{section.upper()}__{key.upper()}"
        monkeypatch.setenv(name, rng.choice(["soonish", "maybe", "LOUD", "sideways"]))
        _check(cli, Example(["config", "show"], name, (name, f"{section}.{key}")))
        monkeypatch.delenv(name)


# -- broken files -----------------------------------------------------------------------------


def _broken_files(
    rng: random.Random, source: pd.DataFrame, folder: Path, n: int
) -> Iterator[tuple[Path, str]]:
    """(file, how it is broken); names are Freqtrade names so the symbol is read from them."""
    for i in range(n):
        kind = rng.choice(["truncated", "columns", "types", "binary", "header", "dates"])
        suffix = rng.choice([".csv", ".feather", ".parquet"])
        path = folder / f"F{i}_BTC-5m{suffix}"
        frame = source.iloc[: rng.randint(3, 300)].copy()
        if kind == "columns":
            frame = frame.drop(columns=[rng.choice(["open", "high", "low", "close", "volume"])])
        elif kind == "types":
            column = rng.choice(["open", "high", "low", "close", "volume"])
            frame[column] = frame[column].astype(str)
            frame.loc[frame.index[rng.randrange(len(frame))], column] = rng.choice(GARBAGE)
        elif kind == "dates":
            frame["date"] = frame["date"].astype(str)
            frame.loc[frame.index[rng.randrange(len(frame))], "date"] = rng.choice(GARBAGE)
        elif kind == "header":
            frame = frame.iloc[:0]
        if kind == "binary":
            path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randint(0, 400))))
        elif suffix == ".csv":
            frame.to_csv(path, index=False)
        elif suffix == ".feather":
            frame.reset_index(drop=True).to_feather(path)
        else:
            frame.to_parquet(path)
        if kind == "truncated":
            data = path.read_bytes()
            path.write_bytes(data[: rng.randint(0, max(len(data) // 2, 1))])
        yield path, kind


@pytest.mark.parametrize("command", ["backtest", "data import", "data validate"])
def test_broken_files_name_the_file(
    cli: CliRunner, shared_data: Path, tmp_path: Path, command: str
) -> None:
    rng = random.Random(f"{SEED}-files-{command}")
    source = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    folder = tmp_path / "files"
    folder.mkdir()
    for path, kind in _broken_files(rng, source, folder, 40):
        if command == "backtest":
            args = ["backtest", "-s", "sma_cross", "--data", str(path)]
        elif command == "data import":
            args = ["data", "import", str(path), "--data-dir", str(tmp_path / "cat")]
        else:
            args = ["data", "validate", str(path)]
        outcome = cli(*args)
        where = f"{kind} {path.name}: {outcome.err}"
        if command == "data validate" and outcome.code == 3:
            continue  # read fine, and the check found the damage: also a right answer
        if kind == "truncated" and outcome.code == 0:
            # A CSV cut at a row boundary is a shorter valid file, not a broken one.
            assert path.suffix == ".csv", where
            continue
        assert outcome.code == 2, where
        assert "Traceback" not in outcome.err, where
        assert path.name in " ".join(outcome.err.split()), where
