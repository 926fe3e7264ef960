"""Bybit v5 order endpoints: create, amend, cancel, cancel-all, realtime, history, executions.

Signed (see :mod:`.common`); ``category`` ``spot`` or ``linear``. Orders go through the shared
matching core (:mod:`..engine`), so fills, fees and balances follow the same rules as on the
Binance side. What Bybit echoes and the core does not keep (``triggerDirection``, the PostOnly
rejection, TP/SL kinds) lives in :class:`OrderNotes`, kept as long as the core keeps the order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from tradewind.exchange_sim.accounts import ApiKey, fmt_dec
from tradewind.exchange_sim.amend import amend_order
from tradewind.exchange_sim.bybit import errors
from tradewind.exchange_sim.bybit.common import (
    Params,
    category,
    live_market,
    signed,
    text,
)
from tradewind.exchange_sim.bybit.errors import BybitError
from tradewind.exchange_sim.bybit.orders import (
    POST_ONLY_REJECT,
    check_price,
    check_qty,
    decimal,
    order_json,
    parse,
)
from tradewind.exchange_sim.engine import LiveMarket
from tradewind.exchange_sim.errors import FUTURES_POST_ONLY, WOULD_TAKE, BinanceError
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.order_params import OrderRequest
from tradewind.exchange_sim.orders import SimOrder
from tradewind.exchange_sim.rest_common import (
    cancel_open,
    find_visible,
    place_order,
    visible,
)


@dataclass
class OrderNotes:
    """Bybit fields of orders that the shared core does not keep, by order id."""

    notes: dict[int, dict[str, Any]] = field(default_factory=dict)

    def note(self, order: SimOrder, **fields: Any) -> None:
        """Remember Bybit fields of ``order``."""
        self.notes.setdefault(order.order_id, {}).update(fields)

    def of(self, order: SimOrder) -> dict[str, Any]:
        """Return the remembered fields of ``order`` (empty when none)."""
        return self.notes.get(order.order_id, {})

    def forget_missing(self, sim: SimExchange) -> None:
        """Drop notes of orders the core has forgotten (bounds memory on long runs)."""
        for oid in [o for o in self.notes if o not in sim.store.by_id]:
            del self.notes[oid]


_log = logging.getLogger(__name__)
NOTES_KEY: web.AppKey[OrderNotes] = web.AppKey("bybit_order_notes", OrderNotes)


def routes() -> list[web.RouteDef]:
    """Return Bybit's order routes."""
    return [
        web.post("/v5/order/create", signed(_create)),
        web.post("/v5/order/amend", signed(_amend)),
        web.post("/v5/order/cancel", signed(_cancel)),
        web.post("/v5/order/cancel-all", signed(_cancel_all)),
        web.get("/v5/order/realtime", signed(_realtime)),
        web.get("/v5/order/history", signed(_history)),
        web.get("/v5/execution/list", signed(_executions)),
    ]


def render(request: web.Request, order: SimOrder) -> dict[str, Any]:
    """Render ``order`` with its Bybit notes."""
    return order_json(order, request.app[NOTES_KEY].of(order))


def place(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params, market: LiveMarket
) -> SimOrder:
    """Place a Bybit order on the shared core; return the core's order."""
    checked = parse(params, market)
    tpsl = _attached_tpsl(params, market)
    notes = request.app[NOTES_KEY]
    try:
        order, _ = place_order(request, sim, key, market, checked.request)
    except BinanceError as exc:
        if not checked.post_only or exc.spec not in (WOULD_TAKE, FUTURES_POST_ONLY):
            raise
        order = _post_only_cancelled(sim, key, market, checked.request)
        notes.note(order, rejectReason=POST_ONLY_REJECT)
        return order
    if checked.trigger_direction:
        notes.note(order, triggerDirection=checked.trigger_direction)
    if tpsl:
        # TP/SL sent with a linear order become the position's once the order fills (Full
        # mode); a resting order's (or a ghost-filled one's, on the next loop turn) are applied
        # by the stream listener on its first fill.
        notes.note(order, tpsl=tpsl)
        apply_attached_tpsl(sim, notes, order)
    return order


def _attached_tpsl(params: Params, market: LiveMarket) -> dict[str, Decimal]:
    wanted: dict[str, Decimal] = {}
    buy = text(params, "side") == "Buy"
    base = market.last_price or market.best_opposite(buy)
    for name in ("takeProfit", "stopLoss"):
        value = decimal(params, name)
        if value:
            if not market.futures:
                raise BybitError(errors.PARAMS, detail=f"{name} on spot orders is not served")
            check_price(value, market)
            # A long's take-profit lies above the price and its stop-loss below (a short's the
            # other way round), as Bybit checks when the order arrives.
            above = (name == "takeProfit") == buy
            if base is not None and (value <= base if above else value >= base):
                side = "higher" if above else "lower"
                raise BybitError(errors.PARAMS, detail=f"{name} should be {side} than {base}")
            wanted[name] = value
    return wanted


def apply_attached_tpsl(sim: SimExchange, notes: OrderNotes, order: SimOrder) -> None:
    """Set the TP/SL sent with ``order`` on its position, once it has filled."""
    pending = notes.of(order).get("tpsl")
    if not pending or order.filled == 0:
        return
    del notes.notes[order.order_id]["tpsl"]
    from tradewind.exchange_sim.bybit.account import set_position_tpsl

    market = sim.engine.markets[(True, order.symbol)]
    try:
        set_position_tpsl(sim, notes, order.account, market, pending)
    except BinanceError as exc:
        # The price moved through the level before the order filled: Bybit drops it too.
        _log.warning("TP/SL of order %d not set: %s", order.order_id, exc.message)


def _post_only_cancelled(
    sim: SimExchange, key: ApiKey, market: LiveMarket, req: OrderRequest
) -> SimOrder:
    # Bybit accepts a PostOnly order that would take and cancels it at once.
    oid = sim.store.next_id()
    order = SimOrder.from_request(
        req, order_id=oid, client_id=req.client_id or f"sim-{oid}", account=key.account,
        futures=market.futures, now=sim.clock(),
    )  # fmt: skip
    order.status = "CANCELED"
    sim.store.add(order)
    sim.engine.sink.order_update(order, "CANCELED", None)
    return order


async def _create(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, str]:
    market = live_market(sim, params, category(params))
    order = place(request, sim, key, params, market)
    return {"orderId": str(order.order_id), "orderLinkId": order.client_id}


def find(
    sim: SimExchange, key: ApiKey, params: Params, market: LiveMarket, *, open_only: bool = False
) -> SimOrder:
    """Find the account's order by ``orderId`` or ``orderLinkId`` (``110001``/``170213``).

    With ``open_only`` a closed order is as missing (too late to amend or cancel).
    """
    order_id_text = text(params, "orderId")
    link = text(params, "orderLinkId") or None
    missing = errors.ORDER_NOT_FOUND if market.futures else errors.SPOT_ORDER_NOT_FOUND
    if not order_id_text and link is None:
        raise BybitError(errors.PARAMS, detail="orderId or orderLinkId is required")
    try:
        order_id = int(order_id_text) if order_id_text else None
    except ValueError:
        raise BybitError(missing) from None
    order = find_visible(sim, key, market, order_id, link)
    if order is None or (open_only and not order.is_open):
        raise BybitError(missing)
    return order


async def _amend(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, str]:
    market = live_market(sim, params, category(params))
    order = find(sim, key, params, market, open_only=True)
    qty, price = decimal(params, "qty"), decimal(params, "price")
    trigger = decimal(params, "triggerPrice")
    if qty is not None:
        check_qty(qty, market)
        if qty <= order.filled:
            raise BybitError(errors.QTY)
    if price is not None:
        check_price(price, market)
    if trigger is not None:
        check_price(trigger, market)
    unchanged = (qty in (None, order.qty) and price in (None, order.price)
                 and trigger in (None, order.stop_price))  # fmt: skip
    if unchanged:
        raise BybitError(errors.NOT_MODIFIED)
    amend_order(sim.engine, order, qty=qty, price=price, trigger=trigger)
    return {"orderId": str(order.order_id), "orderLinkId": order.client_id}


async def _cancel(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, str]:
    market = live_market(sim, params, category(params))
    order = find(sim, key, params, market, open_only=True)
    sim.engine.cancel(order)
    return {"orderId": str(order.order_id), "orderLinkId": order.client_id}


async def _cancel_all(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    api = category(params)
    symbol = text(params, "symbol") or None
    if symbol is not None:
        live_market(sim, params, api)
    cancelled = cancel_open(sim, key, api is Api.USDM, symbol)
    out = [{"orderId": str(o.order_id), "orderLinkId": o.client_id} for o in cancelled]
    return {"list": out, "success": "1"}


def _limit(params: Params) -> int:
    try:
        return max(1, min(int(text(params, "limit") or 20), 50))
    except ValueError:
        raise BybitError(errors.PARAMS, detail="limit invalid") from None


def _one(request: web.Request, sim: SimExchange, key: ApiKey, params: Params) -> list[Any] | None:
    """The single order named by id or link id, or None when the query names none."""
    if not (text(params, "orderId") or text(params, "orderLinkId")):
        return None
    market = live_market(sim, params, category(params))
    try:
        return [render(request, find(sim, key, params, market))]
    except BybitError:
        return []


async def _realtime(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    return _orders_page(request, sim, key, params, history=False)


async def _history(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    return _orders_page(request, sim, key, params, history=True)


def _orders_page(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params, *, history: bool
) -> dict[str, Any]:
    """``realtime`` (open orders) or ``history`` (every order kept), newest first."""
    api = category(params)
    one = _one(request, sim, key, params)
    if one is not None:
        return {"category": params["category"], "list": one, "nextPageCursor": ""}
    symbol = text(params, "symbol") or None
    if symbol is not None:
        live_market(sim, params, api)
    if not history:
        orders = sim.store.open_orders(key.account, api is Api.USDM, symbol)
        rows = [render(request, o) for o in reversed(orders) if visible(o)][: _limit(params)]
        return {"category": params["category"], "list": rows, "nextPageCursor": ""}
    rows = [render(request, o) for o in reversed(_known(sim, key, api, symbol)) if visible(o)]
    status = text(params, "orderStatus")
    if status:
        rows = [r for r in rows if r["orderStatus"] == status]
    return _page(params, rows, _limit(params))


def _known(sim: SimExchange, key: ApiKey, api: Api, symbol: str | None) -> list[SimOrder]:
    symbols = [symbol] if symbol else [m.listing.symbol for m in sim.markets(api)]
    found: list[SimOrder] = []
    for s in symbols:
        found += sim.store.all_orders(key.account, api is Api.USDM, s)
    return sorted(found, key=lambda o: o.order_id)


def execution_json(order: SimOrder, fill: dict[str, Any]) -> dict[str, Any]:
    """Render one fill as ``/v5/execution/list`` and the ``execution`` stream list it."""
    price, qty = Decimal(fill["price"]), Decimal(fill["qty"])
    maker = bool(fill.get("isMaker", fill.get("maker", False)))
    return {
        "symbol": order.symbol, "orderId": str(order.order_id), "orderLinkId": order.client_id,
        "side": "Buy" if order.is_buy else "Sell", "orderPrice": fmt_dec(order.price or price),
        "orderQty": fmt_dec(order.qty), "leavesQty": fmt_dec(max(order.qty - order.filled, Decimal(0))),
        "createType": "CreateByUser", "orderType": "Market" if order.price is None else "Limit",
        "stopOrderType": "", "execFee": fill["commission"], "feeCurrency": fill["commissionAsset"],
        "execId": f"{order.symbol}-{fill['id']}-{order.order_id}",
        "execPrice": fill["price"], "execQty": fill["qty"], "execType": "Trade",
        "execValue": fmt_dec(price * qty), "feeRate": "", "tradeIv": "", "markIv": "",
        "markPrice": "", "indexPrice": "", "underlyingPrice": "", "blockTradeId": "",
        "closedSize": "", "seq": int(fill["id"]), "isMaker": maker, "execTime": str(fill["time"]),
    }  # fmt: skip


async def _executions(
    request: web.Request, sim: SimExchange, key: ApiKey, params: Params
) -> dict[str, Any]:
    api = category(params)
    symbol = text(params, "symbol") or None
    if symbol is not None:
        live_market(sim, params, api)
    order_id = text(params, "orderId")
    start = int(text(params, "startTime") or 0)
    rows = []
    for order in _known(sim, key, api, symbol):
        if order_id and str(order.order_id) != order_id:
            continue
        rows += [execution_json(order, f) for f in order.fills if int(f["time"]) >= start]
    rows.sort(key=lambda r: (int(r["execTime"]), r["seq"]), reverse=True)
    limit = max(1, min(int(text(params, "limit") or 50), 100))
    return _page(params, rows, limit)


def _page(params: Params, rows: list[Any], limit: int) -> dict[str, Any]:
    # Bybit pages with an opaque cursor; here it is the position in the newest-first list.
    cursor = text(params, "cursor")
    start = int(cursor) if cursor.isdigit() else 0
    page = rows[start : start + limit]
    more = start + limit < len(rows)
    return {"category": params["category"], "list": page,
            "nextPageCursor": str(start + limit) if more else ""}  # fmt: skip
