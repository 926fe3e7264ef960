"""The keystore: round trip, refusal of a wrong passphrase and of any modification, mode 0600,
secrets that never print, and the OS keyring as a passphrase store."""

from __future__ import annotations

import base64
import json
import pickle
import stat
from pathlib import Path

import pytest

from tradewind.ops import passphrase as passphrases
from tradewind.ops.keystore import SCRYPT_N, Keystore, KeystoreError
from tradewind.ops.secrets import Secret

PASS = Secret("correct horse battery staple")


def _store(tmp_path: Path) -> Path:
    path = tmp_path / "keys.twk"
    store = Keystore.create(path, PASS)
    store.add("binance.api_key", "exchange", Secret("canary-api-key-7f3a9c"))
    store.add("telegram", "telegram", Secret("123456:telegram-token-canary"))
    store.save()
    return path


def test_round_trip_mode_and_header(tmp_path: Path) -> None:
    path = _store(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert lines[0] == "tradewind-keystore 1"
    header = json.loads(lines[1])
    assert (header["kdf"], header["n"], header["r"], header["p"]) == ("scrypt", SCRYPT_N, 8, 1)
    assert SCRYPT_N >= 2**15
    assert "canary" not in path.read_text()
    reopened = Keystore.open(path, PASS)
    assert reopened.get("binance.api_key").reveal() == "canary-api-key-7f3a9c"
    assert [entry.name for entry in reopened] == ["binance.api_key", "telegram"]
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temporary behind


def test_every_save_uses_a_fresh_salt(tmp_path: Path) -> None:
    path = _store(tmp_path)
    first = json.loads(path.read_text().splitlines()[1])["salt"]
    Keystore.open(path, PASS).save()
    assert json.loads(path.read_text().splitlines()[1])["salt"] != first


def test_a_wrong_passphrase_is_refused(tmp_path: Path) -> None:
    path = _store(tmp_path)
    with pytest.raises(KeystoreError, match="wrong passphrase, or the file was modified"):
        Keystore.open(path, Secret("correct horse battery stapler"))


def test_a_flipped_ciphertext_byte_is_refused(tmp_path: Path) -> None:
    path = _store(tmp_path)
    lines = path.read_text().split("\n")
    token = bytearray(base64.urlsafe_b64decode(lines[2]))
    token[40] ^= 0x01
    lines[2] = base64.urlsafe_b64encode(bytes(token)).decode()
    path.write_text("\n".join(lines))
    with pytest.raises(KeystoreError, match="the file was modified"):
        Keystore.open(path, PASS)


def test_an_edited_header_is_refused(tmp_path: Path) -> None:
    path = _store(tmp_path)
    lines = path.read_text().split("\n")
    header = json.loads(lines[1])
    weaker = {**header, "n": 2**10}
    path.write_text("\n".join([lines[0], json.dumps(weaker), *lines[2:]]))
    with pytest.raises(KeystoreError, match="weaker key derivation"):
        Keystore.open(path, PASS)
    # Extra whitespace in the header: same parameters, but not the header the body vouches for.
    path.write_text(
        "\n".join([lines[0], json.dumps(header, indent=1).replace("\n", ""), *lines[2:]])
    )
    with pytest.raises(KeystoreError, match="modified"):
        Keystore.open(path, PASS)


def test_an_unknown_version_and_a_foreign_file_are_named(tmp_path: Path) -> None:
    path = _store(tmp_path)
    text = path.read_text()
    path.write_text(text.replace("tradewind-keystore 1", "tradewind-keystore 9", 1))
    with pytest.raises(KeystoreError, match="version '9'"):
        Keystore.open(path, PASS)
    path.write_text("api_key = 'plain'\n")
    with pytest.raises(KeystoreError, match="not a Tradewind keystore"):
        Keystore.open(path, PASS)


def test_entries_add_rotate_remove(tmp_path: Path) -> None:
    path = _store(tmp_path)
    store = Keystore.open(path, PASS)
    with pytest.raises(KeystoreError, match="already"):
        store.add("telegram", "telegram", Secret("x" * 10))
    with pytest.raises(KeystoreError, match="unknown key kind"):
        store.add("new", "wallet", Secret("x" * 10))
    with pytest.raises(KeystoreError, match="bad entry name"):
        store.add("a b", "other", Secret("x" * 10))
    store.rotate("telegram", Secret("654321:rotated-token"))
    store.remove("binance.api_key")
    store.save()
    reopened = Keystore.open(path, PASS)
    assert reopened.get("telegram").reveal() == "654321:rotated-token"
    assert next(iter(reopened)).rotated is not None
    with pytest.raises(KeystoreError, match=r"no entry 'binance.api_key' \(entries: telegram\)"):
        reopened.get("binance.api_key")


def test_a_new_passphrase_reencrypts(tmp_path: Path) -> None:
    path = _store(tmp_path)
    store = Keystore.open(path, PASS)
    store.change_passphrase(Secret("a new and longer passphrase"))
    store.save()
    with pytest.raises(KeystoreError, match="wrong passphrase"):
        Keystore.open(path, PASS)
    assert Keystore.open(path, Secret("a new and longer passphrase")).get("telegram")


def test_secrets_never_print_or_pickle() -> None:
    secret = Secret("canary-value-123456")
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret]),
                  repr({"k": secret})):  # fmt: skip
        assert "canary" not in shown
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
    assert secret == Secret("canary-value-123456")
    assert secret != Secret("canary-value-654321")


def test_the_os_keyring_holds_the_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")  # type: ignore[misc]
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    monkeypatch.delenv("TRADEWIND_KEYSTORE_PASSPHRASE", raising=False)
    try:
        path = _store(tmp_path)
        assert passphrases.from_keyring(path) is None
        passphrases.store_in_keyring(path, PASS)
        found = passphrases.obtain(path, use_keyring=True)
        assert Keystore.open(path, found).get("telegram")
        assert passphrases.forget_in_keyring(path)
        assert passphrases.from_keyring(path) is None
    finally:
        keyring.set_keyring(previous)


def test_the_passphrase_from_a_descriptor_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    path = tmp_path / "k.twk"
    read, write = os.pipe()
    os.write(write, b"from-a-pipe\n")
    os.close(write)
    assert passphrases.obtain(path, fd=read).reveal() == "from-a-pipe"
    monkeypatch.setenv("TRADEWIND_KEYSTORE_PASSPHRASE", "from-the-env")
    assert passphrases.obtain(path).reveal() == "from-the-env"
    monkeypatch.delenv("TRADEWIND_KEYSTORE_PASSPHRASE")
    # systemd's LoadCredential= (the unit in deploy/) hands it over as a file.
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    (credentials / "keystore-passphrase").write_text("from-systemd\n")
    assert passphrases.obtain(path).reveal() == "from-systemd"
    (credentials / "keystore-passphrase").write_text("")
    with pytest.raises(KeystoreError, match="is empty"):
        passphrases.obtain(path)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with pytest.raises(KeystoreError, match="no keystore passphrase"):
        passphrases.obtain(path)  # pytest's stdin is no terminal: no prompt, a clear refusal
