"""A market context keeps the latest reading of each polled data need (funding, open interest):
read by need, replaced by the need's next reading, carried over to a newer venue snapshot."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.core.market_context import ContextReading, MarketContext, VenueContext

PERP = "XRP/USDT:USDT"


def _reading(need: str, value: str, poll: int, venue: str = "binance") -> ContextReading:
    return ContextReading(need, PERP, venue, Decimal(value), poll, received_ms=1_000 * poll,
                          secondary=venue != "binance")  # fmt: skip


def test_a_context_without_venues_gives_each_need_its_latest_reading() -> None:
    # Arrange: no [[sources.context]]: a context of no venues.
    context = MarketContext(PERP, (), 0)
    assert context.reading("funding") is None

    # Act
    context = context.with_reading(_reading("funding", "0.0001", 1))
    context = context.with_reading(_reading("open_interest", "100", 1))
    context = context.with_reading(_reading("funding", "0.0002", 2, venue="bybit"))

    # Assert: one reading per need, the latest one.
    funding = context.reading("funding")
    assert funding is not None
    assert (funding.value, funding.poll, funding.venue, funding.secondary) == (
        Decimal("0.0002"), 2, "bybit", True)  # fmt: skip
    interest = context.reading("open_interest")
    assert interest is not None
    assert interest.value == Decimal(100)
    assert len(context.readings) == 2
    assert context.venues == ()


def test_a_new_venue_snapshot_keeps_the_latest_readings() -> None:
    old = MarketContext(PERP, (VenueContext("binance", PERP, funding_rate=Decimal("0.1")),), 5)
    old = old.with_reading(_reading("funding", "0.0003", 7))
    new = MarketContext(PERP, (VenueContext("bybit", PERP, funding_rate=Decimal("0.2")),), 9)

    carried = new.carrying(old)

    # The new snapshot's venues and stamp, the old readings.
    assert [v.venue for v in carried.venues] == ["bybit"]
    assert carried.received_ms == 9
    funding = carried.reading("funding")
    assert funding is not None
    assert funding.poll == 7
    assert new.carrying(None) is new


def test_a_reading_of_another_symbol_is_refused() -> None:
    other = ContextReading("funding", "BTC/USDT:USDT", "binance", Decimal(0), 1, 0)
    with pytest.raises(ValueError, match="BTC/USDT:USDT"):
        MarketContext(PERP, (), 0).with_reading(other)
