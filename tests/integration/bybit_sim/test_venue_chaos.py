"""Random venue faults against the real clients, and each venue's latency on its sockets.

Two venues in one process (Binance's protocol and Bybit's) run a seeded random schedule of
outages, stalls and price divergences (:mod:`tradewind.exchange_sim.venue_chaos`) on top
of random request faults (ghost orders, 5xx, dropped connections, rate limits, timeouts). The
real ``ccxt.binance`` (async) trades the first, Bybit's own ``pybit`` (sync, in a worker thread)
the second. Each places market orders under its own client ids and, when an answer is lost, looks
the order up by that id (twice, apart, before it sends it again), never resending blind. Then
every order the venue holds must be known to its client exactly once (no fill lost, none
doubled), with the fill the client recorded, and the client's fill list must be the venue's.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import ccxt
import ccxt.async_support
import pytest
import requests

pybit_http = pytest.importorskip("pybit.unified_trading")
from pybit.exceptions import FailedRequestError, InvalidRequestError  # noqa: E402

from tradewind.connectors.client import binance_urls  # noqa: E402
from tradewind.exchange_sim import Fault, FaultKind, FaultPlan  # noqa: E402
from tradewind.exchange_sim.limits import LimitConfig, RateLimits  # noqa: E402
from tradewind.exchange_sim.multi_venue import (  # noqa: E402
    MultiVenue,
    Venue,
    VenueSpec,
    build_venue,
    plan_venues,
)
from tradewind.exchange_sim.venue_chaos import VenueFault  # noqa: E402

XRP, SYMBOL = "XRP/USDT", "XRPUSDT"
FUNDS = {"USDT": 10_000, "XRP": 5_000}
SECONDS = 8.0
TIMEOUT_S = 1.0
_ORDER_PATH = {"binance": "/api/v3/order", "bybit": "/v5/order/"}
_REQUEST_FAULTS = [FaultKind.GHOST_ORDER, FaultKind.SERVER_ERROR, FaultKind.DROP_CONNECTION,
                   FaultKind.RATE_LIMIT, FaultKind.TIMEOUT]  # fmt: skip
_VENUE_FAULTS = [
    VenueFault(kind=FaultKind.VENUE_OUTAGE, probability_per_s=0.25, duration_s=0.6),
    # Longer than the clients' timeout: a request sent into the stall is lost to its client.
    VenueFault(kind=FaultKind.VENUE_STALL, probability_per_s=0.25, duration_s=1.5),
    VenueFault(kind=FaultKind.PRICE_DIVERGENCE, probability_per_s=0.25, duration_s=1.0,
               divergence_bps=25),
]  # fmt: skip


class Book:
    """What one client believes: its orders by client id, with the quantity each filled."""

    def __init__(self) -> None:
        self.filled: dict[str, Decimal] = {}
        self.lost_answers = 0
        self.resent = 0


# ------------------------------------------------------------------ ccxt.binance (async)
async def _ccxt_lookup(ex: Any, cid: str) -> Decimal | None:
    """The order's filled quantity, None when the venue says twice (apart) it has no such order."""
    absent = 0
    while True:
        try:
            order = await ex.fetch_order(None, XRP, {"origClientOrderId": cid})
            return Decimal(order["info"]["executedQty"])
        except ccxt.OrderNotFound:
            absent += 1
            if absent == 2:
                return None
        except ccxt.BaseError:
            pass  # the venue is down or the answer was lost: ask again
        await asyncio.sleep(0.3)


async def _ccxt_trader(ex: Any, until: float, book: Book) -> None:
    n = 0
    while time.monotonic() < until:
        n += 1
        cid = f"chaos-{n}"
        side = "buy" if n % 2 else "sell"
        for _ in range(40):
            try:
                order = await ex.create_order(XRP, "market", side, 10, None,
                                              {"newClientOrderId": cid})  # fmt: skip
                book.filled[cid] = Decimal(order["info"]["executedQty"])
                break
            except ccxt.BaseError:
                book.lost_answers += 1
            found = await _ccxt_lookup(ex, cid)
            if found is not None:
                book.filled[cid] = found
                break
            book.resent += 1
        else:
            pytest.fail(f"order {cid} never placed")


async def _ccxt_fills(ex: Any) -> list[dict[str, Any]]:
    fills: list[dict[str, Any]] = []
    from_id = 0
    while True:
        page = await ex.fetch_my_trades(XRP, None, 1000, {"fromId": from_id})
        fills += [t["info"] for t in page]
        if len(page) < 1000:
            return fills
        from_id = int(page[-1]["id"]) + 1


# ------------------------------------------------------------------ pybit (sync)
_PYBIT_ERRORS = (FailedRequestError, InvalidRequestError, requests.RequestException)


def _pybit_lookup(http: Any, cid: str) -> Decimal | None:
    absent = 0
    while True:
        try:
            rows = http.get_open_orders(category="spot", symbol=SYMBOL, orderLinkId=cid)
            found = rows["result"]["list"]
            if found:
                return Decimal(found[0]["cumExecQty"])
            absent += 1
            if absent == 2:
                return None
        except _PYBIT_ERRORS:
            pass
        time.sleep(0.3)


def _pybit_trader(http: Any, until: float, book: Book) -> None:
    n = 0
    while time.monotonic() < until:
        n += 1
        cid = f"chaos-{n}"
        side = "Buy" if n % 2 else "Sell"
        for _ in range(40):
            try:
                http.place_order(category="spot", symbol=SYMBOL, side=side, orderType="Market",
                                 qty="10", marketUnit="baseCoin", orderLinkId=cid)  # fmt: skip
            except _PYBIT_ERRORS:
                book.lost_answers += 1
            # Bybit answers a create with ids only: the fill is learnt from the order itself.
            found = _pybit_lookup(http, cid)
            if found is not None:
                book.filled[cid] = found
                break
            book.resent += 1
        else:
            pytest.fail(f"order {cid} never placed")


def _pybit_fills(http: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = http.get_executions(category="spot", symbol=SYMBOL, limit=100, cursor=cursor)
        rows += page["result"]["list"]
        cursor = page["result"]["nextPageCursor"]
        if not cursor:
            return rows


# ------------------------------------------------------------------ the run
def _venues(shared_data: Path) -> list[Venue]:
    venues = []
    for spec in plan_venues(["binance", "bybit"], base_port=0, seed=21):
        plan = FaultPlan([Fault(kind=k, path=_ORDER_PATH[spec.protocol], probability=0.04,
                                delay_s=1.5) for k in _REQUEST_FAULTS], seed=spec.seed)  # fmt: skip
        sim = build_venue(spec, shared_data, faults=plan)
        # One client per venue on 127.0.0.1: the weight limit is not what is tested here.
        sim.limits = RateLimits(LimitConfig(weight_per_minute=10**9, orders_per_10s=10**6))
        venues.append(Venue(spec, sim, faults=list(_VENUE_FAULTS)))
    return venues


def _check(venue: Venue, key: Any, book: Book, fills: list[dict[str, Any]], id_field: str,
           qty_field: str) -> None:  # fmt: skip
    orders = venue.sim.store.all_orders(key.account, False, SYMBOL)
    name = venue.spec.name
    held = Counter(o.client_id for o in orders)
    assert [cid for cid, n in held.items() if n > 1] == [], f"{name}: an order placed twice"
    assert set(held) == set(book.filled), f"{name}: the client and the venue disagree"
    for order in orders:
        assert book.filled[order.client_id] == order.filled, (name, order.client_id)
    ids = [f[id_field] for f in fills]
    assert len(ids) == len(set(ids)), f"{name}: a fill listed twice"
    assert len(ids) == sum(len(o.fills) for o in orders), f"{name}: a fill missing"
    assert sum(Decimal(f[qty_field]) for f in fills) == sum(o.filled for o in orders)
    assert sum(book.filled.values()) == sum(o.filled for o in orders) > 0


async def test_clients_survive_random_venue_faults_with_no_fill_lost_or_doubled(
    shared_data: Path,
) -> None:
    venues = _venues(shared_data)
    for venue in venues:
        plan = venue.chaos.schedule(SECONDS)
        # The seeded plan puts every kind of venue fault inside the run.
        assert {p.fault.kind for p in plan} == {f.kind for f in _VENUE_FAULTS}, venue.spec.name
    binance, bybit = venues
    async with MultiVenue(venues):
        bkey = binance.sim.open_account("ccxt", balances=FUNDS)
        ykey = bybit.sim.open_account("pybit", balances=FUNDS)
        ex = ccxt.async_support.binance({
            "apiKey": bkey.key, "secret": bkey.secret, "enableRateLimit": False,
            "timeout": int(TIMEOUT_S * 1000),
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                        "fetchMargins": False}})  # fmt: skip
        urls = binance_urls(binance.server.rest_url)
        del urls["ws"]
        ex.urls["api"] = urls
        http = pybit_http.HTTP(api_key=ykey.key, api_secret=ykey.secret, max_retries=1,
                               retry_delay=0.05, recv_window=5000, timeout=TIMEOUT_S)  # fmt: skip
        http.endpoint = bybit.server.rest_url
        books = {"binance": Book(), "bybit": Book()}
        try:
            ex.timeout = 10_000
            await ex.load_markets()  # before the chaos can cut it short
            ex.timeout = int(TIMEOUT_S * 1000)
            until = time.monotonic() + SECONDS
            await asyncio.gather(
                _ccxt_trader(ex, until, books["binance"]),
                asyncio.to_thread(_pybit_trader, http, until, books["bybit"]),
            )
            for venue in venues:
                await venue.chaos.stop()
                venue.sim.faults.clear()
            ex.timeout = 10_000
            _check(binance, bkey, books["binance"], await _ccxt_fills(ex), "id", "qty")
            fills = await asyncio.to_thread(_pybit_fills, http)
            _check(bybit, ykey, books["bybit"], fills, "execId", "execQty")
        finally:
            await ex.close()
    for venue in venues:
        book = books[venue.spec.name]
        kinds = {r.kind for r in venue.sim.faults.injected()}
        # Not vacuous: the venue went down, froze and diverged, and the client lost answers.
        assert {f.kind for f in _VENUE_FAULTS} <= kinds, (venue.spec.name, kinds)
        assert book.lost_answers > 0, venue.spec.name
        assert len(book.filled) > 5, venue.spec.name
        print(f"{venue.spec.name}: {len(book.filled)} orders, {book.lost_answers} answers lost, "
              f"{book.resent} resent after two absent lookups")  # fmt: skip


# ------------------------------------------------------------------ latency
async def _round_trip(url: str, message: dict[str, Any], times: int) -> list[float]:
    """Seconds from each sent message to its answer (answers must come in order)."""
    delays = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        for i in range(times):
            started = time.monotonic()
            await ws.send_json({**message, "id": i, "req_id": str(i)})
            while True:
                answer = await asyncio.wait_for(ws.receive_json(), 5)
                if answer.get("id") == i or answer.get("req_id") == str(i):
                    break
            delays.append(time.monotonic() - started)
    return delays


async def test_a_venue_latency_delays_its_rest_answers_and_its_socket_frames(
    shared_data: Path,
) -> None:
    specs = [VenueSpec("binance", "binance", 0, 1, latency_ms=300.0),
             VenueSpec("bybit", "bybit", 0, 2, latency_ms=300.0)]  # fmt: skip
    venues = [Venue(s, build_venue(s, shared_data)) for s in specs]
    async with MultiVenue(venues):
        binance, bybit = venues
        async with aiohttp.ClientSession() as session:
            for venue, path in ((binance, "/api/v3/time"), (bybit, "/v5/market/time")):
                started = time.monotonic()
                async with session.get(venue.server.rest_url + path) as answer:
                    assert answer.status == 200
                assert time.monotonic() - started >= 0.3, venue.spec.name
        subscribe = {"method": "SUBSCRIBE", "params": ["xrpusdt@depth@100ms"]}
        acks = await _round_trip(f"{binance.server.ws_url}/stream/ws", subscribe, 3)
        pongs = await _round_trip(f"{bybit.server.ws_url}/v5/public/spot", {"op": "ping"}, 3)
        assert min(acks) >= 0.3
        assert min(pongs) >= 0.3
        # Data frames too: a book frame reaches the client 0.3 s after the venue stamped it.
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{bybit.server.ws_url}/v5/public/spot") as ws,
        ):
            await ws.send_json({"op": "subscribe", "args": ["orderbook.50.XRPUSDT"]})
            late = []
            while len(late) < 5:
                frame = await asyncio.wait_for(ws.receive_json(), 5)
                if frame.get("topic", "").startswith("orderbook"):
                    late.append(time.time() * 1000 - frame["ts"])
            assert min(late) >= 290  # ms clocks: a millisecond of rounding either side
