"""Backup and restore: SQLite's online backup API, ``pg_dump``/``pg_restore`` for PostgreSQL.

SQLite's backup API copies a consistent snapshot page by page while the bot keeps writing (WAL
readers do not block the writer), so a backup needs no downtime. A restore overwrites the live
database with the backup's pages; stop the bot first. PostgreSQL goes through the server's own
tools in their custom format, so a restore recreates exactly what was dumped.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from tradewind.core.errors import UserError
from tradewind.persistence.engine import redact


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise UserError(f"cannot use the database URL {redact(url)}: {exc}") from None


def _sqlite_path(url: str) -> Path | None:
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise UserError("an in-memory SQLite database cannot be backed up or restored")
    return Path(parsed.database)


def _libpq_url(url: str) -> str:
    """The URL the PostgreSQL command-line tools understand (no SQLAlchemy driver suffix)."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "postgresql":
        raise UserError(f"backups support SQLite and PostgreSQL, not {parsed.get_backend_name()}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise UserError(
            f"{name} is not installed; install the PostgreSQL client tools (Debian: "
            "postgresql-client) matching the server's version"
        )
    return found


def _check_tradewind(connection: sqlite3.Connection, path: Path) -> None:
    try:
        found = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path} is not a SQLite database: {exc}") from None
    if not found or not found[0]:
        raise UserError(f"{path} is not a Tradewind database (it has no schema revision)")


def backup(url: str, target: Path) -> Path:
    """Write a consistent copy of the database at ``url`` to ``target``; returns ``target``.

    Raises
    ------
    UserError
        When the database does not exist, ``target`` exists, or a tool is missing or fails.
    """
    if target.exists():
        raise UserError(f"{target} exists already; choose a new backup file")
    path = _sqlite_path(url)
    if path is not None and not path.is_file():
        raise UserError(f"no database at {path}")
    # The tool and URL are checked before the target exists, so a refusal leaves nothing behind.
    dump: list[str] = []
    if path is None:
        dump = [_tool("pg_dump"), "--format=custom", f"--file={target}", _libpq_url(url)]
    target.parent.mkdir(parents=True, exist_ok=True)
    # A backup holds everything the database does: it is created private (0600) before either
    # SQLite or pg_dump writes into it, and both keep an existing file's mode.
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR))
    if path is not None:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            try:
                _check_tradewind(source, path)
            except UserError:
                target.unlink(missing_ok=True)
                raise
            destination = sqlite3.connect(target)
            try:
                source.backup(destination)
            finally:
                destination.close()
        finally:
            source.close()
        return target
    completed = subprocess.run(
        dump,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        target.unlink(missing_ok=True)
        raise UserError(f"pg_dump of {redact(url)} failed: {completed.stderr.strip()}")
    return target


def restore(url: str, source: Path) -> None:
    """Replace the database at ``url`` with the backup in ``source``.

    Raises
    ------
    UserError
        When the backup is missing or is not a Tradewind backup, or a tool fails.
    """
    if not source.is_file():
        raise UserError(f"no backup file at {source}")
    path = _sqlite_path(url)
    if path is not None:
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            _check_tradewind(backup_db, source)
            path.parent.mkdir(parents=True, exist_ok=True)
            live = sqlite3.connect(path)
            try:
                backup_db.backup(live)
            finally:
                live.close()
        finally:
            backup_db.close()
        return
    completed = subprocess.run(
        [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
         f"--dbname={_libpq_url(url)}", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise UserError(f"pg_restore into {redact(url)} failed: {completed.stderr.strip()}")
