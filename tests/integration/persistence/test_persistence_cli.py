"""``tradewind db upgrade|backup|restore`` end to end, and the operator queries on a bot."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from tradewind.cli.context import STATE
from tradewind.cli.main import run
from tradewind.core.orders import Fill, Liquidity, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.core.repository import OrderTransition, PositionState, TransitionSource
from tradewind.ops.keystore import Keystore
from tradewind.ops.secrets import Secret
from tradewind.persistence.bots import open_bot
from tradewind.persistence.engine import make_engine, upgrade

T0 = 1_767_225_600_000


@pytest.fixture
def bots_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bots"
    monkeypatch.setenv("TRADEWIND__DATABASE__BOTS_DIR", str(folder))
    return folder


def _trade(bot_url: str | None, bots_dir: Path) -> None:
    bot = open_bot("alpha", bots_dir=bots_dir, url=bot_url)
    with bot.repository() as repo:
        order = Order("tw-a-1", "ETH/BTC", Side.BUY, OrderType.LIMIT, Decimal("2.5"),
                      price=Decimal("0.05123"), strategy_id="ema", created_ts=T0)  # fmt: skip
        repo.record_order(order, T0, TransitionSource.ENGINE)
        fill = Fill("tw-a-1", "ETH/BTC", Side.BUY, T0 + 60_000, Decimal("0.05123"),
                    Decimal("2.5"), Decimal("0.0025"), "ETH", Liquidity.MAKER, "991")  # fmt: skip
        repo.record_fill(fill, "ema", OrderTransition(
            "tw-a-1", OrderStatus.FILLED, T0 + 60_000, TransitionSource.VENUE,
            filled_quantity=Decimal("2.5"), average_price=Decimal("0.05123")))  # fmt: skip
        repo.save_positions([PositionState("ema", "ETH/BTC", Decimal("2.4975"),
                                           Decimal("0.05123"), T0 + 60_000)], T0 + 60_000)  # fmt: skip
        repo.save_balances({"BTC": Decimal("0.871925"), "ETH": Decimal("2.4975")}, T0 + 60_000)
    bot.engine.dispose()


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    capsys.readouterr()
    assert run([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_queries_read_a_bots_state(
    bots_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _trade(None, bots_dir)
    (order,) = _json(capsys, "orders", "--bot", "alpha")  # type: ignore[misc]
    assert order["client_id"] == "tw-a-1" and order["status"] == "filled"  # noqa: PT018
    assert order["price"] == "0.05123"
    assert order["time"].startswith("2026-01-01T00:00:00")
    (fill,) = _json(capsys, "trades", "--bot", "alpha")  # type: ignore[misc]
    assert fill["trade_id"] == "991" and fill["fee"] == "0.0025"  # noqa: PT018
    (report,) = _json(capsys, "trades", "--bot", "alpha", "--profit")  # type: ignore[misc]
    assert report["bought"] == "0.128075" and report["sold"] == "0"  # noqa: PT018
    state = _json(capsys, "positions", "--bot", "alpha")
    assert state["positions"][0]["quantity"] == "2.4975"  # type: ignore[index]
    assert {b["asset"]: b["total"] for b in state["balances"]} == {  # type: ignore[index]
        "BTC": "0.871925", "ETH": "2.4975"}  # fmt: skip
    monkeypatch.setattr(STATE, "console", Console(width=160))
    assert run(["orders", "--bot", "alpha"]) == 0
    table = capsys.readouterr().out
    assert "tw-a-1" in table and "0.05123" in table  # noqa: PT018
    assert run(["orders", "--bot", "nobody"]) == 2
    assert "no bot 'nobody'" in capsys.readouterr().err
    bot = open_bot("alpha", bots_dir=bots_dir)
    session = bot.start_session(mode="paper", strategies=["ema"], parameters={"fast": 8},
                                config_hash="c0ffee", code_version="test")  # fmt: skip
    bot.end_session(session, "stopped by the operator")
    bot.engine.dispose()
    (shown,) = _json(capsys, "sessions", "--bot", "alpha")  # type: ignore[misc]
    assert shown["mode"] == "paper"
    assert shown["strategies"] == "ema"
    assert shown["end_reason"] == "stopped by the operator"
    assert run(["sessions", "--bot", "alpha"]) == 0
    assert "stopped by the operator" in capsys.readouterr().out


def _balances(capsys: pytest.CaptureFixture[str], *target: str) -> dict[str, str]:
    state = _json(capsys, "positions", *target)
    return {b["asset"]: b["total"] for b in state["balances"]}  # type: ignore[index]


def test_sqlite_backup_and_restore(bots_dir: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    _trade(None, bots_dir)
    backup = tmp_path / "alpha.backup.sqlite"
    assert run(["db", "backup", "--bot", "alpha", "--to", str(backup)]) == 0
    assert run(["db", "backup", "--bot", "alpha", "--to", str(backup)]) == 2  # never overwrites
    before = _balances(capsys, "--bot", "alpha")
    bot = open_bot("alpha", bots_dir=bots_dir)
    with bot.repository() as repo:
        repo.save_balances({"BTC": Decimal(0), "XRP": Decimal(7)}, T0 + 120_000)
    bot.engine.dispose()
    assert _balances(capsys, "--bot", "alpha") != before
    assert run(["db", "restore", "--bot", "alpha", "--from", str(backup)]) == 0
    assert _balances(capsys, "--bot", "alpha") == before
    not_ours = tmp_path / "other.sqlite"
    not_ours.write_bytes(b"plain text, not a database")
    assert run(["db", "restore", "--bot", "alpha", "--from", str(not_ours)]) == 2


def _client_tools_fit(url: str) -> str | None:
    """Why pg_dump cannot dump this server (missing, or older than the server), or None."""
    import psycopg

    tool = shutil.which("pg_dump")
    if tool is None:
        return "pg_dump is not installed (postgresql-client)"
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True)
    client = int(version.stdout.split()[-1].split(".")[0])
    with psycopg.connect(url.replace("+psycopg", "")) as connection:
        server = connection.info.server_version // 10000
    return (
        None if client >= server else f"pg_dump {client} cannot dump a PostgreSQL {server} server"
    )


def test_postgres_backup_and_restore(postgres_url: str, bots_dir: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    reason = _client_tools_fit(postgres_url)
    if reason is not None:
        pytest.skip(reason)
    assert run(["db", "upgrade", "--db-url", postgres_url]) == 0
    _trade(postgres_url, bots_dir)
    backup = tmp_path / "alpha.dump"
    assert run(["db", "backup", "--db-url", postgres_url, "--to", str(backup)]) == 0
    before = _balances(capsys, "--bot", "alpha", "--db-url", postgres_url)
    bot = open_bot("alpha", bots_dir=bots_dir, url=postgres_url)
    with bot.repository() as repo:
        repo.save_balances({"BTC": Decimal(0)}, T0 + 120_000)
    bot.engine.dispose()
    assert _balances(capsys, "--bot", "alpha", "--db-url", postgres_url) != before
    assert run(["db", "restore", "--db-url", postgres_url, "--from", str(backup)]) == 0
    assert _balances(capsys, "--bot", "alpha", "--db-url", postgres_url) == before
    engine = make_engine(postgres_url)
    upgrade(engine)  # the restored database is at the latest revision: a no-op
    engine.dispose()


def test_database_and_backups_are_private(bots_dir: Path, tmp_path: Path) -> None:
    _trade(None, bots_dir)
    bot = open_bot("alpha", bots_dir=bots_dir)
    with bot.engine.connect() as connection:  # WAL mode: the -wal and -shm files exist meanwhile
        connection.exec_driver_sql("SELECT count(*) FROM orders").scalar()
        files = sorted((bots_dir / "alpha").iterdir())
        assert {f.name.rsplit(".", 1)[-1] for f in files} >= {"sqlite", "sqlite-wal", "sqlite-shm"}
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    bot.engine.dispose()
    backup = tmp_path / "plain.backup"
    assert run(["db", "backup", "--bot", "alpha", "--to", str(backup)]) == 0
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_encrypted_backup_and_restore(bots_dir: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _trade(None, bots_dir)
    monkeypatch.setenv("TRADEWIND_BACKUP_PASSPHRASE", "backup passphrase")
    backup = tmp_path / "alpha.backup.sealed"
    assert run(["db", "backup", "--bot", "alpha", "--to", str(backup), "--encrypt"]) == 0
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    data = backup.read_bytes()
    assert data.startswith(b"tradewind-sealed 1\n")
    assert b"SQLite format" not in data
    assert b"0.871925" not in data
    before = _balances(capsys, "--bot", "alpha")
    bot = open_bot("alpha", bots_dir=bots_dir)
    with bot.repository() as repo:
        repo.save_balances({"BTC": Decimal(0), "XRP": Decimal(7)}, T0 + 120_000)
    bot.engine.dispose()
    monkeypatch.setenv("TRADEWIND_BACKUP_PASSPHRASE", "the wrong passphrase")
    capsys.readouterr()
    assert run(["db", "restore", "--bot", "alpha", "--from", str(backup)]) == 2
    assert "wrong passphrase, or the file was modified" in capsys.readouterr().err
    assert _balances(capsys, "--bot", "alpha") != before  # nothing was restored
    monkeypatch.setenv("TRADEWIND_BACKUP_PASSPHRASE", "backup passphrase")
    assert run(["db", "restore", "--bot", "alpha", "--from", str(backup)]) == 0
    assert _balances(capsys, "--bot", "alpha") == before


def test_encrypted_backup_keyed_from_the_keystore(bots_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _trade(None, bots_dir)
    keystore = tmp_path / "keys.twk"
    monkeypatch.setenv("TRADEWIND_KEYSTORE", str(keystore))
    monkeypatch.setenv("TRADEWIND_KEYSTORE_PASSPHRASE", "keystore passphrase")
    monkeypatch.delenv("TRADEWIND_BACKUP_PASSPHRASE", raising=False)
    Keystore.create(keystore, Secret("keystore passphrase"))
    backup = tmp_path / "alpha.sealed"
    args = ["--bot", "alpha", "--key-from-keystore"]
    assert run(["db", "backup", "--to", str(backup), "--encrypt", *args]) == 0
    assert "backup.passphrase" in Keystore.open(keystore, Secret("keystore passphrase"))
    assert run(["db", "restore", "--from", str(backup), *args]) == 0
    flipped = bytearray(backup.read_bytes())
    flipped[-20] ^= 0x01
    backup.write_bytes(bytes(flipped))
    assert run(["db", "restore", "--from", str(backup), *args]) == 2
