"""Ambiguous cancels: a cancel (or a cancel-replace) that meets one fault is resolved by looking the
order up, never by cancelling again, and a replacement is sent only once the old order is known
canceled: never two orders for one intent.

Faults on the cancel request: the cancel processed and its answer lost (ghost), processed late
after the client gave up (stall), not processed (504 timeout, a 5xx, a dropped connection).
Checked against the simulator's own ledger: the bot's state of each order equals the exchange's,
one cancel request per command, at most one working order per intent.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from livekit import Book, client_for, ledger, ledger_status, port_for

from tradewind.connectors.order_errors import Outcome
from tradewind.core.events import CancelRejected, OrderAccepted, OrderCanceled
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings

SYMBOL, SYMBOL_ID = "XRP/USDT", "XRPUSDT"
ORDER_PATH = "/api/v3/order"
VISIBILITY_S = 1.0
ROUNDS = range(10 if os.environ.get("TRADEWIND_CHAOS") else 1)
"""``make chaos`` runs every fault ten times on each command."""

FAULTS: dict[str, tuple[Fault, bool | None]] = {
    # name: (the fault on the cancel request, whether the exchange processes the cancel; None:
    # it may, late or never)
    "ghost": (Fault(kind=FaultKind.GHOST_ORDER, path=ORDER_PATH, delay_s=0.5), True),
    "stall": (Fault(kind=FaultKind.STALL, path=ORDER_PATH, delay_s=0.5), None),
    "timeout_504": (Fault(kind=FaultKind.TIMEOUT, path=ORDER_PATH, delay_s=0.05), False),
    "server_error_502": (Fault(kind=FaultKind.SERVER_ERROR, path=ORDER_PATH, status=502), False),
    # aiohttp resends an idempotent request (DELETE, GET) once when a kept-alive connection
    # drops (RFC 9112 9.3.1): the cancel may reach the exchange on that second try.
    "dropped_connection": (Fault(kind=FaultKind.DROP_CONNECTION, path=ORDER_PATH), None),
}


@pytest.fixture(scope="module")
def server(shared_data: Path) -> Iterator[LoopbackServer]:
    sim = list_shared_recordings(SimExchange(seed=47), shared_data)
    with LoopbackServer(sim) as running:
        yield running


async def _rest(port: Any, client: Any, book: Book, ids: ClientIdFactory, below: str) -> Order:
    ask = Decimal(repr((await client.fetch_order_book(SYMBOL, 5))["asks"][0][0]))
    price = port.instruments[SYMBOL].round_price(ask * Decimal(below))
    order = Order(ids.next(), SYMBOL, Side.BUY, OrderType.LIMIT, Decimal(100), price=price)
    book.track(order)
    port.submit(order, 0)
    deadline = time.monotonic() + 5
    while not any(isinstance(e, OrderAccepted) and e.client_id == order.client_id
                  for e in book.events):  # fmt: skip
        assert time.monotonic() < deadline, book.events
        await asyncio.sleep(0.02)
    return order


def _on_exchange(server: LoopbackServer, key: Any, client_id: str) -> Any:
    found = [o for o in ledger(server, key, SYMBOL_ID) if o.client_id == client_id]
    assert len(found) <= 1, f"{client_id} exists twice"
    return found[0] if found else None


async def _resolved(book: Book, client_id: str) -> None:
    """Wait until the cancel of ``client_id`` is resolved: canceled, or refused."""
    deadline = time.monotonic() + 8
    while not any(isinstance(e, CancelRejected | OrderCanceled) and e.client_id == client_id
                  for e in book.events):  # fmt: skip
        assert time.monotonic() < deadline, book.events[-4:]
        await asyncio.sleep(0.05)


async def _agree(book: Book, server: LoopbackServer, key: Any, client_id: str) -> None:
    """Wait until the bot's status of the order equals the ledger's (absent: REJECTED)."""
    deadline = time.monotonic() + 8
    while True:
        truth = _on_exchange(server, key, client_id)
        want = OrderStatus.REJECTED if truth is None else ledger_status(truth)
        if book.orders[client_id].status is want:
            return
        assert time.monotonic() < deadline, (client_id, want, book.events[-4:])
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("round_", ROUNDS)
@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_an_ambiguous_cancel_is_looked_up_not_resent(
    server: LoopbackServer, name: str, round_: int
) -> None:
    fault, processed = FAULTS[name]
    client, key = await client_for(server, timeout_ms=250)
    # A slow poll: the only requests on the order path after the cancel are its resolution.
    port = port_for(client, [SYMBOL], poll_s=30.0, visibility_s=VISIBILITY_S)
    book = Book()
    port.subscribe(book.receive)
    ids = ClientIdFactory(f"cxl{name[:4]}")
    try:
        order = await _rest(port, client, book, ids, "0.8")
        first = max(r.seq for r in server.requests())
        server.faults.add(fault)
        port.cancel(order.client_id, 0)
        await _resolved(book, order.client_id)
        await _agree(book, server, key, order.client_id)
        canceled = _on_exchange(server, key, order.client_id).status == "CANCELED"
        if processed is not None:
            assert canceled is processed
        refused = [e for e in book.events
                   if isinstance(e, CancelRejected) and e.client_id == order.client_id]  # fmt: skip
        # Not processed: the engine is told the cancel did not happen (it may cancel again).
        assert bool(refused) is not canceled
        if refused:
            assert refused[0].reason.startswith("cancel not processed")
        sent = [r for r in server.requests(ORDER_PATH) if r.seq > first]
        # The port never cancels again (only the HTTP client's own resend of a dropped DELETE:
        # a cancel sent twice cannot place an order).
        deletes = [r.method for r in sent].count("DELETE")
        if name == "dropped_connection":
            assert deletes in (1, 2)
        else:
            assert deletes == 1
            assert port.failures[-1].outcome is Outcome.AMBIGUOUS  # met and classified
    finally:
        server.faults.clear()
        if _on_exchange(server, key, order.client_id).status == "NEW":
            await client.cancel_order(None, SYMBOL, {"origClientOrderId": order.client_id})
        await port.close()
        await client.close()


@pytest.mark.parametrize("round_", ROUNDS)
@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_a_cancel_replace_never_makes_two_orders(
    server: LoopbackServer, name: str, round_: int
) -> None:
    fault, processed = FAULTS[name]
    client, key = await client_for(server, timeout_ms=250)
    port = port_for(client, [SYMBOL], poll_s=30.0, visibility_s=VISIBILITY_S)
    book = Book()
    port.subscribe(book.receive)
    ids = ClientIdFactory(f"amd{name[:4]}")
    try:
        old = await _rest(port, client, book, ids, "0.8")
        ask = Decimal(repr((await client.fetch_order_book(SYMBOL, 5))["asks"][0][0]))
        new = Order(ids.next(), SYMBOL, Side.BUY, OrderType.LIMIT, Decimal(100),
                    price=port.instruments[SYMBOL].round_price(ask * Decimal("0.79")))  # fmt: skip
        book.track(new)
        server.faults.add(fault)
        port.cancel_replace(old.client_id, new, 0)
        await _resolved(book, old.client_id)
        await _agree(book, server, key, old.client_id)
        await _agree(book, server, key, new.client_id)
        before, after = (
            _on_exchange(server, key, old.client_id),
            _on_exchange(server, key, new.client_id),
        )
        if processed is not None:
            assert (before.status == "CANCELED") is processed
        if before.status == "CANCELED":
            assert after is not None
            assert after.status == "NEW"
        else:
            # The old order still works: the replacement was never sent.
            assert before.status == "NEW"
            assert after is None
            assert book.orders[new.client_id].reject_reason.startswith("not sent")
        working = [o for o in ledger(server, key, SYMBOL_ID)
                   if o.client_id in (old.client_id, new.client_id) and o.status == "NEW"]  # fmt: skip
        assert len(working) == 1  # one intent, one working order
    finally:
        server.faults.clear()
        for o in ledger(server, key, SYMBOL_ID):
            if o.status == "NEW":
                await client.cancel_order(None, SYMBOL, {"origClientOrderId": o.client_id})
        await port.close()
        await client.close()
