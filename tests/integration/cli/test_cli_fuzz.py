"""A seeded fuzz of the CLI through its entry function: bad flag values, config keys and values,
and broken files (truncated, wrong columns, wrong types, binary).

Every example knows what it broke (a flag, a config key, a file) and checks the CLI's answer:
exit 2, one ``error:`` line that names the broken thing, no traceback. Examples per command stay
at most 200 (found here: ``data download --since 1,5`` overflowed, ``data resample --to`` was not
named) and the whole module well under 3 minutes: each example fails before any backtest runs.
A fixed seed makes every failure reproducible (the example is in the assertion message).
"""

from __future__ import annotations

import enum
import os
import random
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer

from tradewind.cli.main import app

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
    assert not _problem(cli, example), _problem(cli, example)


def _problem(cli: CliRunner, example: Example, *, named: bool = True) -> str | None:
    """What is wrong with the CLI's answer to a bad input (None: exit 2, no traceback, and,
    when ``named``, a message naming what was broken)."""
    outcome = cli(*example.args)
    where = (
        f"{example.broke}: tradewind {' '.join(example.args)!r} -> {outcome.code}\n{outcome.err}"
    )
    text = " ".join(outcome.err.split())
    if outcome.code != 2 or "Traceback" in outcome.err:
        return where
    if named and not any(name in text for name in example.names):
        return where
    return None


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


# -- every command ----------------------------------------------------------------------------
#
# Every command the app declares gets bad inputs generated from its own parameters: an unknown
# option, a value of the wrong type, an option without its value, a required parameter left out,
# an input path that is missing, a folder or binary junk, an output path that cannot be written,
# a checked word that is garbage, and (where the command stops quickly whatever the text) odd
# free text. A user mistake must exit 2 naming what was broken; nothing may print a traceback.
# TRADEWIND_FUZZ_EXAMPLES sets the examples per command (CI: 12; `make soak`: 200).

EXAMPLES = min(200, int(os.environ.get("TRADEWIND_FUZZ_EXAMPLES", "12")))
ODD_TEXT = ["", " ", "é" * 3, "../../x", "a" * 300, "-", "%s{0}[red]x[/red]", "x\ny", "NaN"]

# A valid invocation per command: the broken thing is the only mistake in an example. ``light``
# commands end within a second whatever their free text says, so free text is fuzzed there.
BASES: dict[str, tuple[list[str], bool]] = {
    "demo": (["demo", "--run-dir", "{tmp}/demo"], False),
    "backtest": (["backtest", "-s", "sma_cross", "--data", "{eth}"], False),
    "exchange-sim": (["exchange-sim"], False),
    "trade": (["trade", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m", "--mode", "paper"],
              False),
    "drift": (["drift", "{tmp}/norun", "--offline"], True),
    "live-resume": (["live-resume", "--bot", "b", "--operator", "op", "--code", "123456",
                     "--reason", "r", "--keystore", "{ks}"], True),
    "optimize": (["optimize", "-s", "sma_cross", "--data", "{eth}", "--storage", "memory",
                  "--run-dir", "{tmp}/opt"], False),
    "walkforward": (["walkforward", "-s", "sma_cross", "--data", "{eth}", "--train", "5d",
                     "--test", "2d"], False),
    "montecarlo": (["montecarlo", "-s", "sma_cross", "--data", "{eth}"], False),
    "lookahead": (["lookahead", "-s", "sma_cross", "--data", "{eth}"], False),
    "recursive": (["recursive", "-s", "sma_cross", "--data", "{eth}"], False),
    "orders": (["orders", "--db-url", "{db}"], True),
    "trades": (["trades", "--db-url", "{db}"], True),
    "positions": (["positions", "--db-url", "{db}"], True),
    "sessions": (["sessions", "--db-url", "{db}"], True),
    "tax": (["tax", "--year", "2024", "--bot", "b", "--db-url", "{db}"], True),
    "data download": (["data", "download", "--symbol", "ETH/BTC", "-t", "5m", "--since",
                       "2018-01-10", "--rest-url", "http://127.0.0.1:9", "--data-dir",
                       "{tmp}/dl"], False),
    "data import": (["data", "import", "{eth}", "--data-dir", "{tmp}/cat2"], True),
    "data list": (["data", "list", "--data-dir", "{cat}"], True),
    "data show": (["data", "show", "--symbol", "ETH/BTC", "-t", "5m", "--data-dir", "{cat}"],
                  True),
    "data validate": (["data", "validate", "{eth}"], True),
    "data resample": (["data", "resample", "--to", "1h", "--symbol", "ETH/BTC", "-t", "5m",
                       "--data-dir", "{cat}"], True),
    "config show": (["config", "show"], True),
    "strategies list": (["strategies", "list"], True),
    "strategies new": (["strategies", "new", "my_strat", "--output", "{tmp}/new.py"], True),
    "db upgrade": (["db", "upgrade", "--db-url", "{db}"], True),
    "db backup": (["db", "backup", "--to", "{tmp}/b.bak", "--db-url", "{db}"], True),
    "db restore": (["db", "restore", "--from", "{bak}", "--db-url", "{db}"], True),
    "keys add": (["keys", "add", "k2", "--keystore", "{ks}", "--value-fd", "{fd}"], True),
    "keys list": (["keys", "list", "--keystore", "{ks}"], True),
    "keys remove": (["keys", "remove", "nokey", "--keystore", "{ks}"], True),
    "keys rotate": (["keys", "rotate", "nokey", "--keystore", "{ks}", "--value-fd", "{fd}"],
                    True),
    "audit verify": (["audit", "verify", "--db-url", "{db}", "--keystore", "{ks}"], True),
    "2fa enroll": (["2fa", "enroll", "alice", "--keystore", "{tmp}/none.json"], True),
    "api-token add": (["api-token", "add", "--name", "x", "--db-url", "{db}"], True),
    "api-token revoke": (["api-token", "revoke", "--name", "x", "--db-url", "{db}"], True),
    "ctl status": (["ctl", "status", "--url", "{url}"], True),
    "ctl parents": (["ctl", "parents", "--url", "{url}"], True),
    "ctl costs": (["ctl", "costs", "--url", "{url}"], True),
    "ctl pause": (["ctl", "pause", "-r", "x", "--url", "{url}"], True),
    "ctl resume": (["ctl", "resume", "-r", "x", "--url", "{url}"], True),
    "ctl stop-entries": (["ctl", "stop-entries", "BTC/USDT", "-r", "x", "--url", "{url}"], True),
    "ctl allow-entries": (["ctl", "allow-entries", "BTC/USDT", "-r", "x", "--url", "{url}"],
                          True),
    "ctl force-exit": (["ctl", "force-exit", "-r", "x", "--all", "--url", "{url}"], True),
    "ctl emergency-stop": (["ctl", "emergency-stop", "-r", "x", "--yes", "--url", "{url}"],
                           True),
    "runs compare": (["runs", "compare", "--db-url", "{db}"], True),
    "ml evaluate": (["ml", "evaluate", "--data", "{eth}"], False),
    "ml train": (["ml", "train", "--data", "{eth}", "--out", "{tmp}/model"], False),
    "ml report": (["ml", "report", "--out", "{tmp}/ml.html"], False),
    "ml list": (["ml", "list", "--db-url", "{db}"], True),
    "ml promote": (["ml", "promote", "m", "1", "--db-url", "{db}"], True),
    "ml rollback": (["ml", "rollback", "m", "--db-url", "{db}"], True),
    "ml pin": (["ml", "pin", "m", "--version", "1", "--db-url", "{db}"], True),
    "ml retrain": (["ml", "retrain", "m", "--db-url", "{db}", "--data", "{eth}"], False),
}  # fmt: skip

# Commands whose base is itself refused (a paper session's run folder is costly to make): their
# examples must still exit 2 without a traceback, whatever the message names.
BASE_REFUSED = {"drift", "tax", "audit verify", "ml retrain"}

# Paths read (a file, or a folder) and paths written; any other Path parameter fails the test
# below until it is placed here.
IN_FILES = {"--data", "--risk-config", "--faults", "--venue-faults", "--keystore", "--from",
            "PATH"}  # fmt: skip
IN_DIRS = {"RUN_DIR", "--catalog"}
OUT_PATHS = {"--json", "--report", "--run-dir", "--out", "--export", "--to", "--output",
             "--models-dir", "--data-dir"}  # fmt: skip
# --data-dir is read, not written, except where candles are stored.
READ_DIRS = {("--data-dir", words) for words in BASES} - {
    ("--data-dir", "data download"), ("--data-dir", "data import"), ("--data-dir", "data resample")
}  # fmt: skip
# A keystore named to these is created when missing.
CREATES = {("--keystore", "keys add"), ("--keystore", "2fa enroll")}
# Words that are checked wherever they appear: garbage in them must be refused by name.
CHECKED_WORDS = _WORDS - {"--exchange", "--symbol", "--date-format"} | {
    "--db-url", "--url", "--since", "--until", "--speed", "--venues", "--by", "--scope",
    "--target", "--labels", "--models", "--model", "--market-type", "--fee-side",
    "--volume-unit", "--execution", "--stake",
}  # fmt: skip


def _leaf_commands() -> dict[str, Any]:
    """Every command the ``tradewind`` app runs, by its words (``data import``)."""
    found: dict[str, Any] = {}

    def walk(command: Any, words: list[str]) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*words, name])
        else:
            found[" ".join(words)] = command

    walk(typer.main.get_command(app), [])
    return found


def _param(command: Any, flag: str) -> Any:
    """The parameter of ``command`` whose flag is ``flag`` (a stand-in that matches nothing
    when it has none)."""
    found = [p for p in command.params if flag in p.opts]
    return found[0] if found else typing.cast(Any, type("Absent", (), {"opts": [],
                                              "param_type_name": "option"}))  # fmt: skip


def _kind(param: Any) -> str:
    """int, float, bool, enum, path, str or list[...] of one, from the parameter's annotation."""
    annotation = param.type_descriptor.annotation
    inner = typing.get_args(annotation)
    if typing.get_origin(annotation) is list and inner:
        annotation = inner[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "enum"
    if annotation in (int, float, bool):
        return annotation.__name__
    return "path" if annotation is Path else "str"


def _display(param: Any) -> str:
    """How the parameter is named on the command line: its long flag, or NAME of an argument."""
    if param.param_type_name == "argument":
        return str(param.name).upper()
    return next((o for o in param.opts if o.startswith("--")), param.opts[0])


def _drop(base: list[str], words: str, command: Any, param: Any) -> list[str]:
    """``base`` without ``param`` (and its value). The bases give arguments right after the
    command's words, in order, so the k-th argument is at ``len(words) + k``."""
    if param.param_type_name == "argument":
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        at = len(words.split()) + arguments.index(param)
        return base[:at] + base[at + 1 :]
    out: list[str] = []
    skip = False
    for arg in base:
        if skip:
            skip = False
            continue
        if arg in param.opts:
            skip = not getattr(param, "is_flag", False)
            continue
        out.append(arg)
    return out


def _examples_for(
    rng: random.Random, words: str, command: Any, places: dict[str, str]
) -> list[Example]:
    template, light = BASES[words]
    base = [a.format(**places) for a in template]
    pool: list[Callable[[], Example]] = []

    def add(make: Callable[[], Example]) -> None:
        pool.append(make)

    add(lambda: Example([*base, "--frobnicate", "1"], "unknown option", ("--frobnicate",)))
    extra = {"--db-url": ("database URL",), "--models": ("model(s)",), "--labels": ("label",)}
    for param in command.params:
        name, kind = _display(param), _kind(param)
        names = _names(name) if name.startswith("--") else (name, name.lower())
        names = (*names, *extra.get(name, ()))
        given = _drop(base, words, command, param)
        if name == "--data-dir":  # read from the catalog, not from --data or PATH
            given = _drop(given, words, command, _param(command, "--data"))
            if words == "data validate":
                given = _drop(given, words, command, _param(command, "path"))
        is_option = param.param_type_name == "option"
        if is_option and not getattr(param, "is_flag", False):
            add(lambda g=given, n=name, ns=names: Example([*g, n], "no value", ns))
        if param.required:
            add(lambda g=given, ns=names, n=name: Example(g, f"missing {n}", ns))
        if kind in ("int", "float", "enum") and is_option:
            add(lambda g=given, n=name, ns=names: Example(
                [*g, n, rng.choice(GARBAGE)], f"bad {n}", ns))  # fmt: skip
        if kind == "path":
            assert name in IN_FILES | IN_DIRS | OUT_PATHS, f"{words}: place {name} in the fuzz"
            add(lambda g=given, n=name, ns=names, p=param: _path_example(
                rng, g, n, ns, p, places,
                writes=(n in OUT_PATHS and (n, words) not in READ_DIRS) or (n, words) in CREATES))  # fmt: skip
        if kind == "str" and is_option and name in CHECKED_WORDS:
            add(lambda g=given, n=name, ns=names: Example(
                [*g, n, _bad_value(rng, n)], f"bad {n}", ns))  # fmt: skip
        if kind == "str" and light:
            add(lambda g=given, n=name, a=is_option: Example(
                [*g, *([n] if a else []), rng.choice(ODD_TEXT)], f"odd {n}", ()))  # fmt: skip
    # Each generator once (in a seeded order), then again at random up to the budget.
    order = rng.sample(pool, len(pool))
    chosen = order[:EXAMPLES] + [rng.choice(pool) for _ in range(EXAMPLES - len(order))]
    return [make() for make in chosen]


def _path_example(
    rng: random.Random, given: list[str], name: str, names: tuple[str, ...], param: Any,
    places: dict[str, str], *, writes: bool,
) -> Example:  # fmt: skip
    tmp = Path(places["tmp"])
    junk = tmp / "junk.bin"
    junk.write_bytes(bytes(rng.randrange(256) for _ in range(64)))
    flag = [name] if param.param_type_name == "option" else []
    if writes:
        target = junk / "sub" / "out"  # under a file: cannot be created
    elif name in IN_DIRS | OUT_PATHS:
        target = rng.choice([junk, tmp / "missing-folder" / "x"])
    else:
        # data import reads a folder of files too: a folder is no mistake there.
        target = rng.choice([tmp / "missing.csv", junk] + ([] if name == "PATH" else [tmp]))
    return Example([*given, *flag, str(target)], f"{name} {target.name}",
                   (*names, target.name, str(target)))  # fmt: skip


def _crash(cli: CliRunner, example: Example) -> str | None:
    """An odd value of free text: any answer but a crash (None), else what happened."""
    outcome = cli(*example.args)
    if outcome.code != 1 and "Traceback" not in outcome.err:
        return None
    return f"{example.broke}: tradewind {' '.join(example.args)!r} -> {outcome.code}\n{outcome.err}"


@pytest.fixture
def everything(
    places: dict[str, str], tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The places of :func:`places`, a database, a keystore with one key, an API token and a
    closed loopback port for the control commands (a value let through fails on the connection).
    """
    monkeypatch.setenv("TRADEWIND_KEYSTORE_PASSPHRASE", "fuzz passphrase")
    monkeypatch.setenv("TRADEWIND__API__TOKEN", "fuzz-token-0123456789abcdef")
    # A download let through fails on the closed port at once, without retrying.
    monkeypatch.setenv("TRADEWIND__EXCHANGE__MAX_RETRIES", "0")
    # A session let through connects to the closed port, never to a real exchange.
    monkeypatch.setenv("TRADEWIND__EXCHANGE__REST_URL", "http://127.0.0.1:9")
    db = f"sqlite:///{tmp_path / 'tw.db'}"
    assert cli("db", "upgrade", "--db-url", db).code == 0
    backup = tmp_path / "made.bak"
    assert cli("db", "backup", "--to", backup, "--db-url", db).code == 0
    read, write = os.pipe()
    os.write(write, b"key-value\n" * 4096)
    os.close(write)
    keystore = tmp_path / "ks.json"
    added = cli("keys", "add", "k1", "--keystore", keystore, "--value-fd", read)
    assert added.code == 0, added.err
    # Values for --value-fd: a pipe that stays readable for every example.
    read2, write2 = os.pipe()
    os.write(write2, b"key-value\n" * 4096)
    os.close(write2)
    return {**places, "db": db, "bak": str(backup), "ks": str(keystore), "fd": str(read2),
            "url": "http://127.0.0.1:9"}  # fmt: skip


def test_every_command_is_fuzzed() -> None:
    assert set(_leaf_commands()) == set(BASES), "every command needs a base in BASES"


@pytest.mark.parametrize("words", list(BASES))
def test_bad_inputs_to_every_command(
    cli: CliRunner, everything: dict[str, str], words: str
) -> None:
    command = _leaf_commands()[words]
    rng = random.Random(f"{SEED}-all-{words}")
    examples = _examples_for(rng, words, command, everything)
    assert len(examples) <= 200
    problems = []
    for example in examples:
        if example.broke.startswith("odd "):
            problems.append(_crash(cli, example))
        else:
            problems.append(_problem(cli, example, named=words not in BASE_REFUSED))
    found = [p for p in problems if p is not None]
    assert not found, "\n".join(found)
