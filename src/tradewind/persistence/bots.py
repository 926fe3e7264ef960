"""Bots and their sessions: a stable state folder per bot, one session row per start, and the
exchange account a bot is bound to.

``--bot NAME`` means the folder ``<bots_dir>/NAME/`` (``user_data/bots/NAME/`` by default) and
the SQLite database ``state.sqlite`` in it, so a restart finds everything the bot wrote. With a
shared database URL (PostgreSQL) every bot keeps its rows there, keyed by its name.

The first start binds the bot to a hash of its exchange account (exchange name and account or
key id, never a secret); starting it against another account is refused, so one bot's orders and
positions are never reconciled against a different account.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from tradewind.core.errors import UserError
from tradewind.persistence.engine import Durability, open_database, sqlite_url
from tradewind.persistence.models import Bot, TradingSession
from tradewind.persistence.repository import SqlTradingRepository

DATABASE_FILE = "state.sqlite"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_BOTS = Bot.__table__
_SESSIONS = TradingSession.__table__


def bot_folder(name: str, bots_dir: str | Path) -> Path:
    """The state folder of bot ``name``.

    Raises
    ------
    UserError
        When the name is not 1-64 letters, digits, ``-`` or ``_`` (it names a folder).
    """
    if not _NAME.fullmatch(name):
        raise UserError(
            f"bot name {name!r} must be 1-64 letters, digits, '-' or '_', starting with a letter "
            "or digit"
        )
    return Path(bots_dir) / name


def account_hash(exchange: str, account: str) -> str:
    """A stable fingerprint of an exchange account (exchange name + account or API key id)."""
    digest = hashlib.sha256(f"tradewind-account\0{exchange.lower()}\0{account}".encode())
    return digest.hexdigest()


@dataclass
class BotDatabase:
    """An open bot: its database engine, its row id and its name."""

    engine: Engine
    bot_id: int
    name: str

    def repository(
        self, session_id: int | None = None, *, audit_key: bytes | None = None
    ) -> SqlTradingRepository:
        """The trading repository of this bot (bound to a session while trading); with
        ``audit_key`` each order, fill and risk event is chained into the audit trail."""
        return SqlTradingRepository(self.engine, self.bot_id, session_id, audit_key=audit_key)

    def bind_account(self, fingerprint: str) -> None:
        """Bind the bot to an exchange account on its first start; refuse any other account.

        Raises
        ------
        UserError
            When the bot was bound to a different account before.
        """
        with self.engine.begin() as connection:
            stored = connection.execute(
                select(_BOTS.c.account_hash).where(_BOTS.c.id == self.bot_id)
            ).scalar()
            if stored is None:
                connection.execute(
                    update(_BOTS).where(_BOTS.c.id == self.bot_id).values(account_hash=fingerprint)
                )
            elif stored != fingerprint:
                raise UserError(
                    f"bot {self.name!r} trades another exchange account (fingerprint "
                    f"{stored[:12]}..., this one is {fingerprint[:12]}...); use another --bot "
                    "name for this account"
                )

    def start_session(
        self,
        *,
        mode: str,
        strategies: list[str],
        parameters: dict[str, Any],
        config_hash: str,
        code_version: str,
        started_at: datetime | None = None,
    ) -> int:
        """Record a start of the bot; returns the new session's id."""
        with self.engine.begin() as connection:
            return int(
                connection.execute(
                    insert(_SESSIONS).returning(_SESSIONS.c.id),
                    {
                        "bot_id": self.bot_id,
                        "mode": mode,
                        "strategies": json.dumps(strategies),
                        "parameters": json.dumps(parameters, sort_keys=True, default=str),
                        "config_hash": config_hash,
                        "code_version": code_version,
                        "started_at": started_at or datetime.now(UTC),
                    },
                ).scalar_one()
            )

    def session_modes(self) -> set[str]:
        """The modes (backtest, paper, live) the bot's sessions have run in."""
        with self.engine.connect() as connection:
            return set(
                connection.execute(
                    select(_SESSIONS.c.mode).where(_SESSIONS.c.bot_id == self.bot_id).distinct()
                ).scalars()
            )

    def end_session(self, session_id: int, reason: str, ended_at: datetime | None = None) -> None:
        """Record the end of a session and why it ended."""
        with self.engine.begin() as connection:
            connection.execute(
                update(_SESSIONS)
                .where(_SESSIONS.c.id == session_id)
                .values(ended_at=ended_at or datetime.now(UTC), end_reason=reason)
            )


def bot_url(name: str, bots_dir: str | Path, url: str | None = None) -> str:
    """The database URL of bot ``name``: ``url`` when shared, else its own SQLite file."""
    folder = bot_folder(name, bots_dir)
    return url or sqlite_url(folder / DATABASE_FILE)


def open_bot(
    name: str,
    *,
    bots_dir: str | Path,
    url: str | None = None,
    durability: Durability = "normal",
    create: bool = True,
) -> BotDatabase:
    """Open bot ``name``'s database (made and migrated on its first start when ``create``).

    Raises
    ------
    UserError
        When the bot does not exist and ``create`` is false, or the database is unusable.
    """
    folder = bot_folder(name, bots_dir)
    own_file = url is None
    if own_file and not create and not (folder / DATABASE_FILE).is_file():
        raise UserError(f"no bot {name!r}: {folder / DATABASE_FILE} does not exist")
    if own_file:
        folder.mkdir(parents=True, exist_ok=True)
    engine = open_database(bot_url(name, bots_dir, url), durability=durability, create=own_file)
    with engine.begin() as connection:
        bot_id = connection.execute(select(_BOTS.c.id).where(_BOTS.c.name == name)).scalar()
        if bot_id is None:
            if not create:
                known = connection.execute(select(_BOTS.c.name).order_by(_BOTS.c.name)).scalars()
                raise UserError(
                    f"no bot {name!r} in this database; known: {', '.join(known) or 'none'}"
                )
            bot_id = connection.execute(
                insert(_BOTS).returning(_BOTS.c.id),
                {"name": name, "created_at": datetime.now(UTC)},
            ).scalar_one()
    return BotDatabase(engine, int(bot_id), name)
