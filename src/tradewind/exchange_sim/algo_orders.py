"""USDT-M conditional orders through Binance's algo API, as ccxt 4.5.90 sends them.

ccxt's unified ``create_order`` on a linear swap with ``stopPrice``/``triggerPrice``,
``stopLossPrice`` or ``takeProfitPrice`` posts ``STOP_MARKET``, ``STOP``, ``TAKE_PROFIT_MARKET`` or
``TAKE_PROFIT`` to ``POST /fapi/v1/algoOrder`` (``algoType=CONDITIONAL``, ``triggerPrice``,
``clientAlgoId``); with ``params={'trigger': True}`` it queries ``GET /fapi/v1/algoOrder``,
``GET /fapi/v1/openAlgoOrders``, ``GET /fapi/v1/allAlgoOrders`` and cancels with
``DELETE /fapi/v1/algoOrder`` (``DELETE /fapi/v1/algoOpenOrders`` cancels them all).

An algo order is an ordinary :class:`~.orders.SimOrder` of the stop type with an ``algoId``: it
waits in the matching engine's stop list like any stop and triggers by the same rule. While it
waits it is visible only through the algo endpoints (``algoStatus`` ``NEW``); once triggered it
is a regular order (``orderId`` = the algo order's ``actualOrderId``, its client id the
``clientAlgoId``) that the ordinary order endpoints report, and the algo order reads
``TRIGGERED`` (``FINISHED`` once that order is closed). Cancelled before its trigger it reads
``CANCELED``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp import web

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.accounts import ZERO, ApiKey, fmt_dec
from tradewind.exchange_sim.auth import Need
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.order_params import parse_order
from tradewind.exchange_sim.orders import SimOrder
from tradewind.exchange_sim.rest_common import (
    Params,
    int_param,
    json,
    live_market,
    place_order,
    signed,
    visible,
)

ALGO_TYPES = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"})


def routes() -> list[web.RouteDef]:
    """Return the USDT-M algo (conditional) order routes."""
    return [
        web.post("/fapi/v1/algoOrder", signed(Need.FUTURES, _new_algo)),
        web.get("/fapi/v1/algoOrder", signed(Need.READ, _get_algo)),
        web.delete("/fapi/v1/algoOrder", signed(Need.FUTURES, _cancel_algo)),
        web.get("/fapi/v1/openAlgoOrders", signed(Need.READ, _open_algos)),
        web.get("/fapi/v1/allAlgoOrders", signed(Need.READ, _all_algos)),
        web.delete("/fapi/v1/algoOpenOrders", signed(Need.FUTURES, _cancel_all_algos)),
    ]


def algo_status(order: SimOrder) -> str:
    """Return the ``algoStatus`` of an algo order."""
    if order.triggered:
        return "TRIGGERED" if order.is_open else "FINISHED"
    return order.status  # NEW while waiting; CANCELED or EXPIRED once closed untriggered


def algo_json(order: SimOrder) -> dict[str, Any]:
    """Render an algo order as ``GET /fapi/v1/algoOrder`` does."""
    return {
        "algoId": order.algo_id,
        "clientAlgoId": order.client_id,
        "algoType": "CONDITIONAL",
        "orderType": order.type,
        "symbol": order.symbol,
        "side": order.side,
        "positionSide": "BOTH",
        "timeInForce": order.tif,
        "quantity": fmt_dec(order.qty),
        "algoStatus": algo_status(order),
        "actualOrderId": str(order.order_id) if order.triggered else "",
        "actualPrice": fmt_dec(order.avg_price) if order.triggered else "0",
        "triggerPrice": fmt_dec(order.stop_price or ZERO),
        "price": fmt_dec(order.price or ZERO),
        "icebergQuantity": None,
        "tpTriggerPrice": "0",
        "tpPrice": "0",
        "slTriggerPrice": "0",
        "slPrice": "0",
        "tpOrderType": "",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": order.working_type,
        "priceMatch": "NONE",
        "closePosition": order.close_position,
        "priceProtect": False,
        "reduceOnly": order.reduce_only,
        "createTime": order.created_ms,
        "updateTime": order.updated_ms,
        "triggerTime": order.working_ms if order.triggered else 0,
        "goodTillDate": 0,
    }


async def _new_algo(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    algo_type = params.get("algoType", "")
    if not algo_type:
        raise BinanceError(errors.MANDATORY_PARAM, name="algoType")
    if algo_type != "CONDITIONAL" or params.get("type", "") not in ALGO_TYPES:
        raise BinanceError(errors.BAD_ORDER_TYPE)
    if not params.get("triggerPrice"):
        raise BinanceError(errors.MANDATORY_PARAM, name="triggerPrice")
    market = live_market(sim, params, Api.USDM)
    # The algo API names the trigger and the client id differently; the checks are the same.
    translated = dict(params)
    translated["stopPrice"] = params["triggerPrice"]
    translated.pop("newClientOrderId", None)
    if params.get("clientAlgoId"):
        translated["newClientOrderId"] = params["clientAlgoId"]
    buy = params.get("side") == "BUY"
    req = parse_order(
        translated, market.listing, futures=True, best_opposite=market.best_opposite(buy)
    )
    order, headers = place_order(request, sim, key, market, replace(req, algo=True))
    return json(algo_json(order), headers)


def _find_algo(sim: SimExchange, key: ApiKey, params: Params, *, cancel: bool) -> SimOrder:
    algo_id = int_param(params, "algoId")
    client_id = params.get("clientAlgoId") or None
    if algo_id is None and client_id is None:
        raise BinanceError(errors.MANDATORY_PARAM, name="algoId")
    found: SimOrder | None = None
    if algo_id is not None:
        found = sim.store.algo.get(algo_id)
    else:
        # The newest algo order with that client id (ids may be reused once closed).
        for order in reversed(list(sim.store.algo.values())):
            if order.client_id == client_id:
                found = order
                break
    symbol = params.get("symbol")
    ok = (
        found is not None
        and found.account is key.account
        and (not symbol or found.symbol == symbol)
        and visible(found)
    )
    if not ok or found is None:
        raise BinanceError(errors.UNKNOWN_ORDER if cancel else errors.NO_SUCH_ORDER)
    return found


async def _get_algo(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    return json(algo_json(_find_algo(sim, key, params, cancel=False)))


async def _cancel_algo(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    order = _find_algo(sim, key, params, cancel=True)
    if not order.is_waiting_algo or not order.is_open:
        # Triggered: it is a regular order now, cancelled through DELETE /fapi/v1/order.
        raise BinanceError(errors.UNKNOWN_ORDER)
    sim.engine.cancel(order)
    return json({"algoId": order.algo_id, "clientAlgoId": order.client_id, "code": "200",
                 "msg": "success"})  # fmt: skip


def _waiting(sim: SimExchange, key: ApiKey, symbol: str | None) -> list[SimOrder]:
    return [
        o
        for o in sim.store.open_orders(key.account, True, symbol)
        if o.is_waiting_algo and visible(o)
    ]


async def _open_algos(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    symbol = params.get("symbol") or None
    if symbol is not None:
        live_market(sim, params, Api.USDM)
    return json([algo_json(o) for o in _waiting(sim, key, symbol)])


async def _all_algos(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market = live_market(sim, params, Api.USDM)
    limit = min(int_param(params, "limit") or 500, 1000)
    orders = [
        o
        for o in sim.store.all_orders(key.account, True, market.symbol)
        if o.algo_id is not None and visible(o)
    ]
    return json([algo_json(o) for o in orders[-limit:]])


async def _cancel_all_algos(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market = live_market(sim, params, Api.USDM)
    for order in _waiting(sim, key, market.symbol):
        sim.engine.cancel(order)
    return json({"code": 200, "msg": "The operation of cancel all open order is done."})
