"""Plumbing shared by the signed REST endpoints: parameters, signature checks, error answers, and
the order steps both protocols take alike (place with its count and fault, find a visible order,
cancel what is open), so Bybit's handlers differ from Binance's only in what they read and write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.accounts import ApiKey
from tradewind.exchange_sim.auth import Need, verify_rest
from tradewind.exchange_sim.clock import wall_ms
from tradewind.exchange_sim.engine import LiveMarket
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.faults import FAULT_KEY, FaultKind
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.market_data import SIM_KEY
from tradewind.exchange_sim.order_params import OrderRequest
from tradewind.exchange_sim.orders import SimOrder

Params = dict[str, str]
SignedHandler = Callable[[web.Request, SimExchange, ApiKey, Params], Awaitable[web.StreamResponse]]


def signed(
    need: Need, handler: SignedHandler
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap ``handler`` with Binance's signed-request checks and error answers."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        sim = request.app[SIM_KEY]
        body = await request.text() if request.can_read_body else ""
        params: Params = dict(request.query)
        if body:
            params.update(parse_qsl(body, keep_blank_values=True))
        try:
            key = verify_rest(
                sim.keys,
                request.headers.get("X-MBX-APIKEY"),
                request.rel_url.raw_query_string,
                body,
                params,
                need,
            )
            return await handler(request, sim, key, params)
        except BinanceError as exc:
            return exc.response()

    return wrapped


def public(
    handler: Callable[[web.Request, SimExchange, Params], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a public handler with Binance's error answers."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request, request.app[SIM_KEY], dict(request.query))
        except BinanceError as exc:
            return exc.response()

    return wrapped


def live_market(sim: SimExchange, params: Params, api: Api) -> LiveMarket:
    """Return the live market named by ``symbol`` (``-1102`` missing, ``-1121`` unknown)."""
    symbol = params.get("symbol", "")
    if not symbol:
        raise BinanceError(errors.MANDATORY_PARAM, name="symbol")
    market = sim.live(api, symbol)
    if market is None:
        raise BinanceError(errors.INVALID_SYMBOL)
    return market


def int_param(params: Params, name: str) -> int | None:
    """Return an integer parameter or None; ``-1100`` when malformed."""
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise BinanceError(errors.BAD_PARAM_VALUE, name=name, legal="^[0-9]{1,20}$") from None


def visible(order: SimOrder) -> bool:
    """Tell whether queries may see ``order`` yet (the delayed-visibility fault)."""
    return order.visible_from_ms <= wall_ms()


def count_new_order(sim: SimExchange, key: ApiKey) -> dict[str, str]:
    """Count a new order against the account's limits; return the order-count headers.

    Raises
    ------
    BinanceError
        ``-1015`` (HTTP 429) when a window's count is exceeded.
    """
    window, n10, nday = sim.limits.count_order(id(key.account), wall_ms())
    if window is not None:
        limit = (
            sim.limits.config.orders_per_10s
            if window == "10 SECOND"
            else sim.limits.config.orders_per_day
        )
        raise BinanceError(errors.TOO_MANY_ORDERS, limit=limit, interval=window)
    return {"X-MBX-ORDER-COUNT-10S": str(n10), "X-MBX-ORDER-COUNT-1D": str(nday)}


def apply_order_fault(request: web.Request, sim: SimExchange, order: SimOrder) -> None:
    """Apply a ghost-filled or delayed-visibility fault drawn for this request to ``order``."""
    fault = request.get(FAULT_KEY)
    if fault is None:
        return
    if fault.kind is FaultKind.DELAYED_VISIBILITY:
        order.visible_from_ms = wall_ms() + int(fault.delay_s * 1000)
    elif fault.kind is FaultKind.GHOST_FILLED and order.is_open:
        sim.engine.force_fill(order)


def place_order(
    request: web.Request, sim: SimExchange, key: ApiKey, market: LiveMarket, req: OrderRequest
) -> tuple[SimOrder, dict[str, str]]:
    """Count a new order, place it on the core and apply the request's fault to it.

    Returns the order and the order-count headers (Binance sends them; Bybit does not).

    Raises
    ------
    BinanceError
        From :func:`count_new_order` and :meth:`~.engine.MatchingEngine.place`.
    """
    headers = count_new_order(sim, key)
    order = sim.engine.place(key.account, market, req)
    apply_order_fault(request, sim, order)
    return order, headers


def find_visible(
    sim: SimExchange,
    key: ApiKey,
    market: LiveMarket,
    order_id: int | None,
    client_id: str | None,
) -> SimOrder | None:
    """Return the account's order on ``market`` by id or client id, if queries may see it yet."""
    order = sim.store.find(key.account, market.futures, market.symbol, order_id, client_id)
    return order if order is not None and visible(order) else None


def cancel_open(
    sim: SimExchange,
    key: ApiKey,
    futures: bool,
    symbol: str | None,
    *,
    keep: Callable[[SimOrder], bool] = lambda order: False,
) -> list[SimOrder]:
    """Cancel the account's open orders on ``symbol`` (every symbol: None) but those to ``keep``.

    Returns the orders cancelled here (an OCO sibling closed with its leg is not among them).
    """
    cancelled = []
    for order in list(sim.store.open_orders(key.account, futures, symbol)):
        if order.is_open and not keep(order):
            sim.engine.cancel(order)
            cancelled.append(order)
    return cancelled


def json(payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    """Return a JSON answer (orjson)."""
    import orjson

    return web.Response(
        body=orjson.dumps(payload), content_type="application/json", headers=headers
    )
