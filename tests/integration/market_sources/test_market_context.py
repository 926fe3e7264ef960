"""Market context across three simulated venues (Binance, a second Binance 8 bps above it, Bybit)
with the real ccxt clients: funding rates and open interest of the XRP perpetual, 24-hour volumes,
and the spread between venues, as each venue serves them; one venue's outage leaves the others'
context standing."""

from __future__ import annotations

import statistics
from decimal import Decimal
from pathlib import Path

import pytest

from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.context_feed import ContextFeed
from tradewind.connectors.source_config import ContextVenueConfig
from tradewind.exchange_sim import FaultKind, SimClock
from tradewind.exchange_sim.multi_venue import MultiVenue, Venue, VenueSpec, build_venue
from tradewind.exchange_sim.venue_chaos import VenueFault

PERP = "XRP/USDT:USDT"
SPOT = "XRP/USDT"
OFFSET_BPS = 8.0


def _venues(root: Path) -> MultiVenue:
    clock = SimClock(speed=1.0)
    specs = [
        VenueSpec("binance", "binance", 0, seed=1),
        VenueSpec("binance2", "binance", 0, seed=2, offset_bps=OFFSET_BPS),
        VenueSpec("bybit", "bybit", 0, seed=3),
    ]
    return MultiVenue([Venue(s, build_venue(s, root, clock=clock)) for s in specs])


def _context_venues(venues: MultiVenue) -> list[ContextVenueConfig]:
    return [
        ContextVenueConfig(
            name=v.spec.name,
            exchange=ExchangeConfig(name=v.spec.protocol, rest_url=v.server.rest_url,
                                    rate_limit=False, timeout_ms=15_000),
        )
        for v in venues.venues
    ]  # fmt: skip


async def _open_position(venues: MultiVenue, name: str, side: str, amount: int) -> None:
    venue = venues[name]
    key = venue.sim.open_account(f"context-{name}", futures_usdt=10_000)
    client = create_async_client(ExchangeConfig(
        name=venue.spec.protocol, rest_url=venue.server.rest_url, api_key=key.key,
        secret=key.secret, rate_limit=False, timeout_ms=15_000,
    ))  # fmt: skip
    try:
        await client.load_markets()
        await client.create_order(PERP, "market", side, amount)
    finally:
        await client.close()


@pytest.mark.slow
async def test_context_across_venues_is_what_each_venue_serves(shared_data: Path) -> None:
    async with _venues(shared_data) as venues:
        # Arrange: a long of 100 XRP on Binance's perpetual and a short of 30 on Bybit's.
        await _open_position(venues, "binance", "buy", 100)
        await _open_position(venues, "bybit", "sell", 30)
        feed = ContextFeed(_context_venues(venues), [PERP, SPOT], period_s=1.0)
        try:
            # Act
            polls = [await feed.poll() for _ in range(5)]
            venues["bybit"].chaos.begin(VenueFault(kind=FaultKind.VENUE_OUTAGE, at_s=0,
                                                   duration_s=30.0))  # fmt: skip
            during_outage = await feed.poll()
            venues["binance"].chaos.begin(VenueFault(kind=FaultKind.VENUE_OUTAGE, at_s=0,
                                                     duration_s=30.0))  # fmt: skip
            both_down = await feed.poll()
            now = venues["binance"].sim.clock()
            rates = {name: venues[name].sim.funding_rate_at("XRPUSDT", now)
                     for name in ("binance", "bybit")}  # fmt: skip
        finally:
            await feed.stop()

    # Assert: open interest is each venue's positions, summed across venues.
    perp = polls[-1][PERP]
    binance, bybit = perp.venue("binance"), perp.venue("bybit")
    assert binance is not None
    assert bybit is not None
    assert (binance.error, bybit.error) == ("", "")
    assert binance.open_interest == Decimal(100)
    assert bybit.open_interest == Decimal(30)
    assert perp.open_interest() == Decimal(130)
    # Funding: the recorded rate each venue publishes now, and its next funding time ahead.
    for venue in (binance, bybit):
        assert venue.funding_rate is not None
        assert float(venue.funding_rate) == pytest.approx(rates[venue.venue], abs=1e-12)
        assert venue.next_funding_ms is not None
        assert venue.next_funding_ms > now - 5_000
    # Volumes: each venue gives its 24-hour quote volume (the simulator's counts the trades it
    # has replayed since it started: a few seconds here, so possibly none).
    spot = polls[-1][SPOT]
    volumes = [v.volume_24h for v in spot.venues]
    assert all(v is not None and v >= 0 for v in volumes), volumes
    assert spot.volume_24h() == sum(volumes, Decimal(0))  # type: ignore[arg-type]
    assert spot.venue("binance").funding_rate is None  # type: ignore[union-attr]
    # The second Binance quotes the same recorded book 8 bps higher (whole ticks, so within a
    # tick or two of it; a book step between two answers moves one venue's mid by a tick).
    spreads = [p[SPOT].spread_bps("binance2", "binance") for p in polls]
    assert all(s is not None for s in spreads)
    assert abs(statistics.median(spreads) - Decimal(str(OFFSET_BPS))) <= Decimal(5), spreads  # type: ignore[type-var, arg-type, operator]
    widest = spot.widest_spread_bps()
    assert widest is not None
    assert widest >= abs(spot.spread_bps("binance2", "binance"))  # type: ignore[arg-type]
    # An outage of Bybit: its answer is an error, the others stand.
    down = during_outage[PERP].venue("bybit")
    assert down is not None
    assert down.error
    assert down.open_interest is None
    assert down.mid is None
    assert during_outage[PERP].open_interest() == Decimal(100)
    # Funding read from the venues in their configured order: Binance while it answers, the next
    # one (the second Binance) once Binance is down too.
    assert perp.preferred("funding_rate") == ("binance", binance.funding_rate)
    second = both_down[PERP].venue("binance2")
    assert second is not None
    assert second.funding_rate is not None
    assert both_down[PERP].venue("binance").error  # type: ignore[union-attr]
    assert both_down[PERP].preferred("funding_rate") == ("binance2", second.funding_rate)
