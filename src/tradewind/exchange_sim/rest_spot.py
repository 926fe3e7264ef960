"""Spot REST endpoints: trading (signed), account, OCO lists, and the live-book market data.

Signed: ``POST/GET/DELETE /api/v3/order``, ``POST /api/v3/order/test``, ``GET/DELETE
/api/v3/openOrders``, ``GET /api/v3/allOrders``, ``GET /api/v3/myTrades``, ``GET /api/v3/account``,
``POST /api/v3/orderList/oco`` (and the older ``/api/v3/order/oco``), ``GET/DELETE
/api/v3/orderList``, ``GET /sapi/v1/account/apiRestrictions``.
Public, from the live book: ``GET /api/v3/depth``, ``/api/v3/trades``,
``/api/v3/ticker/bookTicker`` (24-hour tickers: :mod:`.tickers`); and ``/sapi/v1/system/status``.
"""

from __future__ import annotations

from aiohttp import web

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.accounts import ApiKey, InsufficientBalance, fmt_dec
from tradewind.exchange_sim.auth import Need
from tradewind.exchange_sim.engine import LiveMarket
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.faults import FAULT_KEY, FaultKind
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.order_params import OrderRequest, decimal_param, parse_order
from tradewind.exchange_sim.orders import SimOrder
from tradewind.exchange_sim.rest_common import (
    Params,
    apply_order_fault,
    cancel_open,
    count_new_order,
    find_visible,
    int_param,
    json,
    live_market,
    place_order,
    public,
    signed,
    visible,
)

_DEPTH_LIMITS = (100, 5000)


def routes() -> list[web.RouteDef]:
    """Return the spot trading and live market-data routes."""
    return [
        web.post("/api/v3/order", signed(Need.SPOT, _new_order)),
        web.post("/api/v3/order/test", signed(Need.SPOT, _test_order)),
        web.get("/api/v3/order", signed(Need.READ, _get_order)),
        web.delete("/api/v3/order", signed(Need.SPOT, _cancel_order)),
        web.get("/api/v3/openOrders", signed(Need.READ, _open_orders)),
        web.delete("/api/v3/openOrders", signed(Need.SPOT, _cancel_all)),
        web.get("/api/v3/allOrders", signed(Need.READ, _all_orders)),
        web.get("/api/v3/myTrades", signed(Need.READ, _my_trades)),
        web.get("/api/v3/account", signed(Need.READ, _account)),
        web.post("/api/v3/orderList/oco", signed(Need.SPOT, _new_oco)),
        web.post("/api/v3/order/oco", signed(Need.SPOT, _new_oco_legacy)),
        web.get("/api/v3/orderList", signed(Need.READ, _get_list)),
        web.delete("/api/v3/orderList", signed(Need.SPOT, _cancel_list)),
        web.get("/sapi/v1/account/apiRestrictions", signed(Need.READ, _restrictions)),
        web.get("/sapi/v1/system/status", public(_system_status)),
        web.get("/api/v3/depth", public(_depth_spot)),
        web.get("/api/v3/trades", public(_trades_spot)),
        web.get("/api/v3/ticker/bookTicker", public(_book_ticker_spot)),
    ]


# ------------------------------------------------------------------------- market data
async def depth(request: web.Request, sim: SimExchange, params: Params, api: Api) -> web.Response:
    """Answer ``depth`` from the live book (or a stale snapshot under the stale-data fault)."""
    market = live_market(sim, params, api)
    limit = int_param(params, "limit") or _DEPTH_LIMITS[0]
    limit = min(limit, _DEPTH_LIMITS[1])
    sim.engine.finish(market)
    snap = market.book.snapshot(limit)
    fault = request.get(FAULT_KEY)
    if fault is not None and fault.kind is FaultKind.STALE_DATA and market.stale_snapshot:
        snap = market.stale_snapshot
    else:
        market.stale_snapshot = snap
    last_id, bids, asks = snap
    body: dict[str, object] = {"lastUpdateId": last_id}
    if api is Api.USDM:
        now = sim.clock()
        body.update({"E": now, "T": now})
    body.update({"bids": bids, "asks": asks})
    return json(body)


async def _depth_spot(request: web.Request, sim: SimExchange, params: Params) -> web.Response:
    return await depth(request, sim, params, Api.SPOT)


async def trades(request: web.Request, sim: SimExchange, params: Params, api: Api) -> web.Response:
    """Answer ``trades``: the most recent public trades of the live market."""
    market = live_market(sim, params, api)
    limit = min(int_param(params, "limit") or 500, 1000)
    rows = list(market.recent_trades)[-limit:]
    return json([
        {"id": tid, "price": fmt_dec(p), "qty": fmt_dec(q), "quoteQty": fmt_dec(p * q),
         "time": t, "isBuyerMaker": m, "isBestMatch": True}
        for tid, p, q, m, t in rows
    ])  # fmt: skip


async def _trades_spot(request: web.Request, sim: SimExchange, params: Params) -> web.Response:
    return await trades(request, sim, params, Api.SPOT)


def _ticker_row(sim: SimExchange, symbol: str, api: Api) -> dict[str, object]:
    market = sim.live(api, symbol)
    if market is None:
        raise BinanceError(errors.INVALID_SYMBOL)
    book = market.book
    bid, ask = book.bids.best(), book.asks.best()
    return {
        "symbol": symbol,
        "bidPrice": fmt_dec(bid) if bid else "0",
        "bidQty": fmt_dec(book.bids.published(bid)) if bid else "0",
        "askPrice": fmt_dec(ask) if ask else "0",
        "askQty": fmt_dec(book.asks.published(ask)) if ask else "0",
    }


async def _book_ticker_spot(request: web.Request, sim: SimExchange, params: Params) -> web.Response:
    if "symbol" in params:
        return json(_ticker_row(sim, params["symbol"], Api.SPOT))
    return json(
        [_ticker_row(sim, m.symbol, Api.SPOT) for (f, _), m in sim.engine.markets.items() if not f]
    )


async def _system_status(request: web.Request, sim: SimExchange, params: Params) -> web.Response:
    if sim.maintenance:
        return json({"status": 1, "msg": "system maintenance"})
    return json({"status": 0, "msg": "normal"})


# ------------------------------------------------------------------------- orders
def _order_answer(order: SimOrder, resp_type: str, now: int) -> dict[str, object]:
    if resp_type == "ACK":
        return {"symbol": order.symbol, "orderId": order.order_id, "orderListId": order.list_id,
                "clientOrderId": order.client_id, "transactTime": now}  # fmt: skip
    answer = order.spot_ack_json(now)
    if resp_type == "RESULT":
        del answer["fills"]
    return answer


def _parse(sim: SimExchange, params: Params) -> tuple[LiveMarket, OrderRequest]:
    market = live_market(sim, params, Api.SPOT)
    buy = params.get("side") == "BUY"
    req = parse_order(
        params, market.listing, futures=False, best_opposite=market.best_opposite(buy)
    )
    return market, req


async def _new_order(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market, req = _parse(sim, params)
    order, headers = place_order(request, sim, key, market, req)
    return json(_order_answer(order, req.resp_type, sim.clock()), headers)


async def _test_order(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    _parse(sim, params)
    return json({})


def find_order(
    sim: SimExchange, key: ApiKey, params: Params, api: Api, *, cancel: bool
) -> SimOrder:
    """Find the account's order by ``orderId`` or ``origClientOrderId`` (visible ones only)."""
    market = live_market(sim, params, api)
    order_id = int_param(params, "orderId")
    client_id = params.get("origClientOrderId") or None
    if order_id is None and client_id is None:
        raise BinanceError(errors.MANDATORY_PARAM, name="orderId")
    order = find_visible(sim, key, market, order_id, client_id)
    if order is None:
        raise BinanceError(errors.UNKNOWN_ORDER if cancel else errors.NO_SUCH_ORDER)
    return order


async def _get_order(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    return json(find_order(sim, key, params, Api.SPOT, cancel=False).spot_json())


def _cancel_answer(order: SimOrder, params: Params, now: int) -> dict[str, object]:
    answer = order.spot_json(full=False)
    answer["origClientOrderId"] = order.client_id
    answer["clientOrderId"] = params.get("newClientOrderId") or f"cancel-{order.order_id}"
    answer["transactTime"] = now
    return answer


async def _cancel_order(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    order = find_order(sim, key, params, Api.SPOT, cancel=True)
    if not order.is_open:
        raise BinanceError(errors.UNKNOWN_ORDER)
    sim.engine.cancel(order)
    return json(_cancel_answer(order, params, sim.clock()))


async def _open_orders(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    symbol = params.get("symbol") or None
    if symbol is not None:
        live_market(sim, params, Api.SPOT)
    orders = sim.store.open_orders(key.account, False, symbol)
    return json([o.spot_json() for o in orders if visible(o)])


async def _cancel_all(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market = live_market(sim, params, Api.SPOT)
    orders = list(sim.store.open_orders(key.account, False, market.symbol))
    if not orders:
        raise BinanceError(errors.UNKNOWN_ORDER)
    cancel_open(sim, key, False, market.symbol)
    # Binance reports every order that was open, an OCO leg closed with its sibling too.
    return json([_cancel_answer(order, params, sim.clock()) for order in orders])


async def _all_orders(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market = live_market(sim, params, Api.SPOT)
    limit = min(int_param(params, "limit") or 500, 1000)
    start = int_param(params, "startTime")
    orders = [o for o in sim.store.all_orders(key.account, False, market.symbol) if visible(o)]
    if start is not None:
        orders = [o for o in orders if o.created_ms >= start]
    return json([o.spot_json() for o in orders[-limit:]])


async def _my_trades(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market = live_market(sim, params, Api.SPOT)
    limit = min(int_param(params, "limit") or 500, 1000)
    start = int_param(params, "startTime")
    from_id = int_param(params, "fromId")
    rows = [t for t in key.account.trades if t["symbol"] == market.symbol]
    if start is not None:
        rows = [t for t in rows if t["time"] >= start]
    if from_id is not None:
        rows = [t for t in rows if t["id"] >= from_id]
        return json(rows[:limit])
    return json(rows[:limit] if start is not None else rows[-limit:])


async def _account(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    acct = key.account
    maker = int(acct.maker_fee * 10000)
    taker = int(acct.taker_fee * 10000)
    return json({
        "makerCommission": maker, "takerCommission": taker, "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {"maker": fmt_dec(acct.maker_fee), "taker": fmt_dec(acct.taker_fee),
                            "buyer": "0", "seller": "0"},
        "canTrade": key.permissions.spot, "canWithdraw": key.permissions.withdrawals,
        "canDeposit": True, "brokered": False, "requireSelfTradePrevention": False,
        "preventSor": False, "updateTime": acct.update_ms, "accountType": "SPOT",
        "balances": acct.balances_json(), "permissions": ["SPOT"], "uid": id(acct) % 10**9,
    })  # fmt: skip


async def _restrictions(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    return json(key.permissions.restrictions_json(key.created_ms))


# ------------------------------------------------------------------------- OCO
def _leg_params(params: Params, prefix: str) -> dict[str, str]:
    return {
        "symbol": params.get("symbol", ""), "side": params.get("side", ""),
        "type": params.get(f"{prefix}Type", ""), "quantity": params.get("quantity", ""),
        "price": params.get(f"{prefix}Price", ""), "stopPrice": params.get(f"{prefix}StopPrice", ""),
        "timeInForce": params.get(f"{prefix}TimeInForce", ""),
        "newClientOrderId": params.get(f"{prefix}ClientOrderId", ""),
    }  # fmt: skip


async def _new_oco(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    return await _place_oco(
        request, sim, key, params, _leg_params(params, "above"), _leg_params(params, "below")
    )


async def _new_oco_legacy(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    # The older endpoint: a LIMIT_MAKER leg at `price` and a stop leg at `stopPrice`
    # (STOP_LOSS_LIMIT when `stopLimitPrice` is given, else STOP_LOSS).
    limit_leg = {"symbol": params.get("symbol", ""), "side": params.get("side", ""),
                 "type": "LIMIT_MAKER", "quantity": params.get("quantity", ""),
                 "price": params.get("price", ""),
                 "newClientOrderId": params.get("limitClientOrderId", "")}  # fmt: skip
    stop_limit = params.get("stopLimitPrice")
    stop_leg = {"symbol": params.get("symbol", ""), "side": params.get("side", ""),
                "type": "STOP_LOSS_LIMIT" if stop_limit else "STOP_LOSS",
                "quantity": params.get("quantity", ""), "stopPrice": params.get("stopPrice", ""),
                "price": stop_limit or "",
                "timeInForce": params.get("stopLimitTimeInForce", "GTC") if stop_limit else "",
                "newClientOrderId": params.get("stopClientOrderId", "")}  # fmt: skip
    sell = params.get("side") == "SELL"
    above, below = (limit_leg, stop_leg) if sell else (stop_leg, limit_leg)
    return await _place_oco(request, sim, key, params, above, below)


async def _place_oco(
    request: web.Request,
    sim: SimExchange,
    key: ApiKey,
    params: Params,
    above: dict[str, str],
    below: dict[str, str],
) -> web.Response:
    market = live_market(sim, params, Api.SPOT)
    if decimal_param(params, "quantity") is None:
        raise BinanceError(errors.MANDATORY_PARAM, name="quantity")
    legs = []
    for leg in (above, below):
        clean = {k: v for k, v in leg.items() if v}
        if "type" not in clean:
            raise BinanceError(
                errors.MANDATORY_PARAM, name="aboveType" if leg is above else "belowType"
            )
        req = parse_order(clean, market.listing, futures=False, best_opposite=None)
        legs.append(req)
    a_ref = legs[0].price or legs[0].stop_price
    b_ref = legs[1].price or legs[1].stop_price
    if a_ref is None or b_ref is None or a_ref <= b_ref:
        raise BinanceError(errors.OCO_PRICES)
    count_new_order(sim, key)
    headers = count_new_order(sim, key)  # an OCO list counts as two orders
    engine = sim.engine
    acct = key.account
    listing = market.listing
    quantity = legs[0].qty
    try:
        if params.get("side") == "SELL":
            reservation = acct.lock(listing.base, quantity)
        else:
            reservation = acct.lock(listing.quote, max(a_ref, b_ref) * quantity)
    except InsufficientBalance:
        raise BinanceError(errors.INSUFFICIENT) from None
    reservation.holders = 2
    list_id = sim.store.next_list_id()
    placed: list[SimOrder] = []
    sim.store.lists[list_id] = placed
    try:
        for req in legs:
            placed.append(engine.place(acct, market, req, list_id=list_id, reservation=reservation))
    except BinanceError:
        for order in placed:
            if order.is_open:
                engine.cancel(order)
        if reservation.remaining > 0 and reservation.holders > 0:
            reservation.holders = 0
            acct.release(reservation)
        raise
    for order in placed:
        apply_order_fault(request, sim, order)
    return json(_list_json(list_id, placed, params, sim.clock()), headers)


def _list_json(list_id: int, orders: list[SimOrder], params: Params, now: int) -> dict[str, object]:
    done = all(not o.is_open for o in orders)
    return {
        "orderListId": list_id, "contingencyType": "OCO",
        "listStatusType": "ALL_DONE" if done else "EXEC_STARTED",
        "listOrderStatus": "ALL_DONE" if done else "EXECUTING",
        "listClientOrderId": params.get("listClientOrderId") or f"list-{list_id}",
        "transactionTime": now, "symbol": orders[0].symbol if orders else params.get("symbol", ""),
        "orders": [{"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_id} for o in orders],
        "orderReports": [o.spot_json(full=False) for o in orders],
    }  # fmt: skip


async def _get_list(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    list_id = int_param(params, "orderListId")
    orders = sim.store.lists.get(list_id or -1)
    if not orders or orders[0].account is not key.account:
        raise BinanceError(errors.NO_SUCH_ORDER_LIST)
    return json(_list_json(list_id or -1, orders, params, sim.clock()))


async def _cancel_list(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    list_id = int_param(params, "orderListId")
    orders = sim.store.lists.get(list_id or -1)
    if not orders or orders[0].account is not key.account or all(not o.is_open for o in orders):
        raise BinanceError(errors.NO_SUCH_ORDER_LIST)
    sim.engine.cancel(next(o for o in orders if o.is_open))
    return json(_list_json(list_id or -1, orders, params, sim.clock()))
