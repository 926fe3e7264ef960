"""Spot OCO: a take-profit and a stop as one order list on the exchange (Binance
``POST /api/v3/orderList/oco``), so the balance they cover is locked once and the fill of one leg
expires the other on the exchange itself, even while the bot is down.

Each leg is an ordinary order with its own client id: the live port follows, looks up and books
each leg as any other order. This module checks a pair of legs and translates it into the
request's parameters.
"""

from __future__ import annotations

from typing import Any

from tradewind.core.instrument import Instrument
from tradewind.core.orders import Order, OrderType
from tradewind.core.records import Side

__all__ = ["oco_params", "oco_refusal"]

_STOPS = (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)


def oco_refusal(take_profit: Order, stop: Order, instrument: Instrument | None) -> str:
    """Why the pair cannot be one OCO list (empty: it can)."""
    if instrument is None or not instrument.is_spot:
        return f"{take_profit.symbol}: an OCO list is a spot order"
    if stop.symbol != take_profit.symbol or stop.side is not take_profit.side:
        return "the legs of an OCO list share one symbol and one side"
    if stop.quantity != take_profit.quantity or not take_profit.quantity:
        return "the legs of an OCO list share one quantity"
    if take_profit.type is not OrderType.LIMIT or take_profit.price is None:
        return "the take-profit leg of an OCO list is a limit order"
    if stop.type not in _STOPS or stop.trigger_price is None:
        return "the stop leg of an OCO list is a stop-market or stop-limit order"
    sell = take_profit.side is Side.SELL
    if (
        (take_profit.price <= stop.trigger_price)
        if sell
        else (take_profit.price >= stop.trigger_price)
    ):
        return "an OCO list's take-profit lies beyond its stop (above it for a sell)"
    return ""


def oco_params(take_profit: Order, stop: Order, market_id: str) -> dict[str, Any]:
    """The parameters of ``orderList/oco`` for a checked pair (:func:`oco_refusal`)."""
    assert take_profit.price is not None
    assert stop.trigger_price is not None
    limit = {"Type": "LIMIT_MAKER", "Price": str(take_profit.price),
             "ClientOrderId": take_profit.client_id}  # fmt: skip
    guard: dict[str, str] = {"Type": "STOP_LOSS", "StopPrice": str(stop.trigger_price),
                             "ClientOrderId": stop.client_id}  # fmt: skip
    if stop.type is OrderType.STOP_LIMIT and stop.price is not None:
        guard.update(Type="STOP_LOSS_LIMIT", Price=str(stop.price), TimeInForce="GTC")
    # A sell's take-profit lies above the market and its stop below; a buy's the other way.
    above, below = (limit, guard) if take_profit.side is Side.SELL else (guard, limit)
    params: dict[str, Any] = {
        "symbol": market_id,
        "side": take_profit.side.value.upper(),
        "quantity": str(take_profit.quantity),
    }
    params.update({f"above{k}": v for k, v in above.items()})
    params.update({f"below{k}": v for k, v in below.items()})
    return params
