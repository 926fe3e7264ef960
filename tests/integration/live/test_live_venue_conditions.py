"""Rate limits (429), IP bans (418) and maintenance are named and waited out, and the order that met
one is still looked up, never sent again.

The real ccxt client against the exchange simulator; the simulator answers instead of processing
(as Binance does), so each order truly does not exist and must end REJECTED ("lost") after its
lookups, with exactly one create request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from livekit import Book, client_for, ledger, port_for

from tradewind.connectors.order_errors import Condition
from tradewind.connectors.shared_budget import SharedRateBudget
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings

SYMBOL, SYMBOL_ID = "XRP/USDT", "XRPUSDT"
ORDER_PATH = "/api/v3/order"


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    sim = list_shared_recordings(SimExchange(seed=43), shared_data)
    with LoopbackServer(sim) as running:
        yield running


async def _lost(book: Book, client_id: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while book.orders[client_id].status is not OrderStatus.REJECTED:
        assert time.monotonic() < deadline, book.events
        await asyncio.sleep(0.05)


async def _resting(port: object, client: object, ids: ClientIdFactory) -> Order:
    ask = Decimal(repr((await client.fetch_order_book(SYMBOL, 5))["asks"][0][0]))  # type: ignore[attr-defined]
    price = port.instruments[SYMBOL].round_price(ask * Decimal("0.8"))  # type: ignore[attr-defined]
    return Order(ids.next(), SYMBOL, Side.BUY, OrderType.LIMIT, Decimal(100), price=price)


@pytest.mark.parametrize(
    ("fault", "named", "holds"),
    [
        (Fault(kind=FaultKind.RATE_LIMIT, path=ORDER_PATH, retry_after_s=1),
         Condition.RATE_LIMIT, [1.0]),
        # Maintenance sends no Retry-After: 1 s, then 2 s while it lasts.
        (Fault(kind=FaultKind.MAINTENANCE, path=ORDER_PATH, times=2),
         Condition.MAINTENANCE, [1.0, 2.0]),
    ],
    ids=["rate_limit", "maintenance"],
)  # fmt: skip
async def test_a_named_condition_holds_requests_and_the_order_is_looked_up(
    server: LoopbackServer, fault: Fault, named: Condition, holds: list[float]
) -> None:
    client, key = await client_for(server)
    port = port_for(client, [SYMBOL], poll_s=0.1, visibility_s=1.0)
    book = Book()
    port.subscribe(book.receive)
    ids = ClientIdFactory(f"cnd{named.value[:4]}")
    first = max((r.seq for r in server.requests()), default=0)
    try:
        order = await _resting(port, client, ids)
        book.track(order)
        server.faults.add(fault)
        port.submit(order, 0)
        await _lost(book, order.client_id)
        assert book.orders[order.client_id].reject_reason.startswith("lost:")
        assert [o.client_id for o in ledger(server, key, SYMBOL_ID)
                if o.client_id == order.client_id] == []  # fmt: skip
        met = port.requests.conditions
        assert [c.condition for c in met] == [named] * len(holds)
        assert [c.hold_s for c in met] == holds
        assert met[0].method == "create_order"
        assert port.failures[0].condition is named
        # Never sent again: one create; and nothing reached the exchange during a hold.
        mine = [r for r in server.requests(ORDER_PATH) if r.seq > first]
        assert [r.method for r in mine].count("POST") == 1
        faulted = [r for r in mine if r.fault is not None]
        assert len(faulted) == len(holds)
        for hit, hold in zip(faulted, holds, strict=True):
            after = [r for r in mine if r.seq > hit.seq]
            assert after[0].received_ms - hit.received_ms >= hold * 1000 - 50
    finally:
        server.faults.clear()
        await port.close()
        await client.close()


async def test_an_ip_ban_holds_every_process_sharing_the_budget(
    server: LoopbackServer, tmp_path: Path
) -> None:
    # Two processes of one machine: two clients, each with its own handle on the budget file.
    budget_file = tmp_path / "rate-binance.json"
    one, _ = await client_for(server)
    other, _ = await client_for(server)
    banned = port_for(one, [SYMBOL], budget=SharedRateBudget(budget_file, 6000, window_s=60.0))
    waiting = port_for(other, [SYMBOL], budget=SharedRateBudget(budget_file, 6000, window_s=60.0))
    path = "/api/v3/openOrders"
    server.faults.add(Fault(kind=FaultKind.IP_BAN, path=path, retry_after_s=2))
    try:
        with pytest.raises(Exception, match="418"):
            await banned.open_orders()
        assert [(c.condition, c.hold_s) for c in banned.requests.conditions] == [
            (Condition.IP_BAN, 2.0)
        ]
        started = time.monotonic()
        assert await waiting.open_orders() == []
        assert time.monotonic() - started >= 1.8
        assert waiting.requests.conditions == []  # it met no ban: it honoured the other's
        hits = list(server.requests(path))
        ban = next(r for r in hits if r.fault is FaultKind.IP_BAN)
        later = [r for r in hits if r.seq > ban.seq]
        assert later
        assert all(r.received_ms - ban.received_ms >= 1900 for r in later)
    finally:
        server.faults.clear()
        await banned.close()
        await waiting.close()
        await one.close()
        await other.close()
