"""A churning live trader for the kill -9 tests: reconcile, then churn orders, all written ahead.

Usage: ``python churn_child.py REST_URL API_KEY SECRET BOTS_DIR CYCLES``. Each cycle: a market
buy, its protective stop on the exchange, the stop moved by cancel-replace, a market exit in the
stop's place, and a resting limit buy and its cancel (5 orders). Crash points fire from
``TRADEWIND_CRASH_AT``; ``during_reconciliation`` is the one this script owns.
"""

from __future__ import annotations

import asyncio
import sys
import time
from decimal import Decimal

from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.instruments import instruments_from_markets
from tradewind.core.crash import crash_point
from tradewind.core.money import ZERO
from tradewind.core.orders import ClientIdFactory, Fill, Order, OrderStatus, OrderType
from tradewind.core.records import Side
from tradewind.engine.protective_stop import ProtectiveStops
from tradewind.engine.write_ahead import WriteAheadOrders
from tradewind.persistence.bots import open_bot
from tradewind.venues.live import LiveVenuePort
from tradewind.venues.live.reconcile import StoredState, reconcile

SYMBOL = "XRP/USDT"
PREFIX = "tw-churn"
QTY = Decimal(10)


async def _wait(keeper: WriteAheadOrders, client_id: str, done: set[OrderStatus]) -> None:
    deadline = time.monotonic() + 10
    while keeper.orders[client_id].status not in done:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{client_id} stuck at {keeper.orders[client_id].status}")
        await asyncio.sleep(0.01)


async def main(rest_url: str, key: str, secret: str, bots_dir: str, cycles: int) -> None:
    entered = time.time()  # the interpreter and the imports are behind us
    cfg = ExchangeConfig(rest_url=rest_url, api_key=key, secret=secret, rate_limit=False,
                         timeout_ms=3000)  # fmt: skip
    client = create_async_client(cfg, market_types=("spot",))
    await client.load_markets()
    port = LiveVenuePort(
        client, instruments_from_markets(client, [SYMBOL]), poll_s=0.05, visibility_s=1.0
    )
    bot = open_bot("churn", bots_dir=bots_dir)
    repository = bot.repository()
    keeper = WriteAheadOrders(repository, port, strategy_id="churn")
    stored_orders = repository.load_orders()
    keeper.adopt(stored_orders)
    port.subscribe(keeper.on_events)
    fills = [f for f, _ in repository.load_fills()]
    # Reconcile before trading: every order not ended, fills since the newest stored one.
    stored = StoredState(
        open_orders={o.client_id: o.symbol for o in stored_orders if not o.status.is_terminal},
        last_fill_ts=max((f.ts for f in fills), default=0),
        trade_ids=frozenset(f.trade_id for f in fills),
    )
    report = await reconcile(port, stored, own_prefix=PREFIX, strict=False)
    now = int(time.time() * 1000)
    by_order: dict[str, list[Fill]] = {}
    for fill in report.new_fills:
        by_order.setdefault(fill.client_id, []).append(fill)
    for client_id, found in sorted(report.orders.items()):
        keeper.resolve(found, by_order.pop(client_id, []), now)
        crash_point("during_reconciliation")  # one order booked, the rest not yet
    for late in by_order.values():  # fills of orders stored as ended (a fill that raced)
        for fill in late:
            keeper.book_fill(fill)
    for client_id in report.missing:
        keeper.lost(client_id, now, "lost: not on the exchange after a restart")
    print(f"reconciled {len(report.orders)} orders, {len(report.new_fills)} new fills", flush=True)
    ids = ClientIdFactory("churn", session=str(int(time.time() * 1000) % 100_000))
    ask = Decimal(repr((await client.fetch_order_book(SYMBOL, 5))["asks"][0][0]))
    low = port.instruments[SYMBOL].round_price(ask * Decimal("0.7"))
    ended = {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
    stops = ProtectiveStops(keeper, ids)
    instrument = port.instruments[SYMBOL]
    first = True
    for _ in range(cycles):
        buy = Order(ids.next(), SYMBOL, Side.BUY, OrderType.MARKET, QTY, strategy_id="churn")
        keeper.place(buy, int(time.time() * 1000))
        await _wait(keeper, buy.client_id, ended)
        if first:
            # Trading again: the parent times a restart to this line (the issue: 10 s at p95).
            now = time.time()
            print(f"first trade at {now:.3f} after {now - entered:.3f}", flush=True)
            first = False
        held = instrument.round_amount(
            buy.filled_quantity - sum((f.fee for f in buy.fills if f.fee_currency == "XRP"), ZERO)
        )
        if held > 0:
            # Protect the entry on the exchange, trail it once, then exit in the stop's place.
            stop = stops.protect("churn", SYMBOL, Side.SELL, held, low, int(time.time() * 1000))
            await _wait(keeper, stop.client_id, ended | {OrderStatus.ACCEPTED})
            moved = stops.move(
                "churn", SYMBOL, low + instrument.price_step, int(time.time() * 1000)
            )
            await _wait(keeper, moved.client_id, ended | {OrderStatus.ACCEPTED})
            exit_order = stops.exit("churn", SYMBOL, int(time.time() * 1000))
            await _wait(keeper, exit_order.client_id, ended)
        rest = Order(ids.next(), SYMBOL, Side.BUY, OrderType.LIMIT, QTY, price=low,
                     strategy_id="churn")  # fmt: skip
        keeper.place(rest, int(time.time() * 1000))
        await _wait(keeper, rest.client_id, ended | {OrderStatus.ACCEPTED})
        keeper.cancel(rest.client_id, int(time.time() * 1000))
        await _wait(keeper, rest.client_id, ended)
    await port.close()
    await client.close()
    repository.close()
    print("done", flush=True)


if __name__ == "__main__":
    url, api_key, api_secret, folder, count = sys.argv[1:6]
    asyncio.run(main(url, api_key, api_secret, folder, int(count)))
