"""``tradewind keys``: add, list, remove and rotate the secrets in the encrypted keystore.

Values are never taken as arguments (they would land in the shell's history and the process
list): they come from a hidden prompt, from standard input, or from ``--value-fd N``.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from tradewind.cli.context import STATE
from tradewind.core.errors import UserError
from tradewind.ops import passphrase as passphrases
from tradewind.ops.keystore import DEFAULT_PATH, KINDS, Keystore, KeystoreError
from tradewind.ops.secrets import Secret
from tradewind.ops.two_factor import confirm_if_enrolled

app = typer.Typer(help="The encrypted keystore: exchange keys, API and Telegram tokens.",
                  no_args_is_help=True)  # fmt: skip

KeystoreOption = Annotated[
    Path,
    typer.Option("--keystore", envvar="TRADEWIND_KEYSTORE", help="The keystore file."),
]
FdOption = Annotated[
    int | None,
    typer.Option("--passphrase-fd", help="Read the passphrase from this file descriptor."),
]
KeyringOption = Annotated[
    bool,
    typer.Option("--keyring", help="Take the passphrase from (and keep it in) the OS keyring."),
]


def open_keystore(path: Path, fd: int | None, use_keyring: bool, *, create: bool) -> Keystore:
    """Open the keystore at ``path`` (creating it when ``create`` and it is missing)."""
    if not path.exists():
        if not create:
            raise KeystoreError(f"no keystore at {path}; create one with `tradewind keys add`")
        secret = passphrases.obtain(path, fd=fd, use_keyring=use_keyring, confirm=True,
                                    prompt="new keystore passphrase: ")  # fmt: skip
        try:
            store = Keystore.create(path, secret)
        except OSError as exc:
            raise UserError(
                f"--keystore {path}: cannot create it ({exc.strerror or exc})"
            ) from None
        STATE.console.print(f"created keystore {path} (mode 0600)")
    else:
        secret = passphrases.obtain(path, fd=fd, use_keyring=use_keyring)
        store = Keystore.open(path, secret)
    if use_keyring and passphrases.from_keyring(path) is None:
        passphrases.store_in_keyring(path, secret)
    return store


def _read_value(name: str, value_fd: int | None) -> Secret:
    if value_fd is not None:
        return passphrases.read_fd(value_fd)
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise KeystoreError(f"no value for {name!r} on standard input")
        return Secret(line)
    first = getpass.getpass(f"value of {name}: ")
    if getpass.getpass("again: ") != first:
        raise KeystoreError("the two values differ; nothing was stored")
    return Secret(first)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Entry name, e.g. binance.api_key.")],
    kind: Annotated[str, typer.Option("--kind", help=f"One of: {', '.join(KINDS)}.")] = "exchange",
    value_fd: Annotated[
        int | None, typer.Option("--value-fd", help="Read the value from this file descriptor.")
    ] = None,
    keystore: KeystoreOption = DEFAULT_PATH,
    passphrase_fd: FdOption = None,
    use_keyring: KeyringOption = False,
    operator: Annotated[
        str | None, typer.Option("--operator", help="Who confirms, when two-factor is on.")
    ] = None,
    code: Annotated[
        str | None, typer.Option("--code", help="The operator's authenticator code (2FA on).")
    ] = None,
) -> None:
    """Store a new secret (the keystore is created on first use).

    Once an operator is enrolled (`tradewind 2fa enroll`), adding a key needs --operator and
    --code: whoever holds the passphrase alone cannot slip in a key of their own.
    """
    store = open_keystore(keystore, passphrase_fd, use_keyring, create=True)
    if kind not in KINDS:
        raise KeystoreError(f"unknown key kind {kind!r}; use one of {', '.join(KINDS)}")
    if name in store:
        raise KeystoreError(f"the keystore has an entry {name!r} already; rotate it instead")
    confirm_if_enrolled(store, "adding a key", operator, code)
    store.add(name, kind, _read_value(name, value_fd))
    store.save()
    STATE.console.print(f"stored {name} ({kind}) in {keystore}")


@app.command("list")
def list_cmd(
    keystore: KeystoreOption = DEFAULT_PATH,
    passphrase_fd: FdOption = None,
    use_keyring: KeyringOption = False,
) -> None:
    """List the entries: names, kinds and dates, never the values."""
    store = open_keystore(keystore, passphrase_fd, use_keyring, create=False)
    entries = list(store)
    if not entries:
        STATE.console.print("the keystore is empty")
    for entry in entries:
        rotated = f", rotated {entry.rotated}" if entry.rotated else ""
        STATE.console.print(
            f"{entry.name}  {entry.kind}  added {entry.created}{rotated}", highlight=False
        )


@app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The entry to delete.")],
    keystore: KeystoreOption = DEFAULT_PATH,
    passphrase_fd: FdOption = None,
    use_keyring: KeyringOption = False,
) -> None:
    """Delete an entry."""
    store = open_keystore(keystore, passphrase_fd, use_keyring, create=False)
    store.remove(name)
    store.save()
    STATE.console.print(f"removed {name} from {keystore}")


@app.command("rotate")
def rotate(
    name: Annotated[
        str | None, typer.Argument(help="The entry whose value to replace; none: the passphrase.")
    ] = None,
    value_fd: Annotated[
        int | None, typer.Option("--value-fd", help="Read the new value from this descriptor.")
    ] = None,
    new_passphrase_fd: Annotated[
        int | None,
        typer.Option("--new-passphrase-fd", help="Read the new passphrase from this descriptor."),
    ] = None,
    keystore: KeystoreOption = DEFAULT_PATH,
    passphrase_fd: FdOption = None,
    use_keyring: KeyringOption = False,
) -> None:
    """Replace an entry's value, or (with no NAME) re-encrypt under a new passphrase and salt."""
    store = open_keystore(keystore, passphrase_fd, use_keyring, create=False)
    if name is not None:
        store.rotate(name, _read_value(name, value_fd))
        store.save()
        STATE.console.print(f"rotated {name} in {keystore}")
        return
    if new_passphrase_fd is not None:
        new = passphrases.read_fd(new_passphrase_fd)
    elif sys.stdin.isatty():
        first = getpass.getpass("new keystore passphrase: ")
        if getpass.getpass("again: ") != first:
            raise KeystoreError("the two passphrases differ; nothing was changed")
        new = Secret(first)
    else:
        raise KeystoreError("give the new passphrase with --new-passphrase-fd N or in a terminal")
    store.change_passphrase(new)
    store.save()
    if use_keyring:
        passphrases.store_in_keyring(keystore, new)
    STATE.console.print(f"{keystore} re-encrypted under the new passphrase")
