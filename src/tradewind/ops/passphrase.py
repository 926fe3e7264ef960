"""Where the keystore passphrase comes from: a file descriptor, an environment variable, a systemd
credential, the OS keyring, or a prompt, in that order of preference.

A file descriptor (``--passphrase-fd 3`` with ``3<file`` or a pipe) keeps the passphrase out of
the environment and the process list; the environment variable suits containers and services; the
OS keyring (any backend the ``keyring`` package finds) lets a desktop user unlock once.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from tradewind.ops.keystore import PASSPHRASE_ENV, KeystoreError
from tradewind.ops.secrets import Secret

KEYRING_SERVICE = "tradewind-keystore"
SYSTEMD_CREDENTIAL = "keystore-passphrase"
"""The credential name under which systemd hands the service the passphrase."""


def _keyring_user(path: Path) -> str:
    return str(path.expanduser().resolve())


def read_fd(fd: int) -> Secret:
    """The first line read from file descriptor ``fd`` (the descriptor is closed after)."""
    try:
        with os.fdopen(fd, "r", encoding="utf-8", closefd=True) as handle:
            line = handle.readline()
    except OSError as exc:
        raise KeystoreError(
            f"cannot read the passphrase from file descriptor {fd}: {exc}"
        ) from None
    value = line.rstrip("\r\n")
    if not value:
        raise KeystoreError(f"file descriptor {fd} gave an empty passphrase")
    return Secret(value)


def _first_line(path: Path) -> Secret:
    try:
        line = path.read_text(encoding="utf-8").splitlines()[:1]
    except OSError as exc:
        raise KeystoreError(f"cannot read the passphrase credential {path}: {exc}") from None
    if not line or not line[0]:
        raise KeystoreError(f"the passphrase credential {path} is empty")
    return Secret(line[0])


def from_keyring(path: Path) -> Secret | None:
    """The passphrase the OS keyring holds for the keystore at ``path``, or None."""
    import keyring
    from keyring.errors import KeyringError

    try:
        value = keyring.get_password(KEYRING_SERVICE, _keyring_user(path))
    except KeyringError as exc:
        raise KeystoreError(f"the OS keyring cannot be read: {exc}") from None
    return None if value is None else Secret(value)


def store_in_keyring(path: Path, passphrase: Secret) -> None:
    """Keep ``passphrase`` in the OS keyring for the keystore at ``path``."""
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, _keyring_user(path), passphrase.reveal())
    except KeyringError as exc:
        raise KeystoreError(f"the OS keyring cannot store the passphrase: {exc}") from None


def forget_in_keyring(path: Path) -> bool:
    """Remove the keystore's passphrase from the OS keyring; False when none was there."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, _keyring_user(path))
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise KeystoreError(f"the OS keyring cannot be changed: {exc}") from None
    return True


def obtain(
    path: Path,
    *,
    fd: int | None = None,
    use_keyring: bool = False,
    confirm: bool = False,
    prompt: str = "keystore passphrase: ",
) -> Secret:
    """The passphrase for the keystore at ``path``, from the first source that has one.

    Parameters
    ----------
    fd
        Read it from this file descriptor.
    use_keyring
        Look in the OS keyring (after ``fd`` and the environment variable).
    confirm
        Ask twice when prompting (a new keystore or a new passphrase).

    Raises
    ------
    KeystoreError
        When no source has one and there is no terminal to ask on, or the two entries differ.
    """
    if fd is not None:
        return read_fd(fd)
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return Secret(from_env)
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / SYSTEMD_CREDENTIAL).is_file():
        # systemd's LoadCredential= (deploy/tradewind.service): a root-only file, never the unit.
        return _first_line(Path(credentials) / SYSTEMD_CREDENTIAL)
    if use_keyring:
        found = from_keyring(path)
        if found is not None:
            return found
    if not sys.stdin.isatty():
        raise KeystoreError(
            f"no keystore passphrase: set {PASSPHRASE_ENV}, pass --passphrase-fd N, use "
            "--keyring, or run in a terminal to be asked"
        )
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("again: ") != first:
        raise KeystoreError("the two passphrases differ; nothing was changed")
    if not first:
        raise KeystoreError("the keystore passphrase must not be empty")
    return Secret(first)
