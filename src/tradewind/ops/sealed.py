"""Encrypted files at rest: a database backup sealed under a passphrase (Fernet under scrypt).

Layout (version 1)::

    tradewind-sealed 1
    {"kdf": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": "<base64>"}
    <Fernet token of the file's bytes>

The same construction as the keystore, so a wrong passphrase and a modified file are both refused
before anything is written. The whole file is encrypted in one piece (Fernet is not a streaming
format): fine for a bot's SQLite database, not meant for a multi-gigabyte market-data catalog.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from tradewind.ops.keystore import (
    SALT_BYTES,
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    KeystoreError,
    write_private,
)
from tradewind.ops.secrets import Secret

MAGIC = b"tradewind-sealed 1\n"


def _key(passphrase: Secret, salt: bytes, n: int, r: int, p: int) -> bytes:
    raw = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.reveal().encode())
    return base64.urlsafe_b64encode(raw)


def is_sealed(path: Path) -> bool:
    """Whether ``path`` starts like a sealed file."""
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def seal(source: Path, target: Path, passphrase: Secret) -> None:
    """Encrypt ``source`` into ``target`` (mode 0600, written atomically)."""
    if not passphrase.reveal():
        raise KeystoreError("the backup passphrase must not be empty")
    salt = os.urandom(SALT_BYTES)
    header = {"kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
              "salt": base64.b64encode(salt).decode()}  # fmt: skip
    token = Fernet(_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(
        source.read_bytes()
    )
    write_private(target, MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + token)


def unseal(source: Path, target: Path, passphrase: Secret) -> None:
    """Decrypt ``source`` into ``target`` (mode 0600).

    Raises
    ------
    KeystoreError
        When ``source`` is not a sealed file, or the passphrase is wrong or the file was modified.
    """
    data = source.read_bytes()
    if not data.startswith(MAGIC):
        raise KeystoreError(f"{source} is not an encrypted Tradewind backup")
    header_line, _, token = data[len(MAGIC) :].partition(b"\n")
    try:
        header = json.loads(header_line)
        n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
        salt = base64.b64decode(header["salt"], validate=True)
    except (ValueError, KeyError, TypeError):
        raise KeystoreError(f"{source} was modified: its header is unreadable") from None
    if n < SCRYPT_N or r < SCRYPT_R or p < 1 or len(salt) < SALT_BYTES:
        raise KeystoreError(f"{source} was modified: its header asks for a weaker key derivation")
    try:
        plain = Fernet(_key(passphrase, salt, n, r, p)).decrypt(token.strip())
    except (InvalidToken, ValueError):
        raise KeystoreError(
            f"cannot decrypt {source}: wrong passphrase, or the file was modified; nothing was "
            "restored"
        ) from None
    write_private(target, plain)
