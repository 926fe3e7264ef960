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

Such an ambiguous answer may still *name* a state of the exchange (:class:`Condition`): rate
limited (HTTP 429), IP banned (HTTP 418), or busy / in maintenance (``-1008``, ccxt
``OnMaintenance``). The order is looked up all the same; the condition tells the caller to hold
its requests back (``Retry-After``, or a growing pause) and the operator what happened.
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


class Condition(StrEnum):
    """A state of the exchange an ambiguous failure names: every request should wait."""

    RATE_LIMIT = "rate_limit"
    """HTTP 429: too much request weight; ``Retry-After`` says how long to wait."""
    IP_BAN = "ip_ban"
    """HTTP 418: the IP is banned for ignoring 429s, until ``Retry-After``."""
    MAINTENANCE = "maintenance"
    """The exchange is overloaded or in maintenance (``-1008``, ``OnMaintenance``)."""


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
    condition: Condition | None = None
    """The exchange's state an ambiguous failure names (None: it names none)."""

    @property
    def reason(self) -> str:
        """``<refusal>: <message>`` for a refusal, ``<condition>: <message>`` for a named
        ambiguous failure, the message otherwise."""
        if self.refusal is not None:
            return f"{self.refusal}: {self.message}"
        if self.condition is not None:
            return f"{self.condition}: {self.message}"
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
        return CommandFailure(Outcome.AMBIGUOUS, None, message, _condition(exc, message))
    return CommandFailure(Outcome.REFUSED, _refusal(exc, message), message)


def _condition(exc: BaseException, message: str) -> Condition | None:
    if isinstance(exc, ccxt.DDoSProtection):
        # ccxt raises DDoSProtection for both 429 and 418; its message carries the status.
        banned = " 418 " in f" {message} " or "banned" in message.lower()
        return Condition.IP_BAN if banned else Condition.RATE_LIMIT
    if isinstance(exc, ccxt.OnMaintenance) or "-1008" in message:
        return Condition.MAINTENANCE
    return None


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
