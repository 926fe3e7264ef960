"""``tradewind 2fa enroll``, and the second factor the command line asks for once anyone is
enrolled: adding a key and switching to live trading, each code accepted once."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pyotp
import pytest
from tests.integration.cli.conftest import CliRunner

from tradewind.ops.keystore import Keystore
from tradewind.ops.secrets import Secret

PASSPHRASE = "a passphrase for the tests"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("TRADEWIND_KEYSTORE_PASSPHRASE", PASSPHRASE)
    return monkeypatch


def _enroll(cli: CliRunner, operator: str) -> pyotp.TOTP:
    enrolled = cli("2fa", "enroll", operator)
    assert enrolled.code == 0, enrolled.err
    [uri] = re.findall(r"otpauth://\S+", enrolled.out)
    assert len(re.findall(r"^  [0-9a-f]{10}$", enrolled.out, re.MULTILINE)) == 10
    return pyotp.parse_uri(uri)


def test_adding_a_key_needs_a_code_once_someone_is_enrolled(
    cli: CliRunner, env: pytest.MonkeyPatch
) -> None:
    env.setattr(sys, "stdin", io.StringIO("first-value-0123\n"))
    assert cli("keys", "add", "before", "--kind", "other").code == 0  # nobody enrolled: no code
    totp = _enroll(cli, "ops")
    seed = totp.secret
    # The seed lives only inside the encrypted keystore; the state file beside it holds none.
    assert seed.encode() not in Path("user_data/keystore.twk").read_bytes()
    assert seed not in Path("user_data/keystore.2fa.json").read_text()
    for args, message in (
        ((), "adding a key needs a two-factor code"),
        (("--operator", "ops", "--code", "000000" if totp.now() != "000000" else "111111"),
         "the two-factor code is wrong"),
        (("--operator", "mallory", "--code", totp.now()), "'mallory' has no two-factor"),
    ):  # fmt: skip
        env.setattr(sys, "stdin", io.StringIO("slipped-in-value\n"))
        refused = cli("keys", "add", "slipped", "--kind", "exchange", *args)
        assert refused.code == 2, refused.out
        assert message in refused.err
    code = totp.now()
    env.setattr(sys, "stdin", io.StringIO("second-value-4567\n"))
    added = cli("keys", "add", "after", "--kind", "exchange", "--operator", "ops", "--code", code)
    assert added.code == 0, added.err
    env.setattr(sys, "stdin", io.StringIO("third-value-89ab\n"))
    replayed = cli("keys", "add", "again", "--operator", "ops", "--code", code)
    assert replayed.code == 2
    assert "used already" in replayed.err
    names = {entry.name for entry in Keystore.open(Path("user_data/keystore.twk"),
                                                    Secret(PASSPHRASE))}  # fmt: skip
    assert names == {"before", "after", "totp.ops"}


def test_switching_to_live_trading_needs_a_code(cli: CliRunner, env: pytest.MonkeyPatch) -> None:
    totp = _enroll(cli, "ops")
    live = ("trade", "--mode", "live", "-s", "sma_cross", "--symbol", "XRP/ETH", "-t", "1m",
            "--max-capital", "1")  # fmt: skip
    refused = cli(*live)
    assert refused.code == 2
    assert "switching to live trading needs a two-factor code" in refused.err
    wrong = cli(*live, "--operator", "ops", "--code", f"{(int(totp.now()) + 1) % 10**6:06d}")
    assert wrong.code == 2
    assert "the two-factor code is wrong" in wrong.err
