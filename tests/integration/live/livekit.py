"""Helpers of the live-venue tests: funded simulator accounts, the real async ccxt client built by
``connectors``, the live port on it, and the simulator's own ledger to check the bot against."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.instruments import instruments_from_markets
from tradewind.core.events import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    VenueEvent,
)
from tradewind.core.orders import Order, OrderStatus
from tradewind.exchange_sim import LoopbackServer
from tradewind.exchange_sim.accounts import ApiKey
from tradewind.exchange_sim.orders import SimOrder
from tradewind.venues.live import LiveVenuePort

FUNDS = {"USDT": 100_000, "XRP": 20_000}
_names = itertools.count(1)


async def client_for(
    server: LoopbackServer,
    *,
    timeout_ms: int = 3000,
    market_types: tuple[str, ...] = ("spot",),
    futures_usdt: int = 10_000,
    **balances: Any,
) -> tuple[Any, ApiKey]:
    """A loaded ``ccxt.pro`` client (spot markets) for a fresh funded account, and its key."""
    name = f"live{next(_names)}"
    key = server.call(
        lambda: server.sim.open_account(name, balances=balances or FUNDS, futures_usdt=futures_usdt)
    )
    cfg = ExchangeConfig(
        rest_url=server.rest_url, api_key=key.key, secret=key.secret, rate_limit=False,
        timeout_ms=timeout_ms,
    )  # fmt: skip
    client = create_async_client(cfg, market_types=market_types)
    await client.load_markets()
    return client, key


def port_for(client: Any, symbols: list[str], **kw: Any) -> LiveVenuePort:
    """The live port on ``client`` trading ``symbols`` (instruments from the exchange's markets)."""
    return LiveVenuePort(client, instruments_from_markets(client, symbols), **kw)


def ledger(server: LoopbackServer, key: ApiKey, symbol_id: str) -> list[SimOrder]:
    """The simulator's own orders of the account on ``symbol_id`` (not through any client)."""
    return server.call(lambda: list(server.sim.store.all_orders(key.account, False, symbol_id)))


_LEDGER_STATUS = {
    "NEW": OrderStatus.ACCEPTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}


def ledger_status(order: SimOrder) -> OrderStatus:
    """The engine status of a simulator order."""
    return _LEDGER_STATUS[order.status]


@dataclass
class Book:
    """The bot's view of its orders, built only from the port's events (as the Node builds it)."""

    orders: dict[str, Order] = field(default_factory=dict)
    events: list[VenueEvent] = field(default_factory=list)

    def track(self, order: Order) -> Order:
        copy = Order(
            order.client_id, order.symbol, order.side, order.type, order.quantity,
            price=order.price, trigger_price=order.trigger_price,
            time_in_force=order.time_in_force,
        )  # fmt: skip
        copy.submit()
        self.orders[copy.client_id] = copy
        return copy

    def receive(self, events: list[VenueEvent]) -> None:
        self.events.extend(events)
        for event in events:
            order = self.orders.get(getattr(event, "client_id", ""))
            if order is None:
                continue
            if isinstance(event, OrderFilled):
                order.record_fill(event.fill)
            elif isinstance(event, OrderAccepted):
                order.report(OrderStatus.ACCEPTED)
            elif isinstance(event, OrderTriggered):
                order.report(OrderStatus.TRIGGERED)
            elif isinstance(event, OrderCanceled):
                order.report(OrderStatus.CANCELED)
            elif isinstance(event, OrderExpired):
                order.report(OrderStatus.EXPIRED, event.reason)
            elif isinstance(event, OrderRejected):
                order.report(OrderStatus.REJECTED, event.reason)
            elif isinstance(event, CancelRejected):
                continue

    def filled(self, client_id: str) -> Decimal:
        return self.orders[client_id].filled_quantity
