"""Which ccxt exceptions are retried, which become user errors, and redaction."""

from __future__ import annotations

import ccxt
import pytest

from tradewind.connectors.errors import ErrorClass, classify, redact, retry_after_s, user_error


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ccxt.DDoSProtection, ErrorClass.RETRYABLE),  # HTTP 429 and 418
        (ccxt.RateLimitExceeded, ErrorClass.RETRYABLE),
        (ccxt.RequestTimeout, ErrorClass.RETRYABLE),
        (ccxt.ExchangeNotAvailable, ErrorClass.RETRYABLE),
        (ccxt.OnMaintenance, ErrorClass.RETRYABLE),
        (ccxt.OperationFailed, ErrorClass.RETRYABLE),  # Binance -1001 "Please try again."
        (ccxt.BadSymbol, ErrorClass.USER),
        (ccxt.BadRequest, ErrorClass.USER),
        (ccxt.AuthenticationError, ErrorClass.USER),
        (ccxt.PermissionDenied, ErrorClass.USER),
        (ccxt.NotSupported, ErrorClass.USER),
        (ccxt.InvalidOrder, ErrorClass.OTHER),
        (ccxt.ExchangeError, ErrorClass.OTHER),
        (ValueError, ErrorClass.OTHER),
    ],
)
def test_classify(exc: type[Exception], expected: ErrorClass) -> None:
    assert classify(exc("x")) is expected


@pytest.mark.parametrize(
    ("exc", "lead"),
    [
        (ccxt.BadSymbol("binance does not have market symbol X/Y"), "binance has no such market"),
        (ccxt.AuthenticationError("bad key"), "binance rejected the credentials"),
        (ccxt.PermissionDenied("no"), "binance refused: the API key lacks the permission"),
        (ccxt.NotSupported("no sapi"), "binance does not support this request"),
    ],
)
def test_user_errors_are_one_clear_line(exc: Exception, lead: str) -> None:
    message = str(user_error(exc, exchange="binance"))
    assert message.startswith(lead)
    assert "\n" not in message


def test_user_error_messages_are_redacted() -> None:
    exc = ccxt.AuthenticationError('binance {"msg": "Invalid API-key abcd1234efgh"}\nsecond line')
    message = str(user_error(exc, exchange="binance", secrets=["abcd1234efgh"]))
    assert "abcd1234efgh" not in message
    assert "***" in message
    assert "\n" not in message


def test_redact_removes_longest_secret_first() -> None:
    assert redact("key=secret-long secret", ["secret", "secret-long"]) == "key=*** ***"
    assert redact("abc", ["abc"]) == "abc"  # too short to be a secret worth redacting


class _Client:
    def __init__(self, headers: object) -> None:
        self.last_response_headers = headers


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"retry-after": "0"}, 0.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_from_the_last_response(headers: object, expected: float | None) -> None:
    assert retry_after_s(_Client(headers)) == expected
