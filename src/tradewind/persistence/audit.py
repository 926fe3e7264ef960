"""Operator actions and decisions, hash-chained so that an edited or deleted row shows.

Each row's hash is SHA-256 over the previous row's hash and the row's own fields (canonical JSON),
so the chain verifies from the first row to the last; changing, removing or reordering any row
breaks it from that row on. The operations and security work (control facade, API, Telegram)
write here; :func:`verify_chain` checks it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from tradewind.persistence.models import OperatorActionRow

GENESIS = "0" * 64
_ACTIONS = OperatorActionRow.__table__


def _digest(previous: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{previous}\n{payload}".encode()).hexdigest()


def _fields(
    bot_id: int | None,
    at: datetime,
    actor: str,
    channel: str,
    action: str,
    detail: str,
    outcome: str,
) -> dict[str, Any]:
    return {
        "bot_id": bot_id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "channel": channel,
        "action": action,
        "detail": detail,
        "outcome": outcome,
    }


def record_operator_action(
    engine: Engine,
    *,
    actor: str,
    channel: str,
    action: str,
    detail: dict[str, Any] | None = None,
    outcome: str = "",
    bot_id: int | None = None,
    at: datetime | None = None,
) -> str:
    """Append one action to the chain; returns its hash.

    ``detail`` must not hold secrets: it is stored as it is given.
    """
    when = at or datetime.now(UTC)
    text = json.dumps(detail or {}, sort_keys=True, default=str)
    with engine.begin() as connection:
        previous = connection.execute(
            select(_ACTIONS.c.hash).order_by(_ACTIONS.c.id.desc()).limit(1)
        ).scalar()
        previous = previous or GENESIS
        digest = _digest(previous, _fields(bot_id, when, actor, channel, action, text, outcome))
        connection.execute(
            insert(_ACTIONS),
            {
                "bot_id": bot_id,
                "at": when,
                "actor": actor,
                "channel": channel,
                "action": action,
                "detail": text,
                "outcome": outcome,
                "previous_hash": previous,
                "hash": digest,
            },
        )
    return digest


def verify_chain(engine: Engine) -> int | None:
    """The id of the first row whose hash does not follow from the rows before it, or None."""
    previous = GENESIS
    with engine.connect() as connection:
        for row in connection.execute(select(_ACTIONS).order_by(_ACTIONS.c.id)):
            fields = _fields(row.bot_id, row.at, row.actor, row.channel, row.action, row.detail,
                             row.outcome)  # fmt: skip
            if row.previous_hash != previous or row.hash != _digest(previous, fields):
                return int(row.id)
            previous = row.hash
    return None
