"""Ambiguous means unknown: orders with one injected fault each end in their true state.

Each order's create request gets one fault from the simulator (a ghost order: placed, answer lost;
a ghost fill; a timeout; a 5xx with and without Binance's JSON; a dropped connection; a stall past
the client's 250 ms timeout; delayed visibility of a placed order). The live port looks the order
up by client id and never sends it again. Checked against the simulator's own ledger (not through
any client): the bot's state of each order equals the exchange's, no intent was sent twice, no order
exists twice, and an order that exists is never declared lost ("no false not found").

CI runs every fault on a resting limit, a marketable limit and a market order; ``make chaos``
(``TRADEWIND_CHAOS=1``) runs each combination more times with random visibility delays.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from livekit import Book, client_for, ledger, ledger_status, port_for

from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings

SYMBOL, SYMBOL_ID = "XRP/USDT", "XRPUSDT"
ORDER_PATH = "/api/v3/order"
VISIBILITY_S = 1.0
"""The port's visibility window here (10 s in production); every delay injected is shorter."""
REPEAT = 12 if os.environ.get("TRADEWIND_CHAOS") else 1

FAULTS: dict[str, Fault] = {
    "ghost": Fault(kind=FaultKind.GHOST_ORDER, path=ORDER_PATH, delay_s=0.5),
    "ghost_filled": Fault(kind=FaultKind.GHOST_FILLED, path=ORDER_PATH, delay_s=0.5),
    "timeout_504": Fault(kind=FaultKind.TIMEOUT, path=ORDER_PATH, delay_s=0.05),
    "server_error_json": Fault(
        kind=FaultKind.SERVER_ERROR, path=ORDER_PATH, status=500, json_body=True
    ),
    "server_error_502": Fault(kind=FaultKind.SERVER_ERROR, path=ORDER_PATH, status=502),
    "dropped_connection": Fault(kind=FaultKind.DROP_CONNECTION, path=ORDER_PATH),
    "stall": Fault(kind=FaultKind.STALL, path=ORDER_PATH, delay_s=0.5),
    "delayed_visibility": Fault(kind=FaultKind.DELAYED_VISIBILITY, path=ORDER_PATH, delay_s=0.8),
}


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    sim = list_shared_recordings(SimExchange(seed=11), shared_data)
    with LoopbackServer(sim) as running:
        yield running


async def _settle(book: Book, server: LoopbackServer, key: object, order: Order) -> None:
    """Wait until the bot's view of ``order`` equals the ledger's, or fail after 5 s."""
    deadline = time.monotonic() + 5.0
    mine = book.orders[order.client_id]
    while time.monotonic() < deadline:
        on_exchange = [o for o in ledger(server, key, SYMBOL_ID) if o.client_id == order.client_id]  # type: ignore[arg-type]
        if not on_exchange and mine.status is OrderStatus.REJECTED:
            return
        if (
            on_exchange
            and mine.status is ledger_status(on_exchange[0])
            and mine.filled_quantity == on_exchange[0].filled
        ):
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{order.client_id}: bot {mine.status}, exchange {on_exchange!r}")


@pytest.mark.parametrize("fault_name", sorted(FAULTS))
async def test_one_fault_per_order_ends_in_the_true_state(
    server: LoopbackServer, fault_name: str
) -> None:
    client, key = await client_for(server, timeout_ms=250)
    port = port_for(client, [SYMBOL], poll_s=0.1, visibility_s=VISIBILITY_S)
    book = Book()
    port.subscribe(book.receive)
    ids = ClientIdFactory(f"flt{fault_name[:4]}")
    rng = random.Random(fault_name)
    instrument = port.instruments[SYMBOL]
    first_seq = max((r.seq for r in server.requests()), default=0)
    try:
        ask = Decimal(repr((await client.fetch_order_book(SYMBOL, 5))["asks"][0][0]))
        qty = Decimal(100)
        shapes: list[tuple[OrderType, Decimal | None]] = [
            (OrderType.LIMIT, instrument.round_price(ask * Decimal("0.8"))),  # rests
            (OrderType.LIMIT, instrument.round_price(ask * Decimal("1.05"))),  # marketable
            (OrderType.MARKET, None),
        ]
        placed: list[Order] = []
        for _ in range(REPEAT):
            for kind, price in shapes:
                fault = FAULTS[fault_name]
                if fault.kind is FaultKind.DELAYED_VISIBILITY and REPEAT > 1:
                    fault = Fault(kind=fault.kind, path=ORDER_PATH, delay_s=rng.uniform(0, 0.9))
                server.faults.clear()
                server.faults.add(fault)
                order = Order(
                    ids.next(), SYMBOL, Side.BUY, kind, qty, price=price,
                    created_ts=int(time.time() * 1000),
                )  # fmt: skip
                book.track(order)
                port.submit(order, order.created_ts)
                await _settle(book, server, key, order)
                server.faults.clear()
                placed.append(order)
        injected = [r for r in server.faults.injected() if r.path == ORDER_PATH]
        assert len(injected) >= len(placed)  # every order met its fault
        # Zero second orders for one intent: one create request per order (this account alone
        # trades during the test), at most one order per client id on the exchange.
        sent = [r for r in server.requests(ORDER_PATH) if r.method == "POST" and r.seq > first_seq]
        assert len(sent) == len(placed)
        exchange = [o.client_id for o in ledger(server, key, SYMBOL_ID)]
        for order in placed:
            assert exchange.count(order.client_id) <= 1
            mine = book.orders[order.client_id]
            if order.client_id in exchange:
                assert mine.status is not OrderStatus.REJECTED  # no false "not found"
            else:
                assert mine.status is OrderStatus.REJECTED
                assert mine.reject_reason.startswith("lost:")
        # Each trade booked once.
        trade_ids = [e.fill.trade_id for e in book.events if hasattr(e, "fill")]
        assert len(trade_ids) == len(set(trade_ids))
    finally:
        server.faults.clear()
        await port.close()
        await client.close()
