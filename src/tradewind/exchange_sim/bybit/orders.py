"""Bybit v5 order parameters and order rendering, over the shared core's orders.

A Bybit order (``orderType`` Market/Limit, ``timeInForce`` GTC/IOC/FOK/PostOnly, ``triggerPrice``
with ``triggerDirection``, ``reduceOnly``, ``orderLinkId``) becomes the core's
:class:`~..order_params.OrderRequest`:

==================================  =============================================================
Bybit                               core order
==================================  =============================================================
Limit, PostOnly                     spot ``LIMIT_MAKER``; linear ``LIMIT`` with ``GTX``
Market (spot Buy)                   ``MARKET`` by cost: ``qty`` is quote unless
                                    ``marketUnit=baseCoin`` (Bybit's default for spot buys)
triggerPrice, direction 1 (rises)   Buy: stop (``STOP``/``STOP_LOSS``); Sell: take-profit
triggerPrice, direction 2 (falls)   Buy: take-profit; Sell: stop
==================================  =============================================================

A PostOnly order that would take is accepted and at once cancelled, as Bybit does
(``rejectReason`` ``EC_PostOnlyWillTakeLiquidity``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tradewind.exchange_sim.accounts import fmt_dec
from tradewind.exchange_sim.bybit import errors
from tradewind.exchange_sim.bybit.common import Params, text
from tradewind.exchange_sim.bybit.errors import BybitError
from tradewind.exchange_sim.engine import LiveMarket
from tradewind.exchange_sim.order_params import OrderRequest
from tradewind.exchange_sim.orders import MARKET_LIKE, SimOrder

_TIFS = frozenset({"GTC", "IOC", "FOK", "PostOnly"})
_SPOT_STOP = {("up", True): "STOP_LOSS", ("down", True): "TAKE_PROFIT",
              ("up", False): "TAKE_PROFIT", ("down", False): "STOP_LOSS"}  # fmt: skip
_FUTURES_STOP = {("up", True): "STOP", ("down", True): "TAKE_PROFIT",
                 ("up", False): "TAKE_PROFIT", ("down", False): "STOP"}  # fmt: skip
POST_ONLY_REJECT = "EC_PostOnlyWillTakeLiquidity"


@dataclass(frozen=True)
class BybitOrder:
    """A checked Bybit order: the core's request plus what Bybit echoes back."""

    request: OrderRequest
    trigger_direction: int
    post_only: bool


def decimal(params: Params, name: str) -> Decimal | None:
    """Return a decimal parameter, None when absent (``10001`` when malformed or negative)."""
    raw = text(params, name)
    if raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BybitError(errors.PARAMS, detail=f"{name} invalid") from None
    if not value.is_finite() or value < 0:
        raise BybitError(errors.PARAMS, detail=f"{name} invalid")
    return value


def check_price(value: Decimal, market: LiveMarket) -> None:
    """Refuse a price off the tick grid or outside the price filter."""
    listing = market.listing
    if value % listing.tick_size != 0:
        raise BybitError(errors.PRICE if market.futures else errors.SPOT_PRICE_DECIMALS)
    if value < (listing.min_price or listing.tick_size) or value > listing.max_price:
        raise BybitError(errors.PRICE)


def check_qty(value: Decimal, market: LiveMarket) -> None:
    """Refuse a base quantity off the lot step or outside the lot-size filter."""
    listing = market.listing
    if value % listing.step_size != 0:
        raise BybitError(errors.QTY if market.futures else errors.SPOT_QTY_DECIMALS)
    if value < (listing.min_qty or listing.step_size) or value > listing.max_qty:
        raise BybitError(errors.QTY)


def parse(params: Params, market: LiveMarket) -> BybitOrder:
    """Check a ``/v5/order/create`` request against Bybit's rules and the instrument's filters."""
    futures = market.futures
    side = text(params, "side")
    if side not in ("Buy", "Sell"):
        raise BybitError(errors.PARAMS, detail="side invalid")
    buy = side == "Buy"
    kind = text(params, "orderType")
    if kind not in ("Market", "Limit"):
        raise BybitError(errors.PARAMS, detail="orderType invalid")
    tif = text(params, "timeInForce") or ("IOC" if kind == "Market" else "GTC")
    if tif not in _TIFS:
        raise BybitError(errors.PARAMS, detail="timeInForce invalid")
    qty = decimal(params, "qty")
    if qty is None or qty == 0:
        raise BybitError(errors.QTY)
    price = decimal(params, "price") if kind == "Limit" else None
    if kind == "Limit" and price is None:
        raise BybitError(errors.PARAMS, detail="price invalid")
    if price is not None:
        check_price(price, market)
    trigger = decimal(params, "triggerPrice")
    if trigger is not None and trigger == 0:
        trigger = None
    direction = int(text(params, "triggerDirection") or 0)
    if trigger is not None:
        check_price(trigger, market)
        if direction not in (1, 2):
            ref = market.last_price or market.best_opposite(buy)
            direction = 1 if ref is None or trigger > ref else 2
    by_cost = not futures and kind == "Market" and buy and text(params, "marketUnit") != "baseCoin"
    if not by_cost:
        check_qty(qty, market)
    listing = market.listing
    reduce_only = text(params, "reduceOnly").lower() == "true"
    if reduce_only and not futures:
        raise BybitError(errors.PARAMS, detail="reduceOnly is for derivatives")
    reference = price or trigger or market.best_opposite(buy)
    notional = qty if by_cost else qty * reference if reference is not None else None
    if notional is not None and notional < listing.min_notional and not reduce_only:
        if futures:
            raise BybitError(errors.MIN_VALUE, min=fmt_dec(listing.min_notional))
        raise BybitError(errors.SPOT_MIN_VALUE)
    post_only = tif == "PostOnly"
    core_tif = "GTC" if post_only else tif
    if trigger is not None:
        table = _FUTURES_STOP if futures else _SPOT_STOP
        core_type = table[("up" if direction == 1 else "down", buy)]
        if kind == "Limit":
            core_type += "_LIMIT" if not futures else ""
        elif futures:
            core_type += "_MARKET"
    elif kind == "Market":
        core_type = "MARKET"
    elif post_only and not futures:
        core_type = "LIMIT_MAKER"
    else:
        core_type = "LIMIT"
    if post_only and futures:
        core_tif = "GTX"
    request = OrderRequest(
        symbol=listing.symbol,
        side="BUY" if buy else "SELL",
        type=core_type,
        tif=core_tif,
        qty=Decimal(0) if by_cost else qty,
        price=price,
        stop_price=trigger,
        quote_qty=qty if by_cost else Decimal(0),
        client_id=text(params, "orderLinkId") or None,
        reduce_only=reduce_only,
        close_position=False,
        working_type="CONTRACT_PRICE",
        resp_type="ACK",
    )
    return BybitOrder(request, direction if trigger is not None else 0, post_only)


def _status(order: SimOrder) -> str:
    if order.waiting_trigger and order.is_open:
        return "Untriggered"
    if order.status == "NEW":
        return "New"
    if order.status == "PARTIALLY_FILLED":
        return "PartiallyFilled"
    if order.status == "FILLED":
        return "Filled"
    if order.status == "REJECTED":
        return "Rejected"
    if order.stop_price is not None and not order.triggered:
        return "Deactivated"
    return "PartiallyFilledCanceled" if order.filled > 0 else "Cancelled"


def order_json(order: SimOrder, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Render an order as ``/v5/order/realtime`` and the ``order`` stream list it."""
    meta = extra or {}
    post_only = order.type == "LIMIT_MAKER" or order.tif == "GTX"
    market_like = order.type in MARKET_LIKE
    qty = order.qty if order.quote_qty == 0 else order.quote_qty
    leaves = max(order.qty - order.filled, Decimal(0)) if order.is_open else Decimal(0)
    fee = sum((Decimal(f["commission"]) for f in order.fills), Decimal(0))
    trigger = fmt_dec(order.stop_price) if order.stop_price is not None else "0"
    stop_kind = ""
    if order.stop_price is not None:
        stop_kind = "Stop" if order.type.startswith("STOP") else "TakeProfit"
        stop_kind = meta.get("stopOrderType", stop_kind)
    return {
        "orderId": str(order.order_id), "orderLinkId": order.client_id, "blockTradeId": "",
        "symbol": order.symbol, "price": fmt_dec(order.price) if order.price is not None else "0",
        "qty": fmt_dec(qty), "side": "Buy" if order.is_buy else "Sell", "isLeverage": "0",
        "positionIdx": 0, "orderStatus": _status(order), "cancelType": "UNKNOWN",
        "rejectReason": meta.get("rejectReason", "EC_NoError"),
        "avgPrice": fmt_dec(order.avg_price) if order.filled > 0 else "",
        "leavesQty": fmt_dec(leaves),
        "leavesValue": fmt_dec(leaves * order.price) if order.price is not None else "0",
        "cumExecQty": fmt_dec(order.filled), "cumExecValue": fmt_dec(order.cum_quote),
        "cumExecFee": fmt_dec(fee),
        "timeInForce": "PostOnly" if post_only else order.tif,
        "orderType": "Market" if market_like else "Limit",
        "stopOrderType": stop_kind, "orderIv": "", "triggerPrice": trigger,
        "takeProfit": "", "stopLoss": "", "tpTriggerBy": "", "slTriggerBy": "",
        "triggerDirection": meta.get("triggerDirection", 0),
        "triggerBy": "LastPrice" if order.stop_price is not None else "",
        "lastPriceOnCreated": "", "reduceOnly": order.reduce_only or order.close_position,
        "closeOnTrigger": order.close_position, "smpType": "None", "smpGroup": 0,
        "smpOrderId": "", "tpslMode": "", "tpLimitPrice": "", "slLimitPrice": "",
        "placeType": "", "marketUnit": "quoteCoin" if order.quote_qty > 0 else "",
        "createdTime": str(order.created_ms), "updatedTime": str(order.updated_ms),
    }  # fmt: skip
