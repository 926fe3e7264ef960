"""Where a study lives: SQLite in the run directory by default, memory, or any RDB URL.

A PostgreSQL URL (``postgresql://user@host/db``) lets any number of workers on any number of
machines join one study through Optuna's RDB storage; SQLAlchemy's default PostgreSQL driver is
psycopg (v3), installed with tradewind. Each trial's per-period returns travel with the trial (a
user attribute), so a study read back from shared storage has everything the overfitting
statistics need, whichever worker ran the trial.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import optuna
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from tradewind.core.errors import UserError

MEMORY = "memory"


@dataclass(frozen=True)
class StudyStorage:
    """A resolved storage: the Optuna object (None: in memory), its URL, and whether several
    processes may share it (samplers then coordinate through it)."""

    storage: optuna.storages.BaseStorage | None
    url: str
    shared: bool


def resolve_storage(spec: str | None, run_dir: Path | None) -> StudyStorage:
    """Turn ``--storage`` into a storage.

    Parameters
    ----------
    spec
        ``None`` (SQLite file ``study.db`` in ``run_dir``), ``"memory"``, ``sqlite:///path``, or
        any SQLAlchemy URL Optuna's RDB storage accepts (``postgresql://user@host:5432/db``).
    run_dir
        The run directory (needed for the default).

    Raises
    ------
    UserError
        When the database cannot be reached or the URL is malformed.
    """
    if spec == MEMORY:
        return StudyStorage(None, MEMORY, shared=False)
    if spec is None:
        if run_dir is None:
            return StudyStorage(None, MEMORY, shared=False)
        run_dir.mkdir(parents=True, exist_ok=True)
        spec = f"sqlite:///{(run_dir / 'study.db').resolve()}"
    if "://" not in spec:
        raise UserError(
            f"--storage must be 'memory' or a database URL such as sqlite:///study.db or "
            f"postgresql://user@host:5432/db, got {spec!r}"
        )
    try:
        storage = _open_rdb(spec)
    except (
        SQLAlchemyError,
        ImportError,
        ValueError,
        optuna.exceptions.StorageInternalError,
    ) as exc:
        raise UserError(f"cannot open the study storage {_redact(spec)}: {exc}") from None
    if spec.startswith("sqlite"):
        _tune_sqlite(storage)
    return StudyStorage(storage, _redact(spec), shared=not spec.startswith("sqlite"))


# Any fixed 64-bit key: it names "Optuna schema creation" among this database's advisory locks.
_SCHEMA_LOCK_KEY = 0x7457_4F50_5455_4E41


def _open_rdb(url: str) -> optuna.storages.RDBStorage:
    """Open Optuna's RDB storage, creating its schema at most once at a time on PostgreSQL.

    Workers started together on an empty database would each create Optuna's tables and enum
    types; the loser fails on a duplicate type. A session-level advisory lock serialises the
    creation, so the second worker finds the schema made and only joins the study.
    """
    kwargs = _engine_kwargs(url)
    if not url.startswith("postgresql"):
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    engine = create_engine(url, **kwargs)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            try:
                return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK_KEY}
                )
    finally:
        engine.dispose()


def _engine_kwargs(url: str) -> dict[str, Any]:
    if url.startswith("postgresql"):
        # Fail in seconds, not minutes, when the server is down.
        return {"connect_args": {"connect_timeout": 5}, "pool_pre_ping": True}
    return {}


def _tune_sqlite(storage: optuna.storages.RDBStorage) -> None:
    # WAL lets readers (a report, another worker) in while one writes; synchronous=NORMAL keeps
    # the file consistent after an application crash without a disk flush per trial.
    @event.listens_for(storage.engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    storage.engine.dispose()


def _redact(url: str) -> str:
    """The URL without its password, for messages and reports."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}" if ":" in credentials else url


def encode_returns(returns: npt.NDArray[np.float64]) -> str:
    """Per-period returns as compact text (float32, base64) for a trial attribute."""
    return base64.b64encode(np.asarray(returns, dtype="<f4").tobytes()).decode("ascii")


def decode_returns(text: str) -> npt.NDArray[np.float64]:
    """Inverse of :func:`encode_returns`."""
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float64)
