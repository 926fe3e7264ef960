"""Regression tests for what the fuzz over every command found (test_cli_fuzz.py): each of these
printed a traceback (exit 1), ran to the end with the mistake in it, or failed only after the
long part of its work. Each must now exit 2 at once with one ``error:`` line naming the mistake.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CliRunner = Callable[..., Any]


@pytest.fixture
def junk(tmp_path: Path) -> Path:
    """A binary file: not text, not a folder, and nothing can be created under it."""
    path = tmp_path / "junk.bin"
    path.write_bytes(bytes(range(128, 256)))
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Closed loopback port for anything that would connect; an API token; a keystore secret."""
    monkeypatch.setenv("TRADEWIND__EXCHANGE__REST_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("TRADEWIND__EXCHANGE__MAX_RETRIES", "0")
    monkeypatch.setenv("TRADEWIND__API__TOKEN", "fuzz-token-0123456789abcdef")
    monkeypatch.setenv("TRADEWIND_KEYSTORE_PASSPHRASE", "fuzz passphrase")
    return {"db": f"sqlite:///{tmp_path / 'tw.db'}"}


def _refused(cli: CliRunner, *args: Any, says: str) -> None:
    outcome = cli(*args)
    assert outcome.code == 2, outcome.err
    assert "Traceback" not in outcome.err, outcome.err
    assert [line for line in outcome.err.splitlines() if line.startswith("error:")] == [
        next(line for line in outcome.err.splitlines() if line.startswith("error:"))
    ]
    assert says in " ".join(outcome.err.split()), outcome.err


def test_a_date_that_is_not_iso_8601_is_refused(cli: CliRunner, shared_data: Path) -> None:
    # pandas read "1.2.3" as 2003-01-02: the backtest ran from a date nobody asked for.
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    _refused(cli, "backtest", "-s", "sma_cross", "--data", data, "--from", "1.2.3",
             says="--from: invalid date '1.2.3'")  # fmt: skip
    _refused(cli, "optimize", "-s", "sma_cross", "--data", data, "--to", "12ab",
             says="--to: invalid date '12ab'")  # fmt: skip


def test_a_fault_plan_that_is_a_folder_or_binary_is_refused(
    cli: CliRunner, tmp_path: Path, junk: Path
) -> None:
    _refused(cli, "exchange-sim", "--faults", tmp_path, says="--faults")
    _refused(cli, "exchange-sim", "--faults", junk, says=f"--faults {junk}: not a text file")


def test_a_binary_risk_config_is_refused(cli: CliRunner, shared_data: Path, junk: Path) -> None:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    _refused(cli, "backtest", "-s", "sma_cross", "--data", data, "--risk-config", junk,
             says="--risk-config")  # fmt: skip


def test_db_backup_refuses_a_bad_url_and_an_unwritable_target(
    cli: CliRunner, env: dict[str, str], tmp_path: Path, junk: Path
) -> None:
    assert cli("db", "upgrade", "--db-url", env["db"]).code == 0
    _refused(cli, "db", "backup", "--to", tmp_path / "b.bak", "--db-url", "-",
             says="cannot use the database URL")  # fmt: skip
    _refused(cli, "db", "backup", "--to", junk / "sub" / "b.bak", "--db-url", env["db"],
             says="--to")  # fmt: skip


def test_ctl_names_a_bad_url_and_takes_any_symbol(cli: CliRunner, env: dict[str, str]) -> None:
    _refused(cli, "ctl", "status", "--url", "abc", says="--url 'abc'")
    # A symbol with a newline made an invalid URL inside httpx: a traceback.
    outcome = cli("ctl", "stop-entries", "x\ny", "-r", "why", "--url", "http://127.0.0.1:9")
    assert outcome.code == 2, outcome.err
    assert "no answer from the bot at http://127.0.0.1:9" in outcome.err


def test_an_exchange_name_too_long_for_a_folder_is_refused(
    cli: CliRunner, shared_data: Path, tmp_path: Path
) -> None:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    _refused(cli, "data", "import", data, "--data-dir", tmp_path / "cat", "--exchange", "a" * 300,
             says="invalid exchange name")  # fmt: skip


def test_a_keystore_that_cannot_be_created_is_refused(
    cli: CliRunner, env: dict[str, str], junk: Path
) -> None:
    read, write = os.pipe()
    os.write(write, b"value\n")
    os.close(write)
    _refused(cli, "keys", "add", "k", "--value-fd", read, "--keystore", junk / "sub" / "ks.json",
             says="--keystore")  # fmt: skip
    _refused(cli, "2fa", "enroll", "alice", "--keystore", junk / "sub" / "ks.json",
             says="--keystore")  # fmt: skip


def test_a_data_dir_that_is_a_file_or_missing_is_refused(
    cli: CliRunner, tmp_path: Path, junk: Path
) -> None:
    # Both were read as an empty catalog, and lookahead then used the bundled month instead.
    _refused(cli, "lookahead", "-s", "sma_cross", "--data-dir", junk, says="--data-dir")
    _refused(cli, "data", "list", "--data-dir", tmp_path / "nothing", says="no such folder")


def test_outputs_are_checked_before_the_long_part(
    cli: CliRunner, env: dict[str, str], shared_data: Path, junk: Path
) -> None:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    _refused(cli, "ml", "evaluate", "--data", data, "--report", junk / "sub" / "r.html",
             says="--report")  # fmt: skip
    _refused(cli, "data", "download", "--symbol", "ETH/BTC", "-t", "5m", "--since", "2018-01-10",
             "--data-dir", junk / "sub", says="--data-dir")  # fmt: skip
    # A paper session checked its cash only after connecting to the exchange.
    _refused(cli, "trade", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m", "--mode",
             "paper", "--cash", "1.2.3", says="cash")  # fmt: skip


def test_ml_train_refuses_a_registry_without_register(
    cli: CliRunner, shared_data: Path, tmp_path: Path
) -> None:
    data = shared_data / "candles" / "ETH_BTC-5m.feather"
    _refused(cli, "ml", "train", "--data", data, "--out", tmp_path / "m", "--db-url", "x",
             says="--register")  # fmt: skip


def test_a_paper_session_refuses_a_named_keystore_that_is_missing(
    cli: CliRunner, env: dict[str, str], tmp_path: Path
) -> None:
    # It was passed over (a paper session needs none) and the session connected without it.
    _refused(cli, "trade", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m", "--mode",
             "paper", "--keystore", tmp_path / "missing.json", says="no keystore at")  # fmt: skip
