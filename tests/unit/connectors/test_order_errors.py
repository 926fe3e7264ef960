"""Order command failures classified from Binance's own error answers, mapped to exceptions by
the real ccxt client (its error tables), the way a live order meets them."""

from __future__ import annotations

import json

import ccxt
import pytest

from tradewind.connectors.order_errors import (
    Condition,
    Outcome,
    Refusal,
    classify_command_failure,
)

_URL = "https://api.binance.com/api/v3/order"


def _raised(status: int, code: int, msg: str) -> BaseException:
    """The exception ccxt's Binance client raises for this answer."""
    client = ccxt.binance()
    body = json.dumps({"code": code, "msg": msg})
    try:
        client.handle_errors(status, "", _URL, "POST", {}, body, json.loads(body), None, None)
        client.handle_http_status_code(status, "", _URL, "POST", body)
    except ccxt.BaseError as exc:
        return exc
    raise AssertionError(f"ccxt raised nothing for {status} {code}")


@pytest.mark.parametrize(
    ("status", "code", "msg", "refusal"),
    [
        (400, -2010, "Account has insufficient balance for requested action.",
         Refusal.INSUFFICIENT_FUNDS),
        (400, -1013, "Filter failure: LOT_SIZE", Refusal.FILTER),
        (400, -2010, "Order would immediately match and take.", Refusal.WOULD_TAKE),
        (400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.",
         Refusal.CLOCK),
        (401, -2015, "Invalid API-key, IP, or permissions for action.", Refusal.AUTH),
        (400, -1121, "Invalid symbol.", Refusal.BAD_SYMBOL),
    ],
)  # fmt: skip
def test_a_refusal_is_named(status: int, code: int, msg: str, refusal: Refusal) -> None:
    failure = classify_command_failure(_raised(status, code, msg))
    assert failure.outcome is Outcome.REFUSED
    assert failure.refusal is refusal
    assert failure.reason.startswith(f"{refusal}: ")


def test_not_found_is_its_own_outcome() -> None:
    failure = classify_command_failure(_raised(400, -2013, "Order does not exist."))
    assert failure.outcome is Outcome.NOT_FOUND


@pytest.mark.parametrize(
    "exc",
    [
        _raised(400, -1007, "Timeout waiting for response from backend server. Send status "
                "unknown; execution status unknown."),
        _raised(429, -1003, "Too many requests."),
        ccxt.RequestTimeout("read timeout"),
        ccxt.ExchangeNotAvailable("502 Bad Gateway"),
        ccxt.NetworkError("connection reset"),
        ccxt.OnMaintenance("system maintenance"),
        RuntimeError("unexpected inside the client"),
    ],
)  # fmt: skip
def test_an_answer_that_proves_nothing_is_ambiguous(exc: BaseException) -> None:
    # A rate-limit or maintenance answer may come from a proxy after the order was processed:
    # the order is looked up by client id, never assumed absent.
    failure = classify_command_failure(exc)
    assert failure.outcome is Outcome.AMBIGUOUS
    assert failure.refusal is None


@pytest.mark.parametrize(
    ("exc", "condition"),
    [
        (_raised(429, -1003, "Too much request weight used; current limit is 6000 request "
                 "weight per 1 MINUTE."), Condition.RATE_LIMIT),
        (_raised(418, -1003, "Way too much request weight used; IP banned until 1700000000000."),
         Condition.IP_BAN),
        (_raised(503, -1008, "Server is currently overloaded with other requests."),
         Condition.MAINTENANCE),
        (ccxt.OnMaintenance("binance system maintenance"), Condition.MAINTENANCE),
        (_raised(500, -1001, "Internal error."), None),
        (ccxt.RequestTimeout("read timeout"), None),
    ],
)  # fmt: skip
def test_an_ambiguous_answer_names_the_exchange_s_state(
    exc: BaseException, condition: Condition | None
) -> None:
    # Still ambiguous (looked up, never resent), but named: the caller holds back, the operator
    # reads "rate_limit" or "maintenance", not a stack of exception classes.
    failure = classify_command_failure(exc)
    assert failure.outcome is Outcome.AMBIGUOUS
    assert failure.condition is condition
    if condition is not None:
        assert failure.reason.startswith(f"{condition}: ")


def test_secrets_never_reach_the_message() -> None:
    failure = classify_command_failure(ccxt.InsufficientFunds("binance key=SECRETKEY12 no funds"),
                                       secrets=["SECRETKEY12"])  # fmt: skip
    assert "SECRETKEY12" not in failure.message
