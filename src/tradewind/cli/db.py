"""``tradewind db``: migrate, back up and restore a bot's database (or any database by URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradewind.cli.context import STATE
from tradewind.core.errors import UserError
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


@app.command("backup")
def backup_cmd(
    to: Annotated[Path, typer.Option("--to", help="The backup file to write (must not exist).")],
    bot: BotOption = None,
    db_url: UrlOption = None,
) -> None:
    """Back up a database while it runs (SQLite online backup; pg_dump for PostgreSQL)."""
    url = database_url(bot, db_url)
    STATE.console.print(f"backup of {redact(url)} written to {backups.backup(url, to)}")


@app.command("restore")
def restore_cmd(
    source: Annotated[Path, typer.Option("--from", help="The backup file to restore.")],
    bot: BotOption = None,
    db_url: UrlOption = None,
) -> None:
    """Replace a database with a backup (stop the bot first)."""
    url = database_url(bot, db_url, must_exist=False)
    backups.restore(url, source)
    STATE.console.print(f"{redact(url)} restored from {source}")
