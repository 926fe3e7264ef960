"""Funding rates and open interest as ordered needs over a simulated Binance (primary) and Bybit
(secondary) with the real ccxt clients: the primary's server is stopped mid-run, both needs read
the secondary from the same poll on (no poll without its readings), each switch is an event and
counted; the primary's server back, both switch back after its healthy spell."""

from __future__ import annotations

import asyncio
import socket
from decimal import Decimal
from pathlib import Path

import pytest
from sourcekit import wait_until

from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.polled_sources import PolledSourceSet
from tradewind.connectors.source_config import SourcesConfig
from tradewind.core.market_context import ContextReading
from tradewind.core.source_events import SourceSwitched, SwitchReason
from tradewind.exchange_sim import SimClock
from tradewind.exchange_sim.multi_venue import MultiVenue, Venue, VenueSpec, build_venue

PERP = "XRP/USDT:USDT"
POSITIONS = {"binance": ("buy", 100), "bybit": ("sell", 30)}


def _free_port() -> int:
    # The primary is restarted on its port: the clients keep their URL.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _open_position(venue: Venue, side: str, amount: int) -> None:
    key = venue.sim.open_account(f"polled-{venue.spec.name}", futures_usdt=10_000)
    client = create_async_client(ExchangeConfig(
        name=venue.spec.protocol, rest_url=venue.server.rest_url, api_key=key.key,
        secret=key.secret, rate_limit=False, timeout_ms=15_000,
    ))  # fmt: skip
    try:
        await client.load_markets()
        await client.create_order(PERP, "market", side, amount)
    finally:
        await client.close()


def _config(venues: MultiVenue) -> SourcesConfig:
    listed = [{"name": v.spec.name,
               "exchange": {"name": v.spec.protocol, "rest_url": v.server.rest_url,
                            "rate_limit": False, "timeout_ms": 2_000}}
              for v in venues.venues]  # fmt: skip
    return SourcesConfig.model_validate({
        "candles": [{"name": "binance"}], "funding": listed, "open_interest": listed,
        "poll_period_s": 0.25, "poll_timeout_s": 2.0, "switch_back_after_s": 1.5,
    })  # fmt: skip


def _drain(queue: asyncio.Queue[ContextReading | SourceSwitched]) -> list[object]:
    out: list[object] = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


@pytest.mark.slow
async def test_funding_and_open_interest_fail_over_without_a_gap(shared_data: Path) -> None:
    clock = SimClock(speed=1.0)
    specs = [VenueSpec("binance", "binance", _free_port(), seed=1),
             VenueSpec("bybit", "bybit", 0, seed=3)]  # fmt: skip
    venues = MultiVenue([Venue(s, build_venue(s, shared_data, clock=clock)) for s in specs])
    async with venues:
        # Arrange: a long of 100 XRP on Binance's perpetual, a short of 30 on Bybit's, so each
        # venue's open interest names it.
        for name, (side, amount) in POSITIONS.items():
            await _open_position(venues[name], side, amount)
        config = _config(venues)
        sets = [PolledSourceSet.from_config(config, [PERP], need)
                for need in ("funding", "open_interest")]  # fmt: skip
        primary = venues["binance"]
        try:
            for needs in sets:
                await needs.start()
            await wait_until(lambda: all(s.polls >= 4 for s in sets), 20, "polls on the primary")
            # Act: the primary's server goes away (connections refused from now on).
            await primary.server.stop_async()
            stopped_at = [s.polls for s in sets]
            await wait_until(lambda: all(s.active == 1 for s in sets), 20, "the failover")
            await wait_until(lambda: all(s.polls >= p + 4 for s, p in zip(sets, stopped_at,
                                                                          strict=True)),
                             20, "polls on the secondary")  # fmt: skip
            on_secondary = [s.polls for s in sets]
            await primary.server.start_async()
            await wait_until(lambda: all(s.active == 0 for s in sets), 30, "the switch back")
            await wait_until(lambda: all(s.polls >= p + 2 for s, p in zip(sets, on_secondary,
                                                                          strict=True)),
                             20, "polls after the switch back")  # fmt: skip
        finally:
            for needs in sets:
                await needs.stop()

    for needs in sets:
        events = _drain(needs.events)
        readings = [e for e in events if isinstance(e, ContextReading)]
        switches = [e for e in events if isinstance(e, SourceSwitched)]
        # Assert: one reading per poll, every poll numbered once from 1: no gap, no repeat.
        assert [r.poll for r in readings] == list(range(1, needs.polls + 1)), needs.need
        # Two switches, each an event and counted: away on the refused connection, back after
        # the primary answered every poll for the switch-back delay.
        assert needs.switches == 2
        assert [(s.need, s.previous, s.active, s.reason) for s in switches] == [
            (needs.need, "binance", "bybit", SwitchReason.ERROR),
            (needs.need, "bybit", "binance", SwitchReason.RECOVERED),
        ]
        assert switches[0].silent_s < 1.0, switches[0]  # the last answer was the poll before
        venues_read = [r.venue for r in readings]
        first_bybit = venues_read.index("bybit")
        assert all(v == "binance" for v in venues_read[:first_bybit])
        assert first_bybit >= 4
        back = venues_read.index("binance", first_bybit)
        assert set(venues_read[first_bybit:back]) == {"bybit"}
        assert len(venues_read[first_bybit:back]) >= 4
        assert set(venues_read[back:]) == {"binance"}
        assert all(r.secondary == (r.venue == "bybit") for r in readings)
        assert all(r.symbol == PERP for r in readings)
        if needs.need == "open_interest":
            # Each venue's own figure: its accounts' positions.
            expected = {"binance": Decimal(100), "bybit": Decimal(30)}
            assert all(r.value == expected[r.venue] for r in readings), readings
        else:
            now = clock()
            for reading in readings:
                assert reading.next_funding_ms is not None
                assert reading.next_funding_ms > reading.received_ms - 60_000
                assert abs(reading.value) < Decimal("0.01")
            # The last reading is the primary's published rate.
            assert float(readings[-1].value) == pytest.approx(
                venues["binance"].sim.funding_rate_at("XRPUSDT", now), abs=1e-12
            )
