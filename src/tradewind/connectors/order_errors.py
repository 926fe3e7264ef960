"""What a failed order command means: refused (with a named cause), not found, or ambiguous.

An order command that raised is one of three things, and only the first two are answers:

- **refused**: the exchange read the request and said no (a ccxt ``ExchangeError`` other than
  "not found"); the order does not exist. The cause is named (:class:`Refusal`) so the engine
  and the operator see *insufficient funds* or *filter*, not a stack of exception classes.
- **not found**: the exchange says it has no such order (``OrderNotFound``): a cancel of an
  order that already ended, or a lookup before the order became visible.
- **ambiguous**: no answer that proves anything (timeouts, 5xx, a dropped connection, a
  rate-limit or maintenance answer to a request that may have been processed first, ``-1007``
  "execution status unknown"). The order may or may not exist: the caller must look it up by its
  client id and never send it again (reliability-anchors.md, requirements 2 and 3).

Facts from ``ccxt-loopback.md``: ``RequestTimeout``, ``ExchangeNotAvailable`` and
``OperationFailed`` (``-1001``, ``-1008``) are all under ``OperationFailed``; HTTP 429/418 raise
``DDoSProtection`` (P9), which is a ``NetworkError`` and therefore ambiguous here: Binance refuses
a rate-limited request before processing it, but a rate-limit answer from a proxy in front of the
matching engine proves nothing, so the order is looked up rather than assumed absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import ccxt

from tradewind.connectors.errors import redact


class Refusal(StrEnum):
    """Why the exchange refused an order command (the named event the engine records)."""

    INSUFFICIENT_FUNDS = "insufficient_funds"
    FILTER = "filter"
    """Price, lot size, notional or another exchange filter."""
    WOULD_TAKE = "would_take"
    """A post-only order would have taken liquidity."""
    RATE_LIMIT = "rate_limit"
    AUTH = "auth"
    MAINTENANCE = "maintenance"
    CLOCK = "clock"
    """The request's timestamp was outside the receive window (Binance ``-1021``)."""
    BAD_SYMBOL = "bad_symbol"
    OTHER = "other"


class Outcome(StrEnum):
    """What a failed command proves."""

    REFUSED = "refused"
    NOT_FOUND = "not_found"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True, slots=True)
class CommandFailure:
    """A classified failure of one order command."""

    outcome: Outcome
    refusal: Refusal | None
    message: str
    """The exchange's own words (secrets redacted), one line."""

    @property
    def reason(self) -> str:
        """``<refusal>: <message>`` for a refusal, the message otherwise."""
        if self.refusal is not None:
            return f"{self.refusal}: {self.message}"
        return self.message


def classify_command_failure(
    exc: BaseException, secrets: list[str] | None = None
) -> CommandFailure:
    """Classify an exception raised by ``create_order``, ``cancel_order`` or ``fetch_order``.

    Any exception that is not a ccxt exchange answer (an unexpected error inside the client, a
    cancelled request) is ambiguous too: only a refusal the exchange stated rejects an order.
    """
    message = redact(" ".join(str(exc).split()), secrets or [])[:300]
    if isinstance(exc, ccxt.InvalidNonce):
        # -1021: our clock is off; the request was refused before processing.
        return CommandFailure(Outcome.REFUSED, Refusal.CLOCK, message)
    if isinstance(exc, ccxt.OrderNotFound):
        return CommandFailure(Outcome.NOT_FOUND, None, message)
    if isinstance(exc, ccxt.OperationFailed) or not isinstance(exc, ccxt.BaseError):
        return CommandFailure(Outcome.AMBIGUOUS, None, message)
    return CommandFailure(Outcome.REFUSED, _refusal(exc, message), message)


def _refusal(exc: BaseException, message: str) -> Refusal:
    if isinstance(exc, ccxt.InsufficientFunds):
        return Refusal.INSUFFICIENT_FUNDS
    if isinstance(exc, ccxt.OrderImmediatelyFillable):
        return Refusal.WOULD_TAKE
    if isinstance(exc, ccxt.AuthenticationError):
        return Refusal.AUTH
    if isinstance(exc, ccxt.RateLimitExceeded):
        return Refusal.RATE_LIMIT
    if isinstance(exc, ccxt.OnMaintenance):
        return Refusal.MAINTENANCE
    if isinstance(exc, ccxt.BadSymbol):
        return Refusal.BAD_SYMBOL
    if "Filter failure" in message or isinstance(exc, ccxt.InvalidOrder | ccxt.BadRequest):
        return Refusal.FILTER
    return Refusal.OTHER
