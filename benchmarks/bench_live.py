"""Live trading's own cost: an order round trip through Tradewind, and reconciling 500 open orders.

Both against the exchange simulator in its own process (the shared recordings, signature checks,
matching; limits raised so the benchmark measures latency, not the rate limiter), through the real
async ccxt client built by ``connectors``.

1. Order round trip. Peer: the bare ``create_order`` of a resting limit order on the same client.
   Tradewind: :meth:`~tradewind.engine.write_ahead.WriteAheadOrders.place` (the order and its
   ``SUBMITTED`` transition committed to the bot's SQLite database, WAL, ``synchronous=NORMAL``)
   through the :class:`~tradewind.venues.live.LiveVenuePort` (local checks, the client id, the
   answer classified) until the exchange's acknowledgement is committed and handed on. Batches of
   the two alternate so machine noise falls on both. Reported: the medians and their difference
   (target: Tradewind adds <= 1 ms). Every order must end ``ACCEPTED`` before its time counts.
2. Reconcile before trading with 500 orders the database holds as open: the open-order list,
   a lookup by client id of each stored order it lacks, the fills since the last one, the
   balances (target <= 2 s). The report must find all 500 still open, nothing missing and no
   divergence.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from decimal import Decimal
from typing import Any

from benchmarks.bench_exchange_sim import _serve_sim, _start
from benchmarks.common import Row

_SYMBOL = "XRP/USDT"
_PRICE = Decimal("1.0")  # far below the recorded XRP book: every order rests
_RECONCILE_ORDERS = 500


async def _setup(port: int, key: tuple[str, str], folder: str) -> tuple[Any, Any, Any, Any]:
    from tradewind.connectors.client import create_async_client
    from tradewind.connectors.config import ExchangeConfig
    from tradewind.connectors.instruments import instruments_from_markets
    from tradewind.engine.write_ahead import WriteAheadOrders
    from tradewind.persistence.bots import open_bot
    from tradewind.venues.live import LiveVenuePort

    cfg = ExchangeConfig(rest_url=f"http://127.0.0.1:{port}", api_key=key[0], secret=key[1],
                         rate_limit=False, timeout_ms=5000)  # fmt: skip
    client = create_async_client(cfg, market_types=("spot",), streams=False)
    await client.load_markets()
    # Polling far apart: the orders rest, and a lookup in the middle of a timing would be noise.
    venue = LiveVenuePort(client, instruments_from_markets(client, [_SYMBOL]), poll_s=3600.0)
    repository = open_bot("bench-live", bots_dir=folder).repository()
    keeper = WriteAheadOrders(repository, venue, strategy_id="bench")
    venue.subscribe(keeper.on_events)
    return client, venue, repository, keeper


async def _ours(keeper: Any, ids: Any, count: int, out: list[float]) -> list[str]:
    from tradewind.core.orders import Order, OrderStatus, OrderType
    from tradewind.core.records import Side

    placed = []
    for _ in range(count):
        answered = asyncio.Event()
        keeper.on_change = lambda order, done=answered: done.set()  # committed, handed on
        order = Order(ids.next(), _SYMBOL, Side.BUY, OrderType.LIMIT, Decimal(10), price=_PRICE)
        start = time.perf_counter()
        keeper.place(order, int(time.time() * 1000))
        await asyncio.wait_for(answered.wait(), 10)
        out.append(time.perf_counter() - start)
        if order.status is not OrderStatus.ACCEPTED:
            raise RuntimeError(f"{order.client_id} ended {order.status}: {order.reject_reason}")
        placed.append(order.client_id)
    return placed


async def _bare(client: Any, count: int, out: list[float]) -> None:
    for _ in range(count):
        start = time.perf_counter()
        answer = await client.create_order(_SYMBOL, "limit", "buy", 10, float(_PRICE))
        out.append(time.perf_counter() - start)
        if answer["status"] != "open" or not answer["id"]:
            raise RuntimeError(f"unexpected order answer: {answer['info']}")


async def _measure(port: int, key: tuple[str, str], count: int) -> tuple[
    list[float], list[float], float, int]:  # fmt: skip
    from tradewind.core.orders import ClientIdFactory, OrderStatus
    from tradewind.venues.live.reconcile import StoredState, reconcile

    ids = ClientIdFactory("bench", session="a")
    with tempfile.TemporaryDirectory() as folder:
        client, venue, repository, keeper = await _setup(port, key, folder)
        try:
            for _ in range(30):  # warm-up: the connection, ccxt's caches, the database
                await _bare(client, 1, [])
            await _ours(keeper, ids, 30, [])
            ours: list[float] = []
            bare: list[float] = []
            rounds = 10
            for _ in range(rounds):
                await _bare(client, count // rounds, bare)
                await _ours(keeper, ids, count // rounds, ours)
            # Reconcile: the database holds 500 of the bot's orders as open (the newest ones).
            stored_open = [o for o in repository.load_orders() if not o.status.is_terminal]
            # Every one of the bot's orders rests; the reconcile must account for all of them.
            stored = StoredState(
                open_orders={o.client_id: o.symbol for o in stored_open},
                last_fill_ts=int(time.time() * 1000), trade_ids=frozenset(),
            )  # fmt: skip
            fresh = type(venue)(client, venue.instruments, poll_s=3600.0)
            start = time.perf_counter()
            report = await reconcile(fresh, stored, own_prefix=ids.prefix, strict=False)
            took = time.perf_counter() - start
            await fresh.close()
            still_open = sum(1 for o in report.orders.values() if o.status is OrderStatus.ACCEPTED)
            if report.missing or report.divergences or still_open != len(stored_open):
                raise RuntimeError(f"reconcile went wrong: {report.summary()}")
            return ours, bare, took, len(stored_open)
        finally:
            await venue.close()
            repository.close()
            await client.close()


def run(quick: bool) -> list[Row]:
    """Time the order round trip with and without Tradewind, and one reconcile of 500 orders
    (the same counts quick or not)."""
    import multiprocessing as mp

    key_q = mp.get_context("spawn").Queue()
    proc, port = _start(_serve_sim, key_q, "orders")
    key = key_q.get(timeout=10)
    # The orders the round-trip timing leaves resting (30 of them warm-up) are the ones
    # reconciled, so the count is fixed: 500 round trips of each kind are plenty for a median.
    count = _RECONCILE_ORDERS - 30
    try:
        ours, bare, took, reconciled = asyncio.run(_measure(port, key, count))
    finally:
        proc.terminate()
    ours_med, bare_med = statistics.median(ours), statistics.median(bare)
    added = ours_med - bare_med
    p95 = sorted(ours)[int(0.95 * len(ours))]
    return [
        Row("live", "order round trip, write-ahead included (median)", ours_med,
            peer_name="bare async ccxt create_order", peer=bare_med,
            note=f"{len(ours)} resting limits each; our p95 {p95 * 1e3:.2f} ms"),
        Row("live", "order round trip added by Tradewind (median difference)", max(added, 0.0),
            target="<= 1 ms", note=f"{added * 1e3:.3f} ms; SQLite WAL, synchronous=NORMAL"),
        Row("live", f"reconcile {reconciled} open orders before trading", took,
            target="<= 2 s", note="open-order list, the rest by client id, fills, balances"),
    ]  # fmt: skip


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
