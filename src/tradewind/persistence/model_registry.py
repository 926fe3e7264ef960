"""The model registry: every trained model version, its card, its files' SHA-256, and its stage.

A model name (``btc-direction``) has numbered versions. Registering adds a ``candidate``;
:func:`promote_model` makes one version ``production`` (the one a session loads by name) and
archives the version it replaces; :func:`rollback_model` takes the production version out
(``rolled_back``) and restores the most recently promoted archived one. Each change is one
transaction, so there is never more than one production version of a name.

The files themselves live in a folder beside the database; the row keeps the folder's digest and
each file's digest, which :meth:`RegisteredModel.verify` checks before any load.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tradewind.core.errors import UserError
from tradewind.ml.artifact import ModelCard, make_pin, manifest_digest, verify_folder
from tradewind.persistence.models import ModelRow
from tradewind.persistence.types import to_ms, utc_ms

__all__ = [
    "STAGES",
    "RegisteredModel",
    "check_model_name",
    "model_by_digest",
    "next_version",
    "promote_model",
    "register_model",
    "registered_model",
    "registered_models",
    "rollback_model",
    "rollback_target",
]

STAGES = ("candidate", "production", "archived", "rolled_back")
_MODELS = ModelRow.__table__
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True, kw_only=True)
class RegisteredModel:
    """One registered model version."""

    model_id: int
    name: str
    version: int
    card: ModelCard
    path: Path
    sha256: str
    files: dict[str, str]
    stage: str
    created_ts: int
    promoted_ts: int | None

    @property
    def pin(self) -> str:
        """``PATH#SHA256``, the strategy parameter that loads exactly this version."""
        return make_pin(self.path, self.sha256)

    def verify(self) -> None:
        """Refuse files that changed since registration (ModelIntegrityError naming them)."""
        verify_folder(self.path, self.sha256, self.files)


def check_model_name(name: str) -> str:
    """The name if it is a valid model name (letters, digits, ``_.-``; up to 100)."""
    if not _NAME.fullmatch(name):
        raise UserError(
            f"model name {name!r} must start with a letter or digit and hold only letters, "
            "digits, '_', '.' and '-' (at most 100)"
        )
    return name


def _entry(row: Any) -> RegisteredModel:
    m = row._mapping
    card = ModelCard(
        model_type=m["model_type"], target=m["target"], horizon=int(m["horizon"]),
        features=tuple(json.loads(m["features"])), parameters=json.loads(m["parameters"]),
        symbol=m["symbol"], timeframe=m["timeframe"], data_start_ts=to_ms(m["data_start"]),
        data_end_ts=to_ms(m["data_end"]), data_hash=m["data_hash"],
        code_version=m["code_version"], metrics=json.loads(m["metrics"]),
        monitored=None if m["monitored"] is None else tuple(json.loads(m["monitored"])),
    )  # fmt: skip
    return RegisteredModel(
        model_id=int(m["id"]), name=m["name"], version=int(m["version"]), card=card, path=Path(m["path"]),
        sha256=m["sha256"], files=json.loads(m["files"]), stage=m["stage"],
        created_ts=to_ms(m["created_at"]),
        promoted_ts=None if m["promoted_at"] is None else to_ms(m["promoted_at"]),
    )  # fmt: skip


def next_version(engine: Engine, name: str) -> int:
    """The version number the next registration of ``name`` gets (1 for a new name)."""
    with engine.connect() as connection:
        latest = connection.execute(
            select(func.max(_MODELS.c.version)).where(_MODELS.c.name == name)
        ).scalar()
    return 1 if latest is None else int(latest) + 1


def register_model(
    engine: Engine, *, name: str, version: int, card: ModelCard, folder: Path,
    files: dict[str, str],
) -> RegisteredModel:  # fmt: skip
    """Record a saved model folder (its file digests in ``files``) as a new ``candidate``.

    Raises
    ------
    UserError
        When the name is invalid or that version is already registered.
    """
    check_model_name(name)
    row = {
        "name": name, "version": version, "model_type": card.model_type, "target": card.target,
        "horizon": card.horizon, "features": json.dumps(list(card.features)),
        "parameters": json.dumps(card.parameters, sort_keys=True), "symbol": card.symbol,
        "timeframe": card.timeframe, "data_start": utc_ms(card.data_start_ts),
        "data_end": utc_ms(card.data_end_ts), "data_hash": card.data_hash,
        "code_version": card.code_version[:64],
        "metrics": json.dumps(card.metrics, sort_keys=True),
        "monitored": None if card.monitored is None else json.dumps(list(card.monitored)),
        "path": str(folder),
        "sha256": manifest_digest(files), "files": json.dumps(files, sort_keys=True),
        "stage": "candidate", "created_at": datetime.now(UTC), "promoted_at": None,
    }  # fmt: skip
    try:
        with engine.begin() as connection:
            connection.execute(insert(_MODELS), row)
    except IntegrityError:
        raise UserError(f"model {name} version {version} is already registered") from None
    return registered_model(engine, name, version)


def registered_models(engine: Engine, name: str | None = None) -> list[RegisteredModel]:
    """Every registered version (of ``name``, when given), by name then version."""
    query = select(_MODELS).order_by(_MODELS.c.name, _MODELS.c.version)
    if name is not None:
        query = query.where(_MODELS.c.name == name)
    with engine.connect() as connection:
        return [_entry(r) for r in connection.execute(query)]


def model_by_digest(engine: Engine, sha256: str) -> RegisteredModel | None:
    """The registered version whose files have digest ``sha256`` (a pin's), or None."""
    query = select(_MODELS).where(_MODELS.c.sha256 == sha256).order_by(_MODELS.c.id).limit(1)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else _entry(row)


def _one(connection: Connection, name: str, version: int | None) -> Any:
    query = select(_MODELS).where(_MODELS.c.name == name)
    if version is None:
        query = query.where(_MODELS.c.stage == "production")
    else:
        query = query.where(_MODELS.c.version == version)
    row = connection.execute(query).first()
    if row is not None:
        return row
    known = connection.execute(select(func.count()).where(_MODELS.c.name == name)).scalar()
    if not known:
        raise UserError(f"no model named {name!r} is registered (`tradewind ml list` shows them)")
    if version is None:
        raise UserError(f"model {name!r} has no production version: promote one first")
    raise UserError(f"model {name!r} has no version {version}")


def registered_model(engine: Engine, name: str, version: int | None = None) -> RegisteredModel:
    """One version of ``name``, or its production version when ``version`` is None."""
    with engine.connect() as connection:
        return _entry(_one(connection, name, version))


def promote_model(engine: Engine, name: str, version: int) -> RegisteredModel:
    """Make ``version`` the production version of ``name``, archiving the one it replaces."""
    with engine.begin() as connection:
        target = _one(connection, name, version)
        if target._mapping["stage"] != "production":
            connection.execute(
                update(_MODELS)
                .where(_MODELS.c.name == name, _MODELS.c.stage == "production")
                .values(stage="archived")
            )
            connection.execute(
                update(_MODELS)
                .where(_MODELS.c.id == target._mapping["id"])
                .values(stage="production", promoted_at=datetime.now(UTC))
            )
    return registered_model(engine, name, version)


def _restorable(connection: Connection, name: str) -> tuple[Any, Any]:
    current = _one(connection, name, None)._mapping
    previous = connection.execute(
        select(_MODELS)
        .where(_MODELS.c.name == name, _MODELS.c.stage == "archived")
        .order_by(_MODELS.c.promoted_at.desc(), _MODELS.c.id.desc())
        .limit(1)
    ).first()
    if previous is None:
        raise UserError(
            f"model {name!r} has nothing to roll back to: version {current['version']} "
            "replaced no earlier production version"
        )
    return current, previous._mapping


def rollback_target(engine: Engine, name: str) -> RegisteredModel:
    """The version a rollback of ``name`` would restore (UserError when there is none)."""
    with engine.connect() as connection:
        _, previous = _restorable(connection, name)
    return registered_model(engine, name, int(previous["version"]))


def rollback_model(engine: Engine, name: str) -> tuple[RegisteredModel, RegisteredModel]:
    """Take the production version of ``name`` out and restore the last one it replaced.

    Returns ``(removed, restored)``.

    Raises
    ------
    UserError
        When ``name`` has no production version, or none was ever replaced.
    """
    with engine.begin() as connection:
        current, previous = _restorable(connection, name)
        connection.execute(
            update(_MODELS).where(_MODELS.c.id == current["id"]).values(stage="rolled_back")
        )
        connection.execute(
            update(_MODELS)
            .where(_MODELS.c.id == previous["id"])
            .values(stage="production", promoted_at=datetime.now(UTC))
        )
    return (
        registered_model(engine, name, int(current["version"])),
        registered_model(engine, name, int(previous["version"])),
    )
