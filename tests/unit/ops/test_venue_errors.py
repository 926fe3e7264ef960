"""The venue-error window: what counts (ccxt's own exceptions, classified), the sliding window,
the single trip, and a policy's checks."""

from __future__ import annotations

import ccxt
import pytest

from tradewind.connectors.order_errors import classify_command_failure
from tradewind.core.errors import UserError
from tradewind.ops.venue_errors import VenueErrorPolicy, VenueErrors


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_only_errors_of_the_venue_count_and_the_window_slides() -> None:
    clock = Clock()
    errors = VenueErrors(VenueErrorPolicy(max_errors=3, window_s=10), clock=clock)
    # One order's business: funds, a filter, an order the exchange does not know.
    for exc in (ccxt.InsufficientFunds("binance {\"code\":-2010}"),
                ccxt.InvalidOrder("binance {\"code\":-1013,\"msg\":\"Filter failure: LOT_SIZE\"}"),
                ccxt.OrderNotFound("binance {\"code\":-2013}")):  # fmt: skip
        errors.failed(classify_command_failure(exc))
    assert errors.total == 0
    errors.failed(classify_command_failure(ccxt.ExchangeNotAvailable("503 Service Unavailable")))
    clock.now += 6
    errors.failed(classify_command_failure(ccxt.RequestTimeout("timed out")))
    assert errors.health()["ok"] is False  # 2 of the 3 that trip: past half
    clock.now += 6  # the first one left the window
    assert errors.recent() == 1
    errors.failed(classify_command_failure(ccxt.DDoSProtection("429 -1003")))
    assert not errors.tripped
    clock.now += 1
    errors.failed(classify_command_failure(ccxt.NetworkError("connection reset")))
    assert errors.tripped
    assert errors.total == 4
    health = errors.health()
    assert health["ok"] is False
    assert health["tripped"] is True
    assert "connection reset" in health["last_error"]
    tripped_at = errors.tripped_at
    clock.now += 100
    errors.failed(classify_command_failure(ccxt.NetworkError("again")))
    assert errors.tripped_at == tripped_at  # trips once


def test_half_the_errors_that_trip_make_the_venue_not_ok() -> None:
    errors = VenueErrors(VenueErrorPolicy(max_errors=4, window_s=60))
    for _ in range(2):
        errors.failed(classify_command_failure(ccxt.ExchangeNotAvailable("503")))
    assert errors.health()["ok"] is True
    errors.failed(classify_command_failure(ccxt.ExchangeNotAvailable("503")))
    assert errors.health()["ok"] is False
    assert not errors.tripped


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("max_errors", 0, "max_errors"), ("window_s", 0, "window_s"),
     ("on_trip", "panic", "stop or flatten"), ("confirm_s", -1, "confirm_s")],
)  # fmt: skip
def test_a_wrong_policy_is_one_clear_line(field: str, value: object, words: str) -> None:
    with pytest.raises(UserError, match=words):
        VenueErrorPolicy(**{field: value})  # type: ignore[arg-type]
