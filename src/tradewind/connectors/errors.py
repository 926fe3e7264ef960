"""Classify ccxt exceptions: retry it, tell the user, or let it through.

ccxt's hierarchy (4.5): ``OperationFailed`` holds the transient failures, with ``NetworkError``
below it (``DDoSProtection``, ``RateLimitExceeded``, ``ExchangeNotAvailable`` and its
``OnMaintenance``, ``RequestTimeout``, ``InvalidNonce``); ``ExchangeError`` holds what a retry
cannot fix. Facts measured against a loopback Binance (``ccxt-loopback.md``):

- HTTP 429 and 418 raise ``DDoSProtection``, **not** ``RateLimitExceeded`` (the status check runs
  before the ``-1003`` code lookup; P9). Catching ``RateLimitExceeded`` would miss a real 429.
- A 5xx with a plain body is ``ExchangeNotAvailable``; Binance's JSON ``-1001`` ("Internal error;
  ... Please try again.") is ``OperationFailed``, which is why that whole branch is retryable.
- A 404 is ``ExchangeNotAvailable`` too (P7): retried a bounded number of times, never forever.

User errors: ``BadSymbol`` (no such market), ``BadRequest`` (a parameter the exchange refuses,
such as an interval it lacks), ``AuthenticationError`` and its ``PermissionDenied`` /
``AccountSuspended``, ``NotSupported`` (the exchange has no such endpoint), ``ArgumentsRequired``.
They become :class:`~tradewind.core.errors.UserError` with a one-line message.

``Retry-After``: ccxt raises without the response headers, but the synchronous and async clients
keep the last response's headers in ``exchange.last_response_headers``; :func:`retry_after_s`
reads the header from there right after the failure (nothing else runs on the client in between
in the single-threaded download loop).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

import ccxt

from tradewind.core.errors import TradewindError, UserError

REDACTED = "***"


class ErrorClass(StrEnum):
    """What to do about an exception from ccxt."""

    RETRYABLE = "retryable"
    """Transient: back off and try the same request again."""
    USER = "user"
    """The user can fix it (symbol, credentials, parameters): stop with a clear message."""
    OTHER = "other"
    """Neither: an exchange-side refusal or a bug; let it through with its traceback."""


_USER_TYPES: tuple[type[BaseException], ...] = (
    ccxt.BadSymbol,
    ccxt.BadRequest,
    ccxt.AuthenticationError,
    ccxt.NotSupported,
    ccxt.ArgumentsRequired,
)


class RetriesExhaustedError(TradewindError):
    """A request kept failing with transient errors after every allowed retry.

    Attributes
    ----------
    attempts
        Requests made (the first plus the retries).
    last
        The last ccxt exception (its message is already redacted into this one's).
    """

    def __init__(self, message: str, *, attempts: int, last: BaseException) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last = last


def classify(exc: BaseException) -> ErrorClass:
    """Return whether ``exc`` is worth a retry, is the user's to fix, or is something else."""
    if isinstance(exc, ccxt.OperationFailed):
        return ErrorClass.RETRYABLE
    if isinstance(exc, _USER_TYPES):
        return ErrorClass.USER
    return ErrorClass.OTHER


def user_error(exc: BaseException, *, exchange: str, secrets: Iterable[str] = ()) -> UserError:
    """Turn a user-class ccxt exception into a one-line :class:`UserError`.

    The message says what is wrong and what to do; the exchange's own text follows, with any
    secret in ``secrets`` replaced by ``***``.
    """
    detail = redact(_one_line(str(exc)), secrets)
    if isinstance(exc, ccxt.BadSymbol):
        lead = f"{exchange} has no such market"
    elif isinstance(exc, ccxt.PermissionDenied):
        lead = f"{exchange} refused: the API key lacks the permission for this request"
    elif isinstance(exc, ccxt.AuthenticationError):
        lead = f"{exchange} rejected the credentials: check exchange.api_key and exchange.secret"
    elif isinstance(exc, ccxt.NotSupported):
        lead = f"{exchange} does not support this request"
    else:
        lead = f"{exchange} refused the request"
    return UserError(f"{lead} ({detail})")


def retry_after_s(client: Any) -> float | None:
    """Return the ``Retry-After`` of the client's last response in seconds, if it sent one."""
    headers = getattr(client, "last_response_headers", None)
    if not isinstance(headers, Mapping):
        return None
    value = None
    for name, text in headers.items():
        if str(name).lower() == "retry-after":
            value = text
            break
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        # An HTTP date is allowed by the standard; Binance sends seconds, so ignore the rest.
        return None
    return seconds if seconds >= 0 else None


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every non-trivial secret in ``text`` with ``***`` (longest first)."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())
