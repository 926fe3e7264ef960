"""Opening a database: URLs, SQLite's durability settings, and the schema's migrations.

SQLite runs in WAL mode with ``synchronous=NORMAL`` by default: a killed process loses nothing that
was committed (only a power loss can drop the last transactions), and a commit costs no fsync.
``synchronous=FULL`` (``durability="full"``) also survives a power loss, at one fsync per commit
(benchmarked in ``benchmarks/bench_persistence.py``). PostgreSQL is used as configured on the
server.

The schema comes only from the Alembic migrations shipped in ``persistence/migrations``;
:func:`upgrade` applies them, and :func:`open_database` refuses a database that is not at the
latest revision, naming the command that fixes it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool

from tradewind.core.errors import UserError

Durability = Literal["normal", "full"]
MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path.resolve()}"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    if not url.startswith("sqlite"):
        return None
    database = url.split(":///", 1)[-1] if ":///" in url else ""
    return Path(database) if database and database != ":memory:" else None


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def make_engine(url: str, *, durability: Durability = "normal") -> Engine:
    """An engine for ``url`` with Tradewind's connection settings.

    Raises
    ------
    UserError
        When the URL is malformed or names a driver that is not installed.
    """
    if durability not in ("normal", "full"):
        raise UserError(f"durability must be 'normal' or 'full', got {durability!r}")
    try:
        if url.startswith("sqlite"):
            database = url.split(":///", 1)[-1] if ":///" in url else ""
            if database and database != ":memory:":
                _private_file(Path(database))
            if not database or database == ":memory:":
                # An in-memory database lives as long as its one connection.
                engine = create_engine(url, poolclass=StaticPool)
            else:
                engine = create_engine(url)
            _tune_sqlite(engine, durability)
            return engine
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise UserError(f"cannot use the database URL {redact(url)}: {exc}") from None


def _private_file(path: Path) -> None:
    """Make the SQLite file exist with mode 0600 before SQLite opens it.

    SQLite creates the ``-wal`` and ``-shm`` files with the database file's permissions, so a
    0600 database keeps its journal private too. An existing file is tightened as well: a bot's
    database holds its orders, balances and audit trail.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    private = stat.S_IRUSR | stat.S_IWUSR
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, private))
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(private)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists() and stat.S_IMODE(companion.stat().st_mode) & 0o077:
            companion.chmod(private)


def _tune_sqlite(engine: Engine, durability: Durability) -> None:
    synchronous = "FULL" if durability == "full" else "NORMAL"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Another process (an operator query, a backup) may hold the lock for a moment.
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that migrates ``engine`` with the shipped scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The latest revision of the shipped migrations."""
    script = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://")))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("the shipped migrations have no head revision")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (the latest by default).

    Raises
    ------
    UserError
        When the database cannot be reached.
    """
    # Alembic announces every step at INFO; the command prints the outcome itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        raise UserError(
            f"cannot migrate {redact(str(engine.url))}: {exc.orig or exc}".strip()
        ) from None


def open_database(url: str, *, durability: Durability = "normal", create: bool = False) -> Engine:
    """An engine on a database at the latest schema revision.

    ``create=True`` migrates a database that has never been migrated (a bot's own fresh SQLite
    file); any other database behind the latest revision is refused, naming ``tradewind db
    upgrade``, so a schema change is always a deliberate step.

    Raises
    ------
    UserError
        When the database is unreachable, was never migrated, or is behind the code.
    """
    engine = make_engine(url, durability=durability)
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise UserError(f"cannot open the database {redact(url)}: {exc.orig or exc}") from None
    head = head_revision()
    if current == head:
        return engine
    if current is None and create:
        upgrade(engine)
        return engine
    if current is None:
        raise UserError(
            f"the database {redact(url)} has no Tradewind schema; run `tradewind db upgrade "
            "--db-url URL` first"
        )
    raise UserError(
        f"the database {redact(url)} is at schema revision {current}, this version needs {head}; "
        "back it up (`tradewind db backup`) and run `tradewind db upgrade`"
    )
