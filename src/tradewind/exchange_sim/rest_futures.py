"""USDT-M REST endpoints: trading, account, positions, leverage, margin type, listen keys.

Signed: ``POST/GET/DELETE /fapi/v1/order``, ``GET /fapi/v1/openOrders``,
``DELETE /fapi/v1/allOpenOrders``, ``GET /fapi/v1/allOrders``, ``GET /fapi/v1/userTrades``,
``GET /fapi/v2|v3/account``, ``GET /fapi/v2|v3/balance``, ``GET /fapi/v2|v3/positionRisk``,
``POST /fapi/v1/leverage``, ``POST /fapi/v1/marginType``.
Key only (no signature, as on Binance): ``POST/PUT/DELETE /fapi/v1/listenKey``.
Public, from the live book: ``GET /fapi/v1/depth``, ``/fapi/v1/trades``, ``/fapi/v1/premiumIndex``,
``/fapi/v1/ticker/bookTicker``; ``/fapi/v1/openInterest`` from the accounts' positions
(:func:`~.futures.open_interest`).
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from aiohttp import web

from tradewind.core.brackets import MarginBrackets
from tradewind.exchange_sim import errors
from tradewind.exchange_sim.accounts import ZERO, ApiKey, fmt_dec
from tradewind.exchange_sim.auth import Need, check_key
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.futures import (
    open_interest,
    position_json,
    set_leverage,
    set_margin_type,
)
from tradewind.exchange_sim.ledgers import positions_of
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.market_data import SIM_KEY
from tradewind.exchange_sim.order_params import parse_order
from tradewind.exchange_sim.orders import SimOrder
from tradewind.exchange_sim.rest_common import (
    Params,
    cancel_open,
    int_param,
    json,
    live_market,
    place_order,
    public,
    signed,
    visible,
)
from tradewind.exchange_sim.rest_spot import depth, find_order, trades


def routes() -> list[web.RouteDef]:
    """Return the USDT-M trading and live market-data routes."""
    table = [
        web.post("/fapi/v1/order", signed(Need.FUTURES, _new_order)),
        web.get("/fapi/v1/order", signed(Need.READ, _get_order)),
        web.delete("/fapi/v1/order", signed(Need.FUTURES, _cancel_order)),
        web.get("/fapi/v1/openOrders", signed(Need.READ, _open_orders)),
        web.delete("/fapi/v1/allOpenOrders", signed(Need.FUTURES, _cancel_all)),
        web.get("/fapi/v1/allOrders", signed(Need.READ, _all_orders)),
        web.get("/fapi/v1/userTrades", signed(Need.READ, _user_trades)),
        web.post("/fapi/v1/leverage", signed(Need.FUTURES, _leverage)),
        web.post("/fapi/v1/marginType", signed(Need.FUTURES, _margin_type)),
        web.get("/fapi/v1/leverageBracket", signed(Need.READ, _leverage_bracket)),
        web.post("/fapi/v1/listenKey", _listen_key),
        web.put("/fapi/v1/listenKey", _listen_key),
        web.delete("/fapi/v1/listenKey", _listen_key),
        web.get("/fapi/v1/depth", public(_depth)),
        web.get("/fapi/v1/trades", public(_trades)),
        web.get("/fapi/v1/premiumIndex", public(_premium_index)),
        web.get("/fapi/v1/ticker/bookTicker", public(_book_ticker)),
        web.get("/fapi/v1/openInterest", public(_open_interest)),
    ]
    for version in ("v2", "v3"):
        table += [
            web.get(f"/fapi/{version}/account", signed(Need.READ, _account)),
            web.get(f"/fapi/{version}/balance", signed(Need.READ, _balance)),
            web.get(f"/fapi/{version}/positionRisk", signed(Need.READ, _position_risk)),
        ]
    return table


async def _depth(request: web.Request, sim: SimExchange, params: Params) -> web.Response:
    return await depth(request, sim, params, Api.USDM)


async def _trades(request: web.Request, sim: SimExchange, params: Params) -> web.Response:
    return await trades(request, sim, params, Api.USDM)


async def _premium_index(request: web.Request, sim: SimExchange, params: Params) -> web.Response:
    markets = [live_market(sim, params, Api.USDM)] if "symbol" in params else [
        m for (f, _), m in sim.engine.markets.items() if f
    ]  # fmt: skip
    now = sim.clock()
    rows = []
    for m in markets:
        rate, next_ms = sim._funding(m.symbol)
        mark = fmt_dec((m.mark_price or ZERO).quantize(m.listing.tick_size))
        rows.append({"symbol": m.symbol, "markPrice": mark, "indexPrice": mark,
                     "estimatedSettlePrice": mark, "lastFundingRate": repr(rate),
                     "interestRate": "0.00010000", "nextFundingTime": next_ms, "time": now})  # fmt: skip
    return json(rows[0] if "symbol" in params else rows)


async def _open_interest(request: web.Request, sim: SimExchange, params: Params) -> web.Response:
    m = live_market(sim, params, Api.USDM)
    oi = open_interest(sim.engine, m.symbol).quantize(m.listing.step_size)
    return json({"symbol": m.symbol, "openInterest": fmt_dec(oi), "time": sim.clock()})


async def _book_ticker(request: web.Request, sim: SimExchange, params: Params) -> web.Response:
    m = live_market(sim, params, Api.USDM)
    bid, ask = m.book.bids.best(), m.book.asks.best()
    return json({"symbol": m.symbol, "bidPrice": fmt_dec(bid or ZERO),
                 "bidQty": fmt_dec(m.book.bids.published(bid) if bid else ZERO),
                 "askPrice": fmt_dec(ask or ZERO),
                 "askQty": fmt_dec(m.book.asks.published(ask) if ask else ZERO),
                 "time": sim.clock()})  # fmt: skip


async def _new_order(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market = live_market(sim, params, Api.USDM)
    buy = params.get("side") == "BUY"
    req = parse_order(params, market.listing, futures=True, best_opposite=market.best_opposite(buy))
    order, headers = place_order(request, sim, key, market, req)
    return json(order.futures_json(), headers)


def _find_regular(sim: SimExchange, key: ApiKey, params: Params, *, cancel: bool) -> SimOrder:
    order = find_order(sim, key, params, Api.USDM, cancel=cancel)
    if order.is_waiting_algo:
        # Untriggered algo orders exist only on the algo endpoints (see .algo_orders).
        raise BinanceError(errors.UNKNOWN_ORDER if cancel else errors.NO_SUCH_ORDER)
    return order


async def _get_order(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    return json(_find_regular(sim, key, params, cancel=False).futures_json())


async def _cancel_order(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    order = _find_regular(sim, key, params, cancel=True)
    if not order.is_open:
        raise BinanceError(errors.UNKNOWN_ORDER)
    sim.engine.cancel(order)
    return json(order.futures_json())


async def _open_orders(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    symbol = params.get("symbol") or None
    if symbol is not None:
        live_market(sim, params, Api.USDM)
    return json(
        [
            o.futures_json()
            for o in sim.store.open_orders(key.account, True, symbol)
            if visible(o) and not o.is_waiting_algo
        ]
    )


async def _cancel_all(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market = live_market(sim, params, Api.USDM)
    # Untriggered algo orders are cancelled on the algo endpoints only (see .algo_orders).
    cancel_open(sim, key, True, market.symbol, keep=lambda order: order.is_waiting_algo)
    return json({"code": 200, "msg": "The operation of cancel all open order is done."})


async def _all_orders(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market = live_market(sim, params, Api.USDM)
    limit = min(int_param(params, "limit") or 500, 1000)
    orders = [
        o
        for o in sim.store.all_orders(key.account, True, market.symbol)
        if visible(o) and not o.is_waiting_algo
    ]
    return json([o.futures_json() for o in orders[-limit:]])


async def _user_trades(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market = live_market(sim, params, Api.USDM)
    limit = min(int_param(params, "limit") or 500, 1000)
    start = int_param(params, "startTime")
    rows = [t for t in key.account.futures_trades if t["symbol"] == market.symbol]
    if start is not None:
        rows = [t for t in rows if t["time"] >= start][:limit]
    return json(rows[-limit:])


def _marks(sim: SimExchange) -> dict[str, Decimal]:
    return {s: m.mark_price for (f, s), m in sim.engine.markets.items() if f and m.mark_price}


def _summary(sim: SimExchange, key: ApiKey) -> dict[str, Decimal]:
    acct = key.account
    marks = _marks(sim)
    upnl = init = maint = ZERO
    for symbol, pos in positions_of(acct).items():
        if pos.qty == 0:
            continue
        mark = marks.get(symbol, pos.entry)
        upnl += pos.unrealized(mark)
        init += pos.notional(mark) / pos.leverage
        maint += pos.maintenance(mark)
    available = sim.engine.futures.available(acct, marks, sim.store.open_orders(acct, True, None))
    return {"wallet": acct.futures_wallet, "upnl": upnl, "init": init, "maint": maint,
            "available": max(ZERO, available)}  # fmt: skip


def _signed_dec(value: Decimal) -> str:
    return fmt_dec(value) if value >= 0 else "-" + fmt_dec(-value)


async def _account(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    s = _summary(sim, key)
    acct = key.account
    now = sim.clock()
    asset = {
        "asset": acct.futures_asset, "walletBalance": fmt_dec(s["wallet"]),
        "unrealizedProfit": _signed_dec(s["upnl"]), "marginBalance": _signed_dec(s["wallet"] + s["upnl"]),
        "maintMargin": fmt_dec(s["maint"]), "initialMargin": fmt_dec(s["init"]),
        "positionInitialMargin": fmt_dec(s["init"]), "openOrderInitialMargin": "0",
        "crossWalletBalance": fmt_dec(s["wallet"]), "crossUnPnl": _signed_dec(s["upnl"]),
        "availableBalance": fmt_dec(s["available"]), "maxWithdrawAmount": fmt_dec(s["available"]),
        "marginAvailable": True, "updateTime": acct.update_ms or now,
    }  # fmt: skip
    marks = _marks(sim)
    positions = [position_json(p, marks.get(sym), now) for sym, p in positions_of(acct).items()]
    return json({
        "feeTier": 0, "canTrade": key.permissions.futures, "canDeposit": True,
        "canWithdraw": key.permissions.withdrawals, "updateTime": 0, "multiAssetsMargin": False,
        "totalInitialMargin": fmt_dec(s["init"]), "totalMaintMargin": fmt_dec(s["maint"]),
        "totalWalletBalance": fmt_dec(s["wallet"]), "totalUnrealizedProfit": _signed_dec(s["upnl"]),
        "totalMarginBalance": _signed_dec(s["wallet"] + s["upnl"]),
        "totalPositionInitialMargin": fmt_dec(s["init"]), "totalOpenOrderInitialMargin": "0",
        "totalCrossWalletBalance": fmt_dec(s["wallet"]), "totalCrossUnPnl": _signed_dec(s["upnl"]),
        "availableBalance": fmt_dec(s["available"]), "maxWithdrawAmount": fmt_dec(s["available"]),
        "assets": [asset], "positions": positions,
    })  # fmt: skip


async def _balance(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    s = _summary(sim, key)
    return json([{
        "accountAlias": "sim", "asset": key.account.futures_asset,
        "balance": fmt_dec(s["wallet"]), "crossWalletBalance": fmt_dec(s["wallet"]),
        "crossUnPnl": _signed_dec(s["upnl"]), "availableBalance": fmt_dec(s["available"]),
        "maxWithdrawAmount": fmt_dec(s["available"]), "marginAvailable": True,
        "updateTime": key.account.update_ms,
    }])  # fmt: skip


async def _position_risk(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    marks = _marks(sim)
    now = sim.clock()
    symbol = params.get("symbol") or None
    rows = [
        position_json(p, marks.get(sym), now)
        for sym, p in positions_of(key.account).items()
        if (symbol is None or sym == symbol) and (p.qty != 0 or request.path.startswith("/fapi/v2"))
    ]
    return json(rows)


async def _leverage(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market = live_market(sim, params, Api.USDM)
    leverage = int_param(params, "leverage")
    if leverage is None:
        raise BinanceError(errors.MANDATORY_PARAM, name="leverage")
    return json(set_leverage(key.account, market.symbol, leverage))


async def _margin_type(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    market = live_market(sim, params, Api.USDM)
    return json(set_margin_type(key.account, market.symbol, params.get("marginType", "")))


async def _listen_key(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    try:
        key = check_key(sim.keys, request.headers.get("X-MBX-APIKEY"), Need.USER_STREAM)
    except BinanceError as exc:
        return exc.response()
    existing = next((k for k, v in sim.listen_keys.items() if v is key), None)
    if request.method == "DELETE":
        if existing is not None:
            del sim.listen_keys[existing]
        return json({})
    if request.method == "PUT":
        if existing is None:
            return BinanceError(errors.LISTEN_KEY).response()
        return json({"listenKey": existing})
    if existing is None:
        existing = secrets.token_urlsafe(48)
        sim.listen_keys[existing] = key
    return json({"listenKey": existing})


async def _leverage_bracket(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> web.Response:
    markets = [m for (f, _), m in sim.engine.markets.items() if f]
    if params.get("symbol"):
        markets = [m for m in markets if m.symbol == params["symbol"]]
    return json(
        [
            {
                "symbol": m.symbol,
                "notionalCoef": 1.0,
                "brackets": _brackets_json(m.listing.brackets),
            }
            for m in markets
        ]
    )


def _brackets_json(table: MarginBrackets) -> list[dict[str, Any]]:
    # Binance's initial leverage of a bracket is 1 / (2 x its maintenance rate), floored; the
    # uncapped last bracket is shown with a cap no position reaches.
    rows, floor = [], ZERO
    for number, bracket in enumerate(table.brackets, start=1):
        cap = bracket.cap if bracket.cap is not None else Decimal(9_000_000_000)
        rows.append({
            "bracket": number, "initialLeverage": int(1 / (2 * bracket.rate)),
            "notionalCap": float(cap), "notionalFloor": float(floor),
            "maintMarginRatio": float(bracket.rate), "cum": float(bracket.amount),
        })  # fmt: skip
        floor = cap
    return rows
