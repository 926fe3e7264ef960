"""Translation between the engine's orders and events and ccxt's Binance order and trade dicts.

Money is read from the exchange's own text (``info``), never from ccxt's parsed floats, so every
price, quantity and commission stays the exact Decimal the exchange sent. Fees are booked from each
fill's commission in its own currency (BNB included), not computed from a rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tradewind.core.events import VenueOrder
from tradewind.core.instrument import Instrument
from tradewind.core.money import ZERO
from tradewind.core.orders import Fill, Liquidity, Order, OrderStatus, OrderType
from tradewind.core.records import Side

_STATUS = {
    "open": OrderStatus.ACCEPTED,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}

STOP_TYPES = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT})

TRIGGERED_FROM = "tradewindTriggeredFrom"
"""Key the port adds to the regular order a USDT-M conditional (algo) order became once it
triggered: the algo order's id (see :mod:`~tradewind.venues.live.conditional`)."""


def dec(value: Any, default: Decimal = ZERO) -> Decimal:
    """The exact Decimal of an exchange string (ccxt floats through their shortest repr)."""
    if value is None or value == "":
        return default
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def create_args(
    order: Order, instrument: Instrument
) -> tuple[str, str, Decimal, Decimal | None, dict[str, Any]]:
    """``(type, side, amount, price, params)`` of ``create_order`` for ``order``.

    The client order id rides on every order; stops use ccxt's unified ``stopLossPrice`` /
    ``takeProfitPrice`` (Binance spot ``STOP_LOSS``/``STOP_LOSS_LIMIT``/``TAKE_PROFIT``, USDT-M
    ``STOP_MARKET``/``STOP``/``TAKE_PROFIT_MARKET``).
    """
    params: dict[str, Any] = {"newClientOrderId": order.client_id}
    kind = "limit" if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else "market"
    if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        if order.post_only:
            params["postOnly"] = True
        else:
            params["timeInForce"] = order.time_in_force.value.upper()
    if order.type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
        params["stopLossPrice"] = str(order.trigger_price)
    elif order.type is OrderType.TAKE_PROFIT:
        params["takeProfitPrice"] = str(order.trigger_price)
    if order.reduce_only and instrument.is_derivative:
        params["reduceOnly"] = True
    amount = order.quantity
    if order.quote_quantity is not None:
        params["quoteOrderQty"] = str(order.quote_quantity)
    return kind, order.side.value, amount, order.price, params


def status_of(order: Mapping[str, Any]) -> OrderStatus:
    """The engine status of a ccxt order dict (a working stop that has triggered is TRIGGERED)."""
    status = _STATUS.get(str(order.get("status")), OrderStatus.ACCEPTED)
    if status is OrderStatus.ACCEPTED:
        if filled_of(order) > 0:
            return OrderStatus.PARTIALLY_FILLED
        if (is_stop(order) or order.get(TRIGGERED_FROM)) and triggered(order):
            return OrderStatus.TRIGGERED
    return status


def is_stop(order: Mapping[str, Any]) -> bool:
    """True for a stop or take-profit order."""
    info = order.get("info") or {}
    kind = str(info.get("type") or order.get("type") or "").upper()
    return kind.startswith(("STOP", "TAKE_PROFIT"))


def triggered(order: Mapping[str, Any]) -> bool:
    """True once a stop order works (Binance spot ``isWorking``; a USDT-M algo order that became a
    regular order; anything filled has triggered)."""
    if order.get(TRIGGERED_FROM):
        return True
    info = order.get("info") or {}
    working = info.get("isWorking")
    return working is True or str(working).lower() == "true" or filled_of(order) > 0


def filled_of(order: Mapping[str, Any]) -> Decimal:
    """Executed quantity."""
    info = order.get("info") or {}
    return dec(info.get("executedQty"), dec(order.get("filled")))


def quantity_of(order: Mapping[str, Any]) -> Decimal:
    """Ordered quantity."""
    info = order.get("info") or {}
    return dec(info.get("origQty"), dec(order.get("amount")))


def average_of(order: Mapping[str, Any]) -> Decimal | None:
    """Average fill price (None before any fill)."""
    info = order.get("info") or {}
    filled = filled_of(order)
    if not filled:
        return None
    quote = dec(info.get("cummulativeQuoteQty") or info.get("cumQuote"))
    if quote:
        return quote / filled
    average = dec(info.get("avgPrice"), dec(order.get("average")))
    return average or None


def client_id_of(order: Mapping[str, Any]) -> str:
    """The order's client id as the exchange stored it."""
    info = order.get("info") or {}
    return str(order.get("clientOrderId") or info.get("clientOrderId") or "")


def fill_of(trade: Mapping[str, Any], client_id: str, currency: Any) -> Fill:
    """A :class:`Fill` from a ccxt trade of ``fetch_my_trades`` (``currency`` maps exchange asset
    ids to ccxt codes)."""
    info = trade.get("info") or {}
    fee = trade.get("fee") or {}
    asset = info.get("commissionAsset")
    maker = info.get("isMaker", info.get("maker"))
    is_maker = maker is True or str(maker).lower() == "true" or trade.get("takerOrMaker") == "maker"
    return Fill(
        client_id=client_id,
        symbol=str(trade["symbol"]),
        side=Side(str(trade["side"])),
        ts=int(info.get("time") or trade["timestamp"]),
        price=dec(info.get("price"), dec(trade.get("price"))),
        quantity=dec(info.get("qty"), dec(trade.get("amount"))),
        fee=dec(info.get("commission"), dec(fee.get("cost"))),
        fee_currency=str(currency(asset) if asset else fee.get("currency") or ""),
        liquidity=Liquidity.MAKER if is_maker else Liquidity.TAKER,
        trade_id=str(info.get("id") or trade["id"]),
    )


def denied(order: Order, instrument: Instrument | None) -> str:
    """Why ``order`` must not be sent as it is (empty: it may)."""
    if instrument is None:
        return f"{order.symbol} is not a traded symbol"
    if order.quantity and order.quantity % instrument.amount_step:
        return f"amount {order.quantity} is not a multiple of the lot step {instrument.amount_step}"
    for name, value in (("price", order.price), ("trigger price", order.trigger_price)):
        if value is not None and value % instrument.price_step:
            return f"{name} {value} is not a multiple of the tick {instrument.price_step}"
    if order.type is OrderType.MARKET and order.post_only:
        return "post-only applies to limit orders only"
    return ""


def rejected(order: Order, reason: str) -> VenueOrder:
    """What the port answers for an order it was told was refused (the exchange keeps none)."""
    return VenueOrder(
        client_id=order.client_id, symbol=order.symbol, status=OrderStatus.REJECTED,
        quantity=order.quantity, filled=ZERO, average_price=None, reason=reason,
    )  # fmt: skip
