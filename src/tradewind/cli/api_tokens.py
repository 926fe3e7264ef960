"""``tradewind api-token``: issue and revoke the bearer tokens of a bot's operator API.

The plain token is printed once, when it is issued; the database keeps only its SHA-256.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from tradewind.cli.context import STATE
from tradewind.cli.db import BotOption, UrlOption, database_url
from tradewind.core.errors import UserError
from tradewind.persistence import queries
from tradewind.persistence.api_tokens import SCOPES, issue_token, revoke_token
from tradewind.persistence.engine import open_database

app = typer.Typer(help="Bearer tokens of a bot's operator API (scopes read, trade, admin).",
                  no_args_is_help=True)  # fmt: skip

NameOption = Annotated[str, typer.Option("--name", help="Who holds the token (e.g. grafana).")]


@app.command("add")
def add(
    name: NameOption,
    bot: BotOption = None,
    db_url: UrlOption = None,
    scope: Annotated[
        list[str], typer.Option("--scope", help=f"One of {', '.join(SCOPES)}; repeatable.")
    ] = ["read"],  # noqa: B006 - typer reads the default, nothing mutates it
    days: Annotated[
        int | None, typer.Option("--days", help="Expire after this many days (default never).")
    ] = None,
) -> None:
    """Issue a token and print it once."""
    if days is not None and days < 1:
        raise UserError(f"--days must be at least 1, got {days}")
    engine = open_database(database_url(bot, db_url), durability=STATE.config().database.durability)
    bot_id = None if bot is None else queries.bot_id(engine, bot)
    ttl = None if days is None else timedelta(days=days)
    token = issue_token(engine, name=name, scopes=scope, bot_id=bot_id, ttl=ttl)
    typer.echo(token)


@app.command("revoke")
def revoke(name: NameOption, bot: BotOption = None, db_url: UrlOption = None) -> None:
    """Revoke every live token called NAME."""
    engine = open_database(database_url(bot, db_url), durability=STATE.config().database.durability)
    count = revoke_token(engine, name)
    if count == 0:
        raise UserError(f"no live token called {name!r}")
    STATE.console.print(f"revoked {count} token(s) called {name!r}")
