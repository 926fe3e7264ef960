"""Several venues in one process: the same recording at each venue's prices, and the venue
faults (outage, stall, price divergence), through the real ccxt clients."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support
import pytest

from tradewind.book.readers.bybit import decode_bybit_orderbook
from tradewind.connectors.client import binance_urls, bybit_urls
from tradewind.exchange_sim import Fault, FaultKind
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.multi_venue import MultiVenue, Venue, build_venue, plan_venues
from tradewind.exchange_sim.replay import book_from_depth_stream
from tradewind.exchange_sim.venue_chaos import VenueFault
from tradewind.exchange_sim.venue_skew import SkewedBook

TICK, STEP = Decimal("0.0001"), Decimal("0.1")


def test_venue_plan_is_seeded_and_names_say_the_protocol() -> None:
    specs = plan_venues(["binance", "bybit", "binance2"], base_port=9100, seed=3)
    assert [(s.name, s.protocol, s.port) for s in specs] == [
        ("binance", "binance", 9100), ("bybit", "bybit", 9101), ("binance2", "binance", 9102)
    ]  # fmt: skip
    assert specs[0].offset_bps == 0
    assert specs[0].latency_ms == 0
    assert specs == plan_venues(["binance", "bybit", "binance2"], base_port=9100, seed=3)
    assert specs != plan_venues(["binance", "bybit", "binance2"], base_port=9100, seed=4)
    assert all(-8 <= s.offset_bps <= 8 and 0 <= s.half_spread_bps <= 3 for s in specs)
    with pytest.raises(ValueError, match="kraken"):
        plan_venues(["binance", "kraken"], base_port=0, seed=0)
    with pytest.raises(ValueError, match="twice"):
        plan_venues(["bybit", "bybit"], base_port=0, seed=0)
    with pytest.raises(ValueError, match="venue fault"):
        Fault(kind=FaultKind.VENUE_OUTAGE)


def test_skewed_book_moves_whole_ticks_and_snapshots_on_divergence(shared_data: Path) -> None:
    recorded = book_from_depth_stream(
        decode_bybit_orderbook(shared_data / "orderbook" / "bybit-xrpusdt-ob500.data.zip"),
        TICK, STEP,
    )  # fmt: skip
    skewed = SkewedBook(recorded, tick=TICK, step=STEP, offset_bps=5, half_spread_bps=1,
                        size_noise=0.05, seed=9)  # fmt: skip
    off, half = skewed.offset_ticks, skewed.half_spread_ticks
    assert off > 0
    assert half > 0
    plain, moved = iter(recorded), iter(skewed)
    first, first_moved = next(plain), next(moved)
    assert sorted(first_moved.bids) == sorted(p + (off - half) * TICK for p in first.bids)
    assert sorted(first_moved.asks) == sorted(p + (off + half) * TICK for p in first.asks)
    noisy = [first_moved.bids[p + (off - half) * TICK] / q for p, q in first.bids.items()]
    assert all(Decimal("0.94") <= r <= Decimal("1.06") for r in noisy)
    assert any(r != 1 for r in noisy)
    assert not next(moved).snapshot
    assert not next(plain).snapshot
    skewed.divergence_ticks = 30
    step, recorded_step = next(moved), next(plain)
    assert step.snapshot  # a divergence re-prices the whole book at once
    assert max(step.bids) >= max(first.bids) + (off - half + 30 - 5) * TICK
    assert recorded_step.offset_ms == step.offset_ms
    again = SkewedBook(recorded, tick=TICK, step=STEP, offset_bps=5, half_spread_bps=1,
                       size_noise=0.05, seed=9)  # fmt: skip
    assert next(iter(again)).bids == first_moved.bids  # the same seed, the same book


def _binance(rest: str) -> Any:
    ex = ccxt.async_support.binance({"enableRateLimit": False, "timeout": 10_000, "options": {
        "fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}})  # fmt: skip
    urls = binance_urls(rest)
    del urls["ws"]
    ex.urls["api"] = urls
    return ex


def _bybit(rest: str, key: Any = None) -> Any:
    config: dict[str, Any] = {"enableRateLimit": False, "timeout": 10_000,
                              "options": {"fetchMarkets": {"types": ["spot"]}}}  # fmt: skip
    if key is not None:
        config.update(apiKey=key.key, secret=key.secret)
    ex = ccxt.async_support.bybit(config)
    ex.urls["api"] = bybit_urls(rest)
    return ex


def _mid(sim: Any) -> Decimal:
    market = sim.live(Api.SPOT, "XRPUSDT")
    return (market.book.bids.best() + market.book.asks.best()) / 2


async def test_three_venues_quote_one_recording_apart_and_fail_alone(shared_data: Path) -> None:
    specs = plan_venues(["binance", "bybit", "binance2"], base_port=0, seed=1)
    venues = [Venue(s, build_venue(s, shared_data)) for s in specs]
    async with MultiVenue(venues) as group:
        clients = {v.spec.name: (_bybit if v.spec.protocol == "bybit" else _binance)(
            v.server.rest_url) for v in venues}  # fmt: skip
        try:
            books = {n: await c.fetch_order_book("XRP/USDT", 5) for n, c in clients.items()}
            for name, book in books.items():
                assert book["bids"][0][0] < book["asks"][0][0], name
            # The same replayed book, moved by each venue's whole-tick offset and spread.
            mids = {v.spec.name: _mid(v.sim) for v in venues}
            books_of = {v.spec.name: v.sim.market(Api.SPOT, "XRPUSDT").replay for v in venues}
            reference = mids["binance"]
            for name in ("bybit", "binance2"):
                book = books_of[name]
                assert isinstance(book, SkewedBook)
                assert book.offset_ticks != 0
                gap = (mids[name] - reference) / TICK
                assert abs(gap - book.offset_ticks) <= 30, (name, gap, book.offset_ticks)
            # An outage of one venue: the others trade on.
            bybit = group["bybit"]
            key = bybit.sim.open_account("o", balances={"USDT": 1000})
            trader = _bybit(bybit.server.rest_url, key)
            await trader.load_markets()
            bybit.chaos.begin(VenueFault(kind=FaultKind.VENUE_OUTAGE, at_s=0, duration_s=30))
            with pytest.raises(ccxt.ExchangeError, match="10016"):
                await trader.fetch_balance()
            assert (await clients["binance"].fetch_order_book("XRP/USDT", 5))["bids"]
            await bybit.chaos.stop()  # ends the outage
            assert (await trader.fetch_balance())["USDT"]["total"] == 1000
            await trader.close()
            # A stall holds every request of the venue until it ends.
            stalled = group["binance2"]
            stalled.chaos.begin(VenueFault(kind=FaultKind.VENUE_STALL, at_s=0, duration_s=0.6))
            started = time.monotonic()
            await clients["binance2"].fetch_time()
            assert time.monotonic() - started >= 0.5
            # A divergence moves the venue's prices away, then back.
            before = _mid(stalled.sim)
            stalled.chaos.begin(VenueFault(kind=FaultKind.PRICE_DIVERGENCE, at_s=0,
                                           duration_s=0.5, divergence_bps=50))  # fmt: skip
            await _wait_until(lambda: abs(_mid(stalled.sim) - before) > 60 * TICK)
            await _wait_until(lambda: abs(_mid(stalled.sim) - before) < 40 * TICK)
            kinds = [(r.kind, r.detail) for r in stalled.sim.faults.injected()]
            assert (FaultKind.PRICE_DIVERGENCE, "end") in kinds
            assert all(r.path == "venue:binance2" for r in stalled.sim.faults.injected())
        finally:
            for client in clients.values():
                await client.close()


async def _wait_until(check: Any, timeout_s: float = 8.0) -> None:
    import asyncio

    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)
