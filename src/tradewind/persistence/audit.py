"""Operator actions and decisions, HMAC-chained so that an edited, inserted or deleted row shows.

Each row's ``hash`` is HMAC-SHA256, under a key only the keystore holds, over the previous row's
``hash`` and the row's own fields (canonical JSON). Without the key nobody can write a row that
verifies, so changing, inserting, removing or reordering any row breaks the chain at that row.
A chain head (row count, last id, last HMAC, itself HMAC'd) is updated in the same transaction, so
cutting rows off the end, which leaves a perfectly valid shorter chain, shows too.

The control facade, API and Telegram write here through :func:`append_operator_action` inside the
transaction of what they record; the order path (orders, fills, risk denials and breaker trips)
through :class:`CursorAppender` inside its own; :func:`verify_chain` checks it all
(``tradewind audit verify``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, bindparam, insert, select, update

from tradewind.persistence.hot_path import Statement, sqlite_time
from tradewind.persistence.models import AuditChainHeadRow, OperatorActionRow

GENESIS = "0" * 64
_ACTION_COLUMNS = ("id", "bot_id", "at", "actor", "channel", "action", "detail", "outcome",
                   "previous_hash", "hash")  # fmt: skip
_HEAD_COLUMNS = ("id", "row_count", "last_id", "last_hash", "mac")
_ACTIONS = OperatorActionRow.__table__
_HEAD = AuditChainHeadRow.__table__
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChainHead:
    """The chain's length and its last row's HMAC: what the log and every heartbeat carry."""

    row_count: int
    last_id: int
    last_hash: str


@dataclass(frozen=True)
class ChainReport:
    """The outcome of :func:`verify_chain`: ``problem`` is None when the chain is intact."""

    rows: int
    problem: str | None = None
    row_id: int | None = None

    @property
    def ok(self) -> bool:
        """Whether every row and the head verified."""
        return self.problem is None


def _mac(key: bytes, previous: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, f"{previous}\n{payload}".encode(), hashlib.sha256).hexdigest()


def _head_mac(key: bytes, row_count: int, last_id: int, last_hash: str) -> str:
    text = f"head\n{row_count}\n{last_id}\n{last_hash}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _fields(row: Any) -> dict[str, Any]:
    return {
        "bot_id": row.bot_id,
        "at": row.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": row.actor,
        "channel": row.channel,
        "action": row.action,
        "detail": row.detail,
        "outcome": row.outcome,
    }


def _check_key(key: bytes) -> None:
    if len(key) < 16:
        raise ValueError("the audit key must be at least 16 bytes (take it from the keystore)")


@dataclass(frozen=True)
class _Row:
    bot_id: int | None
    at: datetime
    actor: str
    channel: str
    action: str
    detail: str
    outcome: str


def append_operator_action(
    connection: Connection,
    key: bytes,
    *,
    actor: str,
    channel: str,
    action: str,
    detail: dict[str, Any] | None = None,
    outcome: str = "",
    bot_id: int | None = None,
    at: datetime | None = None,
) -> ChainHead:
    """Append one action to the chain inside the caller's transaction; returns the new head.

    ``detail`` must not hold secrets: it is stored as it is given.
    """
    _check_key(key)
    row = _Row(bot_id, at or datetime.now(UTC), actor, channel, action,
               json.dumps(detail or {}, sort_keys=True, default=str), outcome)  # fmt: skip
    # Lock the head first: concurrent writers on PostgreSQL queue here instead of forking the chain.
    head = connection.execute(select(_HEAD).where(_HEAD.c.id == 1).with_for_update()).first()
    last = connection.execute(
        select(_ACTIONS.c.id, _ACTIONS.c.hash).order_by(_ACTIONS.c.id.desc()).limit(1)
    ).first()
    previous = GENESIS if last is None else str(last.hash)
    digest = _mac(key, previous, _fields(row))
    new_id = 1 if last is None else int(last.id) + 1
    connection.execute(
        insert(_ACTIONS),
        {"id": new_id, "bot_id": row.bot_id, "at": row.at, "actor": actor, "channel": channel,
         "action": action, "detail": row.detail, "outcome": outcome, "previous_hash": previous,
         "hash": digest},
    )  # fmt: skip
    count = 1 if head is None else int(head.row_count) + 1
    values = {"row_count": count, "last_id": new_id, "last_hash": digest,
              "mac": _head_mac(key, count, new_id, digest)}  # fmt: skip
    if head is None:
        connection.execute(insert(_HEAD), {"id": 1, **values})
    else:
        connection.execute(update(_HEAD).where(_HEAD.c.id == 1).values(**values))
    _log.info("audit chain head: %d rows, last id %d, last hmac %s", count, new_id, digest)
    return ChainHead(count, new_id, digest)


class CursorAppender:
    """Appends to the chain on a DBAPI cursor, inside the transaction the caller commits.

    The order path writes on the driver's own connection (see :mod:`hot_path`); its decisions
    (an order, a fill) are chained in the very transaction that stores them, so neither can be
    stored without its audit row, nor the reverse. Same rows, same HMACs as
    :func:`append_operator_action`.
    """

    def __init__(self, dialect: Dialect, key: bytes) -> None:
        _check_key(key)
        self.key = key
        self.sqlite = dialect.name == "sqlite"
        # Lock the head first (as append_operator_action does; SQLite compiles no FOR UPDATE,
        # having one writer at a time already).
        head = select(_HEAD.c.row_count).where(_HEAD.c.id == 1).with_for_update()
        last = select(_ACTIONS.c.id, _ACTIONS.c.hash).order_by(_ACTIONS.c.id.desc()).limit(1)
        literal = {"literal_binds": True}
        self._head_sql = str(head.compile(dialect=dialect, compile_kwargs=literal))
        self._last_sql = str(last.compile(dialect=dialect, compile_kwargs=literal))
        self._insert = Statement(insert(_ACTIONS), dialect, _ACTION_COLUMNS)
        self._insert_head = Statement(insert(_HEAD), dialect, _HEAD_COLUMNS)
        self._update_head = Statement(
            update(_HEAD)
            .where(_HEAD.c.id == bindparam("head_id"))
            .values(row_count=bindparam("row_count"), last_id=bindparam("last_id"),
                    last_hash=bindparam("last_hash"), mac=bindparam("mac")),
            dialect,
        )  # fmt: skip

    def append(self, cursor: Any, *, actor: str, channel: str, action: str,
               detail: dict[str, Any], at: datetime, bot_id: int | None) -> ChainHead:  # fmt: skip
        """Append one row with ``cursor`` (no commit: the caller's transaction holds it)."""
        row = _Row(bot_id, at, actor, channel, action,
                   json.dumps(detail, sort_keys=True, default=str), "")  # fmt: skip
        cursor.execute(self._head_sql)
        head = cursor.fetchone()
        cursor.execute(self._last_sql)
        last = cursor.fetchone()
        previous = GENESIS if last is None else str(last[1])
        digest = _mac(self.key, previous, _fields(row))
        new_id = 1 if last is None else int(last[0]) + 1
        stored_at = sqlite_time(at) if self.sqlite else at
        values = {"id": new_id, "bot_id": bot_id, "at": stored_at, "actor": actor,
                  "channel": channel, "action": action, "detail": row.detail, "outcome": "",
                  "previous_hash": previous, "hash": digest}  # fmt: skip
        cursor.execute(self._insert.sql, self._insert.params(values))
        count = 1 if head is None else int(head[0]) + 1
        mac = _head_mac(self.key, count, new_id, digest)
        if head is None:
            head_values = {"id": 1, "row_count": count, "last_id": new_id, "last_hash": digest,
                           "mac": mac}  # fmt: skip
            cursor.execute(self._insert_head.sql, self._insert_head.params(head_values))
        else:
            head_values = {"head_id": 1, "row_count": count, "last_id": new_id,
                           "last_hash": digest, "mac": mac}  # fmt: skip
            cursor.execute(self._update_head.sql, self._update_head.params(head_values))
        return ChainHead(count, new_id, digest)


def record_operator_action(engine: Engine, key: bytes, **fields: Any) -> ChainHead:
    """Append one action in a transaction of its own (see :func:`append_operator_action`)."""
    with engine.begin() as connection:
        return append_operator_action(connection, key, **fields)


def chain_head(engine: Engine) -> ChainHead | None:
    """The recorded head, or None before the first row."""
    with engine.connect() as connection:
        head = connection.execute(select(_HEAD).where(_HEAD.c.id == 1)).first()
    if head is None:
        return None
    return ChainHead(int(head.row_count), int(head.last_id), str(head.last_hash))


def verify_chain(engine: Engine, key: bytes) -> ChainReport:
    """Check every row and the head; the report names the first row that breaks the chain.

    A row whose HMAC does not verify was inserted (when the next row chains over it to the row
    before) or edited; a row that verifies but chains to something other than the row before it
    follows deleted rows; a head that records more rows than there are means a cut tail.
    """
    _check_key(key)
    with engine.connect() as connection:
        rows = list(connection.execute(select(_ACTIONS).order_by(_ACTIONS.c.id)))
        head = connection.execute(select(_HEAD).where(_HEAD.c.id == 1)).first()
    previous = GENESIS
    for index, row in enumerate(rows):
        following = rows[index + 1] if index + 1 < len(rows) else None
        self_consistent = hmac.compare_digest(_mac(key, row.previous_hash, _fields(row)), row.hash)
        if self_consistent and row.previous_hash == previous:
            previous = row.hash
            continue
        row_id = int(row.id)
        if not self_consistent:
            if following is not None and following.previous_hash == previous:
                return ChainReport(len(rows), f"row {row_id} was inserted: the next row chains "
                                   "over it to the row before", row_id)  # fmt: skip
            return ChainReport(len(rows), f"row {row_id} was edited: its HMAC does not match "
                               "its contents", row_id)  # fmt: skip
        return ChainReport(len(rows), f"rows were deleted before row {row_id}: it chains to a row "
                           "that is no longer there", row_id)  # fmt: skip
    return _check_head(key, rows, head, previous)


def _check_head(key: bytes, rows: list[Any], head: Any, last_hash: str) -> ChainReport:
    count = len(rows)
    if head is None:
        if count:
            return ChainReport(count, "the chain head is missing (deleted?) while rows exist")
        return ChainReport(0)
    expected = _head_mac(key, int(head.row_count), int(head.last_id), str(head.last_hash))
    if not hmac.compare_digest(expected, head.mac):
        return ChainReport(count, "the chain head was edited: its HMAC does not match")
    if int(head.row_count) > count or (count and int(rows[-1].id) < int(head.last_id)):
        missing = int(head.row_count) - count
        return ChainReport(count, f"the tail was truncated: the head records {head.row_count} rows "
                           f"ending at row {head.last_id}, {missing} are missing",
                           int(head.last_id))  # fmt: skip
    if int(head.row_count) < count:
        extra = int(rows[int(head.row_count)].id)
        return ChainReport(count, f"row {extra} was appended outside the chain: the head records "
                           f"only {head.row_count} rows", extra)  # fmt: skip
    if head.last_hash != last_hash:
        return ChainReport(count, "the chain head does not match the last row")
    return ChainReport(count)
