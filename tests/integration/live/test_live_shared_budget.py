"""One rate budget per account and IP, shared by processes through a locked file.

Four processes hammer the simulator's order book endpoint (weight 5) through one
:class:`SharedRateBudget` file against a limit of 400 weight per 10-second window (Binance's is a
minute; the simulator shortens it so the test sees several windows): zero 429, zero 418, and the
simulator's count never passes the limit. One process alone uses at least 80 % of the limit in a
window. A 429's Retry-After written by one process holds every process back.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from livekit import Book, client_for, port_for

from tradewind.connectors.shared_budget import SharedRateBudget
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer, SimExchange
from tradewind.exchange_sim.limits import LimitConfig, RateLimits
from tradewind.exchange_sim.recordings import list_shared_recordings

LIMIT = 400
WINDOW_S = 10
DEPTH = "/api/v3/depth"
SYMBOL = "XRP/USDT"

_CHILD = """
import asyncio, sys, time
from pathlib import Path
import ccxt
from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.errors import retry_after_s
from tradewind.connectors.shared_budget import SharedRateBudget
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.records import Side

async def main(url, path, seconds):
    client = create_async_client(ExchangeConfig(rest_url=url, rate_limit=False), streams=False,
                                 market_types=("spot",))
    budget = SharedRateBudget(Path(path), int(sys.argv[4]), window_s=float(sys.argv[5]))
    markets = await client.fetch_markets()
    client.set_markets(markets)
    end = time.monotonic() + seconds
    refused = 0
    while time.monotonic() < end:
        await budget.acquire(5)
        try:
            await client.fetch_order_book("XRP/USDT", 100)
        except ccxt.DDoSProtection:
            refused += 1
            budget.ban(retry_after_s(client) or 1.0)
        budget.observe(client.last_response_headers or {})
    await client.close()
    print("refused", refused, flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
"""


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    sim = list_shared_recordings(SimExchange(seed=19), shared_data)
    sim.limits = RateLimits(LimitConfig(weight_per_minute=LIMIT, weight_window_ms=WINDOW_S * 1000))
    with LoopbackServer(sim) as running:
        yield running


def _spawn(server: LoopbackServer, path: Path, seconds: float) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-c",
        _CHILD,
        server.rest_url,
        str(path),
        str(seconds),
        str(LIMIT),
        str(WINDOW_S),
    ]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _weight_per_window(server: LoopbackServer, since_seq: int) -> Counter[int]:
    used: Counter[int] = Counter()
    for record in server.requests(DEPTH):
        if record.seq > since_seq and record.status == 200:
            used[record.received_ms // (WINDOW_S * 1000)] += 5
    return used


def test_four_processes_share_one_limit_and_one_alone_uses_most_of_it(
    server: LoopbackServer, tmp_path: Path
) -> None:
    path = tmp_path / "state" / "rate-binance-test.json"
    first = max((r.seq for r in server.requests()), default=0)
    alone = _spawn(server, path, 3.0)
    out, err = alone.communicate(timeout=120)
    assert alone.returncode == 0, err[-2000:]
    assert out.split() == ["refused", "0"]
    assert max(_weight_per_window(server, first).values()) >= 0.8 * LIMIT
    mark = max(r.seq for r in server.requests())
    crowd = [_spawn(server, path, 12.0) for _ in range(4)]
    for child in crowd:
        out, err = child.communicate(timeout=180)
        assert child.returncode == 0, err[-2000:]
        assert out.split() == ["refused", "0"]
    statuses = Counter(r.status for r in server.requests() if r.seq > first)
    assert statuses[429] == 0
    assert statuses[418] == 0
    assert all(w <= LIMIT for w in _weight_per_window(server, mark).values())


def test_a_ban_holds_every_process_back(tmp_path: Path) -> None:
    now = [1_000.0]
    one = SharedRateBudget(tmp_path / "b.json", 100, window_s=10, clock=lambda: now[0])
    other = SharedRateBudget(tmp_path / "b.json", 100, window_s=10, clock=lambda: now[0])
    assert one.try_take(50) == 0
    assert other.try_take(40) == 0
    assert one.try_take(5) > 0  # 90 of the allowed 90 are taken, by two holders together
    assert other.used() == 90
    now[0] = 1_010.0  # the next window
    other.ban(3)
    assert one.try_take(1) == pytest.approx(3)
    now[0] = 1_013.5
    assert one.try_take(1) == 0
    one.observe({"X-MBX-USED-WEIGHT-1M": "70"})
    assert other.used() == 70


async def test_the_live_port_spends_and_obeys_the_shared_budget(
    server: LoopbackServer, tmp_path: Path
) -> None:
    budget = SharedRateBudget(tmp_path / "rate.json", LIMIT, window_s=WINDOW_S)
    client, _ = await client_for(server)
    port = port_for(client, [SYMBOL], poll_s=0.05, budget=budget)
    book = Book()
    port.subscribe(book.receive)
    ids = ClientIdFactory("bud", session="a")
    try:
        order = Order(ids.next(), SYMBOL, Side.BUY, OrderType.MARKET, Decimal(10))
        book.track(order)
        port.submit(order, 0)
        for _ in range(200):
            if order.client_id in book.orders and book.orders[order.client_id].status.is_terminal:
                break
            await asyncio.sleep(0.02)
        assert book.orders[order.client_id].status is OrderStatus.FILLED
        assert budget.used() >= 1 + 20  # the create and the trade list, header-corrected
        # A 429 on the next create: its Retry-After holds every holder of the budget back.
        server.faults.add(Fault(kind=FaultKind.RATE_LIMIT, path="/api/v3/order", retry_after_s=2))
        second = Order(ids.next(), SYMBOL, Side.BUY, OrderType.MARKET, Decimal(10))
        book.track(second)
        port.submit(second, 0)
        for _ in range(100):
            if port.failures:
                break
            await asyncio.sleep(0.02)
        assert budget.try_take(1) > 0
    finally:
        server.faults.clear()
        await port.close()
        await client.close()
