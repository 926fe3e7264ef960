"""The keystore: exchange keys, API tokens and the Telegram token, encrypted in one file.

File layout (version 1), text::

    tradewind-keystore 1
    {"kdf": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": "<base64>"}
    <Fernet token>

The key is scrypt(passphrase, salt) with a fresh random salt on every write; Fernet (AES-128-CBC
with HMAC-SHA256) authenticates the body, and the body repeats the header, so an edited header
(a lowered work factor, a swapped salt) is refused as well as an edited body. A wrong passphrase and
a modified file look the same to authenticated encryption, and the message says so: nothing is
decrypted in either case. Writes go to a temporary file in the same folder (mode 0600 from its
creation), are flushed to disk, then renamed over the old file, so a crash never leaves half a
keystore.

This module lives in ``ops`` (the apps ring): it prompts, reads files and environment variables,
and is consulted by the composition root and the CLI; lower rings receive only the credentials
they need, already resolved.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as random_source
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from tradewind.core.errors import UserError
from tradewind.ops.secrets import Secret

MAGIC = "tradewind-keystore"
VERSION = 1
# scrypt's cost: n = 2**15 with r = 8 takes 32 MiB and about 0.1 s, the floor the security notes
# ask for; a file asking for less is refused, so an edited header cannot downgrade the work.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KINDS = ("exchange", "api_token", "telegram", "audit", "other")
PASSPHRASE_ENV = "TRADEWIND_KEYSTORE_PASSPHRASE"
DEFAULT_PATH = Path("user_data/keystore.twk")


class KeystoreError(UserError):
    """The keystore cannot be read or written as asked; the message says why."""


@dataclass(frozen=True)
class KeyEntry:
    """One stored secret with what it is for; ``value`` never prints."""

    name: str
    kind: str
    value: Secret
    created: str
    rotated: str | None = None


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    raw = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())
    return base64.urlsafe_b64encode(raw)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Keystore:
    """An open keystore: entries decrypted in memory, written back by :meth:`save`."""

    def __init__(self, path: Path, passphrase: Secret, entries: dict[str, KeyEntry]) -> None:
        self.path = path
        self._passphrase = passphrase
        self._entries = entries

    # -- reading -----------------------------------------------------------------------------
    @classmethod
    def create(cls, path: Path, passphrase: Secret) -> Keystore:
        """A new, empty keystore at ``path`` (written at once).

        Raises
        ------
        KeystoreError
            When ``path`` exists already or the passphrase is empty.
        """
        if path.exists():
            raise KeystoreError(f"{path} exists already; open it instead of creating it")
        if not passphrase.reveal():
            raise KeystoreError("the keystore passphrase must not be empty")
        store = cls(path, passphrase, {})
        store.save()
        return store

    @classmethod
    def open(cls, path: Path, passphrase: Secret) -> Keystore:
        """Decrypt the keystore at ``path``.

        Raises
        ------
        KeystoreError
            When the file is missing, not a keystore, of an unknown version, asks for too little
            work, or does not decrypt (wrong passphrase or modified file).
        """
        if not path.is_file():
            raise KeystoreError(f"no keystore at {path}; create one with `tradewind keys add`")
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeystoreError(f"{path} is not a Tradewind keystore ({exc})") from None
        lines = text.split("\n")
        if len(lines) < 3 or not lines[0].startswith(MAGIC + " "):
            raise KeystoreError(f"{path} is not a Tradewind keystore (no header line)")
        version = lines[0][len(MAGIC) + 1 :].strip()
        if version != str(VERSION):
            raise KeystoreError(
                f"{path} is keystore version {version!r}; this Tradewind reads version {VERSION}"
            )
        header = _parse_header(path, lines[1])
        key = _derive(passphrase.reveal(), header["salt"], header["n"], header["r"], header["p"])
        try:
            body = Fernet(key).decrypt(lines[2].strip().encode("ascii"))
        except (InvalidToken, ValueError):
            raise KeystoreError(
                f"cannot decrypt {path}: wrong passphrase, or the file was modified; nothing was "
                "decrypted"
            ) from None
        document = json.loads(body)
        if document.get("header") != lines[0] + "\n" + lines[1]:
            raise KeystoreError(f"{path} was modified: its header does not match its contents")
        entries = {
            name: KeyEntry(
                name, item["kind"], Secret(item["value"]), item["created"], item.get("rotated")
            )
            for name, item in document["entries"].items()
        }
        return cls(path, passphrase, entries)

    # -- entries -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[KeyEntry]:
        return iter(sorted(self._entries.values(), key=lambda entry: entry.name))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> Secret:
        """The secret stored under ``name``.

        Raises
        ------
        KeystoreError
            When there is no such entry (the message lists those there are).
        """
        entry = self._entries.get(name)
        if entry is None:
            known = ", ".join(sorted(self._entries)) or "none"
            raise KeystoreError(f"the keystore has no entry {name!r} (entries: {known})")
        return entry.value

    def add(self, name: str, kind: str, value: Secret) -> None:
        """Store a new entry (then :meth:`save`); an existing name is refused: use :meth:`rotate`."""
        _check_name(name)
        if kind not in KINDS:
            raise KeystoreError(f"unknown key kind {kind!r}; use one of {', '.join(KINDS)}")
        if name in self._entries:
            raise KeystoreError(f"the keystore has an entry {name!r} already; rotate it instead")
        if not value.reveal():
            raise KeystoreError(f"the value of {name!r} is empty")
        self._entries[name] = KeyEntry(name, kind, value, _now())

    def rotate(self, name: str, value: Secret) -> None:
        """Replace the value of entry ``name`` (then :meth:`save`)."""
        old = self._entries.get(name)
        if old is None:
            raise KeystoreError(f"the keystore has no entry {name!r} to rotate")
        if not value.reveal():
            raise KeystoreError(f"the new value of {name!r} is empty")
        self._entries[name] = KeyEntry(name, old.kind, value, old.created, _now())

    def remove(self, name: str) -> None:
        """Delete entry ``name`` (then :meth:`save`)."""
        if self._entries.pop(name, None) is None:
            raise KeystoreError(f"the keystore has no entry {name!r} to remove")

    def change_passphrase(self, passphrase: Secret) -> None:
        """Encrypt under a new passphrase from the next :meth:`save` on."""
        if not passphrase.reveal():
            raise KeystoreError("the keystore passphrase must not be empty")
        self._passphrase = passphrase

    def ensure_random(self, name: str, kind: str, nbytes: int = 32) -> Secret:
        """The entry ``name``, created with ``nbytes`` random bytes (and saved) if missing."""
        if name not in self._entries:
            self.add(name, kind, Secret(random_source.token_hex(nbytes)))
            self.save()
        return self.get(name)

    # -- writing -----------------------------------------------------------------------------
    def save(self) -> None:
        """Encrypt under a fresh salt and replace the file atomically (mode 0600)."""
        salt = os.urandom(SALT_BYTES)
        header_fields = {"kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                         "salt": base64.b64encode(salt).decode()}  # fmt: skip
        header = f"{MAGIC} {VERSION}\n" + json.dumps(header_fields, sort_keys=True)
        document: dict[str, Any] = {
            "header": header,
            "entries": {
                entry.name: {
                    "kind": entry.kind,
                    "value": entry.value.reveal(),
                    "created": entry.created,
                    "rotated": entry.rotated,
                }
                for entry in self._entries.values()
            },
        }
        key = _derive(self._passphrase.reveal(), salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        token = Fernet(key).encrypt(json.dumps(document).encode()).decode("ascii")
        write_private(self.path, f"{header}\n{token}\n".encode("ascii"))


def _check_name(name: str) -> None:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    if not name or len(name) > 100 or not set(name) <= allowed:
        raise KeystoreError(f"bad entry name {name!r}: use 1-100 letters, digits, '.', '_' or '-'")


def _parse_header(path: Path, line: str) -> dict[str, Any]:
    try:
        fields = json.loads(line)
        n, r, p = int(fields["n"]), int(fields["r"]), int(fields["p"])
        salt = base64.b64decode(fields["salt"], validate=True)
    except (ValueError, KeyError, TypeError) as exc:
        raise KeystoreError(f"{path} was modified: its header is unreadable ({exc})") from None
    if fields.get("kdf") != "scrypt" or n < SCRYPT_N or r < SCRYPT_R or p < 1 or len(salt) < 16:
        raise KeystoreError(
            f"{path} was modified: its header asks for a weaker key derivation than Tradewind "
            f"writes (scrypt n >= {SCRYPT_N}, r >= {SCRYPT_R}, a 16-byte salt)"
        )
    return {"n": n, "r": r, "p": p, "salt": salt}


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable and writable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{random_source.token_hex(4)}.tmp")
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    # The rename itself is durable only once the folder is synced.
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
