"""``tradewind keys`` and ``tradewind audit verify`` end to end, in process."""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path

import pytest
from sqlalchemy import update
from tests.integration.cli.conftest import CliRunner

from tradewind.ops.keystore import Keystore
from tradewind.ops.secrets import Secret
from tradewind.persistence.audit import record_operator_action
from tradewind.persistence.bots import open_bot
from tradewind.persistence.models import OperatorActionRow

PASSPHRASE = "a passphrase for the tests"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("TRADEWIND_KEYSTORE_PASSPHRASE", PASSPHRASE)
    return monkeypatch


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_add_list_rotate_remove(cli: CliRunner, env: pytest.MonkeyPatch) -> None:
    _stdin(env, "canary-key-value-0123\n")
    added = cli("keys", "add", "binance.api_key", "--kind", "exchange")
    assert added.code == 0, added.err
    path = Path("user_data/keystore.twk")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    listed = cli("keys", "list")
    assert "binance.api_key  exchange" in listed.out
    assert "canary" not in listed.out + listed.err
    _stdin(env, "canary-key-value-4567\n")
    assert cli("keys", "rotate", "binance.api_key").code == 0
    store = Keystore.open(path, Secret(PASSPHRASE))
    assert store.get("binance.api_key").reveal() == "canary-key-value-4567"
    again = cli("keys", "add", "binance.api_key")
    assert again.code == 2
    assert "rotate it instead" in again.err
    assert cli("keys", "remove", "binance.api_key").code == 0
    assert "the keystore is empty" in cli("keys", "list").out


def test_a_wrong_passphrase_exits_2_with_a_clear_message(
    cli: CliRunner, env: pytest.MonkeyPatch
) -> None:
    _stdin(env, "canary-key-value-0123\n")
    assert cli("keys", "add", "telegram", "--kind", "telegram").code == 0
    env.setenv("TRADEWIND_KEYSTORE_PASSPHRASE", "not the passphrase")
    outcome = cli("keys", "list")
    assert outcome.code == 2
    assert "wrong passphrase, or the file was modified" in outcome.err
    assert "telegram" not in outcome.out


def test_the_passphrase_from_a_descriptor_and_a_new_one(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRADEWIND_KEYSTORE_PASSPHRASE", raising=False)

    def pipe(text: str) -> str:
        read, write = os.pipe()
        os.write(write, text.encode() + b"\n")
        os.close(write)
        return str(read)

    _stdin(monkeypatch, "value-0123456789\n")
    assert (
        cli("keys", "add", "api", "--kind", "api_token", "--passphrase-fd", pipe("one")).code == 0
    )
    changed = cli("keys", "rotate", "--passphrase-fd", pipe("one"),
                  "--new-passphrase-fd", pipe("two"))  # fmt: skip
    assert changed.code == 0, changed.err
    assert cli("keys", "list", "--passphrase-fd", pipe("one")).code == 2
    assert "api  api_token" in cli("keys", "list", "--passphrase-fd", pipe("two")).out


def test_audit_verify_passes_then_names_the_edited_row(
    cli: CliRunner, env: pytest.MonkeyPatch
) -> None:
    path = Path("user_data/keystore.twk")
    store = Keystore.create(path, Secret(PASSPHRASE))
    key = store.ensure_random("audit.hmac", "audit").reveal().encode()
    bot = open_bot("alpha", bots_dir="user_data/bots")
    for action in ("pause", "resume"):
        record_operator_action(bot.engine, key, actor="ops", channel="cli", action=action)
    ok = cli("audit", "verify", "--bot", "alpha")
    assert ok.code == 0
    assert "2 rows, head intact" in ok.out
    table = OperatorActionRow.__table__
    with bot.engine.begin() as connection:
        connection.execute(update(table).where(table.c.id == 1).values(actor="mallory"))
    bot.engine.dispose()
    broken = cli("audit", "verify", "--bot", "alpha")
    assert broken.code == 3
    assert "row 1 was edited" in broken.err


def test_audit_verify_of_a_bot_run_without_a_keystore(cli: CliRunner) -> None:
    from tradewind.config import AppConfig
    from tradewind.persistence.config import DatabaseConfig
    from tradewind.session.operate import SessionOps

    # The key a session without a keystore keeps in the bot's folder.
    key = SessionOps(
        AppConfig(database=DatabaseConfig(bots_dir="user_data/bots")), "beta"
    ).audit_key
    assert stat.S_IMODE(Path("user_data/bots/beta/audit.key").stat().st_mode) == 0o600
    bot = open_bot("beta", bots_dir="user_data/bots")
    for action in ("pause", "resume"):
        record_operator_action(bot.engine, key, actor="ops", channel="cli", action=action)
    ok = cli("audit", "verify", "--bot", "beta")
    assert ok.code == 0, ok.err
    assert "2 rows, head intact" in ok.out
    table = OperatorActionRow.__table__
    with bot.engine.begin() as connection:
        connection.execute(update(table).where(table.c.id == 2).values(action="pause"))
    bot.engine.dispose()
    broken = cli("audit", "verify", "--bot", "beta")
    assert broken.code == 3
    assert "row 2 was edited" in broken.err
