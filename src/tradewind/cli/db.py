"""``tradewind db``: migrate, back up and restore a bot's database (or any database by URL)."""

from __future__ import annotations

import getpass
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from tradewind.cli.context import STATE
from tradewind.cli.outputs import writable_file
from tradewind.core.errors import UserError
from tradewind.ops import passphrase as passphrases
from tradewind.ops import sealed
from tradewind.ops.keystore import DEFAULT_PATH as KEYSTORE_PATH
from tradewind.ops.keystore import Keystore, KeystoreError
from tradewind.ops.secrets import Secret
from tradewind.persistence import backup as backups
from tradewind.persistence.bots import DATABASE_FILE, bot_folder, bot_url
from tradewind.persistence.engine import (
    current_revision,
    head_revision,
    make_engine,
    redact,
    sqlite_file,
    upgrade,
)

BACKUP_ENTRY = "backup.passphrase"
BACKUP_PASSPHRASE_ENV = "TRADEWIND_BACKUP_PASSPHRASE"

app = typer.Typer(help="Database: migrate, back up, restore.", no_args_is_help=True)

BotOption = Annotated[
    str | None, typer.Option("--bot", help="The bot whose database (user_data/bots/NAME/).")
]
UrlOption = Annotated[
    str | None,
    typer.Option("--db-url", help="A database URL (sqlite:///file or postgresql://...)."),
]


def database_url(bot: str | None, db_url: str | None, *, must_exist: bool = True) -> str:
    """The URL named by ``--bot`` and/or ``--db-url`` (a bot's own SQLite file, or the URL).

    Raises
    ------
    UserError
        When neither is given, or a bot's own database does not exist (and must).
    """
    config = STATE.config().database
    url = db_url or config.url
    if bot is None:
        if url is None:
            raise UserError("name the database: --bot NAME (its state folder) or --db-url URL")
        path = sqlite_file(url)
        if must_exist and path is not None and not path.is_file():
            raise UserError(f"no database at {path}")
        return url
    if url is None and must_exist:
        path = bot_folder(bot, config.bots_dir) / DATABASE_FILE
        if not path.is_file():
            raise UserError(f"no bot {bot!r}: {path} does not exist")
    return bot_url(bot, config.bots_dir, url)


@app.command("upgrade")
def upgrade_cmd(bot: BotOption = None, db_url: UrlOption = None) -> None:
    """Create or migrate the schema to the latest revision (Alembic)."""
    url = database_url(bot, db_url, must_exist=False)
    if bot is not None and db_url is None and STATE.config().database.url is None:
        bot_folder(bot, STATE.config().database.bots_dir).mkdir(parents=True, exist_ok=True)
    engine = make_engine(url, durability=STATE.config().database.durability)
    try:
        upgrade(engine)
        STATE.console.print(
            f"{redact(url)} is at schema revision {current_revision(engine)} (latest "
            f"{head_revision()})"
        )
    finally:
        engine.dispose()


EncryptOption = Annotated[
    bool,
    typer.Option("--encrypt", help="Encrypt the backup (Fernet under a scrypt-derived key)."),
]
BackupFdOption = Annotated[
    int | None,
    typer.Option("--passphrase-fd", help="Read the backup passphrase from this file descriptor."),
]
FromKeystoreOption = Annotated[
    bool,
    typer.Option(
        "--key-from-keystore",
        help=f"Use the keystore's {BACKUP_ENTRY!r} entry as the backup passphrase.",
    ),
]


def _backup_passphrase(fd: int | None, from_keystore: bool, *, creating: bool) -> Secret:
    """The passphrase of an encrypted backup: a descriptor, the keystore, the environment, or a
    prompt."""
    if fd is not None:
        return passphrases.read_fd(fd)
    if from_keystore:
        path = Path(os.environ.get("TRADEWIND_KEYSTORE", str(KEYSTORE_PATH)))
        store = Keystore.open(path, passphrases.obtain(path))
        if creating:
            return store.ensure_random(BACKUP_ENTRY, "other")
        return store.get(BACKUP_ENTRY)
    from_env = os.environ.get(BACKUP_PASSPHRASE_ENV)
    if from_env:
        return Secret(from_env)
    if not sys.stdin.isatty():
        raise KeystoreError(
            f"no backup passphrase: set {BACKUP_PASSPHRASE_ENV}, pass --passphrase-fd N or "
            "--key-from-keystore, or run in a terminal to be asked"
        )
    first = getpass.getpass("backup passphrase: ")
    if creating and getpass.getpass("again: ") != first:
        raise KeystoreError("the two passphrases differ; no backup was written")
    return Secret(first)


@app.command("backup")
def backup_cmd(
    to: Annotated[Path, typer.Option("--to", help="The backup file to write (must not exist).")],
    bot: BotOption = None,
    db_url: UrlOption = None,
    encrypt: EncryptOption = False,
    passphrase_fd: BackupFdOption = None,
    key_from_keystore: FromKeystoreOption = False,
) -> None:
    """Back up a database while it runs (SQLite online backup; pg_dump for PostgreSQL).

    The backup file is created with mode 0600; ``--encrypt`` seals it under a passphrase.
    """
    writable_file(to, "--to")
    url = database_url(bot, db_url)
    if not encrypt:
        STATE.console.print(f"backup of {redact(url)} written to {backups.backup(url, to)}")
        return
    if to.exists():
        raise UserError(f"{to} exists already; choose a new backup file")
    secret = _backup_passphrase(passphrase_fd, key_from_keystore, creating=True)
    with tempfile.TemporaryDirectory(prefix="tradewind-backup-") as folder:
        plain = backups.backup(url, Path(folder) / "plain.backup")
        sealed.seal(plain, to, secret)
    STATE.console.print(f"encrypted backup of {redact(url)} written to {to}")


@app.command("restore")
def restore_cmd(
    source: Annotated[Path, typer.Option("--from", help="The backup file to restore.")],
    bot: BotOption = None,
    db_url: UrlOption = None,
    passphrase_fd: BackupFdOption = None,
    key_from_keystore: FromKeystoreOption = False,
) -> None:
    """Replace a database with a backup (stop the bot first); an encrypted one asks its passphrase."""
    url = database_url(bot, db_url, must_exist=False)
    if source.is_file() and sealed.is_sealed(source):
        secret = _backup_passphrase(passphrase_fd, key_from_keystore, creating=False)
        with tempfile.TemporaryDirectory(prefix="tradewind-restore-") as folder:
            plain = Path(folder) / "plain.backup"
            sealed.unseal(source, plain, secret)
            backups.restore(url, plain)
    else:
        backups.restore(url, source)
    STATE.console.print(f"{redact(url)} restored from {source}")
