"""Operator API tokens in the bot's database: only a SHA-256 of each token is stored.

A token is 32 random bytes (URL-safe text), so a plain SHA-256 is enough to make the stored value
useless to a reader of the database; the plain token is shown once, when it is issued.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update

from tradewind.core.errors import UserError
from tradewind.persistence.models import ApiTokenRow

SCOPES = ("read", "trade", "admin")
"""Scopes in rising power: ``trade`` includes ``read``, ``admin`` includes both."""
_TOKENS = ApiTokenRow.__table__


@dataclass(frozen=True)
class TokenGrant:
    """What a valid token allows: its row id, name and scopes."""

    token_id: int
    name: str
    scopes: frozenset[str]


def token_digest(token: str) -> str:
    """The stored form of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    engine: Engine,
    *,
    name: str,
    scopes: list[str],
    bot_id: int | None = None,
    ttl: timedelta | None = None,
    token: str | None = None,
    now: datetime | None = None,
) -> str:
    """Store a new token (``token`` when given, else a random one) and return it in plain.

    Raises
    ------
    UserError
        When a scope is unknown, no scope is given, or the name is empty.
    """
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise UserError(f"token scopes must be some of {', '.join(SCOPES)}, got {scopes!r}")
    if not name:
        raise UserError("a token needs a name (who holds it)")
    plain = token or secrets.token_urlsafe(32)
    if len(plain) < 16:
        raise UserError("a token must be at least 16 characters")
    at = now or datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(_TOKENS),
            {"bot_id": bot_id, "name": name, "token_hash": token_digest(plain),
             "scopes": " ".join(sorted(set(scopes))), "created_at": at,
             "expires_at": None if ttl is None else at + ttl},
        )  # fmt: skip
    return plain


def check_token(engine: Engine, token: str, now: datetime | None = None) -> TokenGrant | None:
    """The grant of ``token``, or None when it is unknown, revoked or expired."""
    with engine.connect() as connection:
        row = connection.execute(
            select(_TOKENS).where(_TOKENS.c.token_hash == token_digest(token))
        ).first()
    return _grant(row, now)


def check_token_id(engine: Engine, token_id: int, now: datetime | None = None) -> TokenGrant | None:
    """The grant of the token stored as ``token_id`` (a login session holds the id, not the
    token), or None when it is unknown, revoked or expired."""
    with engine.connect() as connection:
        row = connection.execute(select(_TOKENS).where(_TOKENS.c.id == token_id)).first()
    return _grant(row, now)


def _grant(row: Any, now: datetime | None) -> TokenGrant | None:
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= (now or datetime.now(UTC)):
        return None
    return TokenGrant(int(row.id), str(row.name), frozenset(str(row.scopes).split()))


def revoke_token(engine: Engine, name: str, now: datetime | None = None) -> int:
    """Revoke every live token called ``name``; returns how many."""
    with engine.begin() as connection:
        result = connection.execute(
            update(_TOKENS)
            .where(_TOKENS.c.name == name, _TOKENS.c.revoked_at.is_(None))
            .values(revoked_at=now or datetime.now(UTC))
        )
    return int(result.rowcount)
