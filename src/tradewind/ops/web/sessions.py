"""Dashboard logins: a token is swapped once for a session cookie and a CSRF token.

The cookie is ``HttpOnly`` (page scripts cannot read it) and ``SameSite=Strict`` (no other site's
page sends it); the session holds the token's row id, never the token, so every request re-checks
that the token is still valid (a revoked or expired token ends its sessions at once). Requests that
change state must also carry the session's CSRF token in the ``X-CSRF-Token`` header (a
synchronizer token: the page gets it from the login answer or ``/dashboard/session`` and keeps it
in memory only). Sessions live in the trading process's memory: a restart logs everyone out.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

__all__ = ["CSRF_HEADER", "SAFE_METHODS", "LoginSession", "SessionStore", "cookie_name"]

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing, so need no CSRF token."""


@dataclass
class LoginSession:
    """One browser's login: the token it was opened with (by row id) and its CSRF token."""

    token_id: int
    csrf: str = field(repr=False)
    expires: float
    """When it ends (``time.monotonic()`` seconds)."""


def cookie_name(bot: str) -> str:
    """The session cookie's name for ``bot``. Browsers share a host's cookies across ports, and
    each bot serves its API on its own port of 127.0.0.1: one name per bot keeps a login to one
    bot from replacing the login to another."""
    return "tradewind_session_" + re.sub(r"[^A-Za-z0-9_-]", "_", bot)


def _key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class SessionStore:
    """The open logins of one bot, carried by the cookie called ``cookie`` and ended after
    ``ttl_s`` seconds; at most ``capacity`` are kept (the oldest is dropped first)."""

    def __init__(
        self, cookie: str = "tradewind_session", *, ttl_s: float = 8 * 3600.0, capacity: int = 1000
    ) -> None:
        self.cookie = cookie
        self.ttl_s = ttl_s
        self.capacity = capacity
        self._sessions: OrderedDict[str, LoginSession] = OrderedDict()

    def open(self, token_id: int) -> tuple[str, LoginSession]:
        """A new session for the token stored as ``token_id``: the cookie value and the session."""
        cookie = secrets.token_urlsafe(32)
        session = LoginSession(token_id, secrets.token_urlsafe(32), time.monotonic() + self.ttl_s)
        self._sessions[_key(cookie)] = session
        while len(self._sessions) > self.capacity:
            self._sessions.popitem(last=False)
        return cookie, session

    def find(self, cookie: str) -> LoginSession | None:
        """The live session of ``cookie`` (None when unknown or ended)."""
        key = _key(cookie)
        session = self._sessions.get(key)
        if session is not None and session.expires <= time.monotonic():
            del self._sessions[key]
            return None
        return session

    def close(self, cookie: str) -> None:
        """End the session of ``cookie`` (logout)."""
        self._sessions.pop(_key(cookie), None)

    @staticmethod
    def csrf_ok(session: LoginSession, sent: str | None) -> bool:
        """Whether ``sent`` is the session's CSRF token (compared in constant time)."""
        return sent is not None and secrets.compare_digest(sent.encode(), session.csrf.encode())

    def __len__(self) -> int:
        return len(self._sessions)
