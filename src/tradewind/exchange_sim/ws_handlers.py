"""WebSocket endpoints: market streams, the USDT-M user stream and the spot WebSocket API.

Paths (see ``ccxt-loopback.md`` section 1 for why these):

- spot market streams: ``/stream/ws`` and ``/stream/ws/{n}``;
- USDT-M market streams: ``/public/ws[/{n}]``, ``/market/ws[/{n}]`` and ``/ws[/{n}]``;
- USDT-M user data: ``/private/ws?listenKey=`` (a key from ``POST /fapi/v1/listenKey``);
- spot WebSocket API: ``/ws-api/v3`` (``userDataStream.subscribe.signature``,
  ``userDataStream.unsubscribe``, ``order.place``, ``order.cancel``, ``order.status``,
  ``openOrders.status``, ``ping``, ``time``), with Binance's ``{"id", "status", "result"|"error"}``
  answers; requests are signed and checked like REST (see :mod:`.auth`).

Market streams speak Binance's ``SUBSCRIBE``/``UNSUBSCRIBE``/``LIST_SUBSCRIPTIONS`` protocol: an ack
``{"result": null, "id": n}`` for each request, and ``{"error": {"code": 2, ...}, "id": n}`` for an
unknown stream. Every connection is closed by the server with 1001 on maintenance, on the
forced-disconnect fault, and when older than the driver's maximum age.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.auth import Need, verify_ws
from tradewind.exchange_sim.connections import Connection
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.faults import FaultKind
from tradewind.exchange_sim.intervals import INTERVAL_MS
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.market_data import SIM_KEY
from tradewind.exchange_sim.order_params import parse_order
from tradewind.exchange_sim.rest_common import count_new_order, find_visible, visible
from tradewind.exchange_sim.tickers import ALL_MARKET_STREAMS

_log = logging.getLogger(__name__)
_KINDS = re.compile(
    r"^(?P<sym>[a-z0-9]+)@(?P<kind>depth|depth@100ms|depth@500ms|trade|aggTrade|bookTicker|"
    r"markPrice|markPrice@1s|ticker|miniTicker|kline_(?P<interval>[0-9]+[smhdwM]))$"
)


def routes() -> list[web.RouteDef]:
    """Return the WebSocket routes."""
    spot = _market_handler(futures=False)
    futures = _market_handler(futures=True)
    return [
        web.get("/stream/ws", spot),
        web.get("/stream/ws/{n}", spot),
        web.get("/public/ws", futures),
        web.get("/public/ws/{n}", futures),
        web.get("/market/ws", futures),
        web.get("/market/ws/{n}", futures),
        web.get("/ws", futures),
        web.get("/ws/{n}", futures),
        web.get("/private/ws", _private_futures),
        web.get("/ws-api/v3", _ws_api),
    ]


def _valid_stream(sim: SimExchange, futures: bool, stream: str) -> bool:
    if stream in ALL_MARKET_STREAMS:
        return True
    match = _KINDS.match(stream)
    if match is None:
        return False
    interval = match.group("interval")
    if interval is not None and interval not in INTERVAL_MS:
        return False
    if futures is False and match.group("kind").startswith("markPrice"):
        return False
    return sim.live(Api.USDM if futures else Api.SPOT, match.group("sym").upper()) is not None


async def _open(
    request: web.Request, kind: str
) -> tuple[SimExchange, web.WebSocketResponse, Connection]:
    sim = request.app[SIM_KEY]
    # No compression: one encoded frame then serves every subscriber (see connections.py).
    ws = web.WebSocketResponse(heartbeat=None, autoping=True, max_msg_size=1 << 22, compress=False)
    await ws.prepare(request)
    conn = Connection(ws, request.transport, kind, latency_s=sim.latency_s)
    sim.hub.connections.add(conn)
    return sim, ws, conn


def _market_handler(*, futures: bool) -> Any:
    async def handler(request: web.Request) -> web.WebSocketResponse:
        sim, ws, conn = await _open(request, "futures" if futures else "spot")
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                _market_request(sim, conn, futures, msg.data)
        finally:
            sim.hub.drop(conn)
            await conn.finished()
        return ws

    return handler


def _market_request(sim: SimExchange, conn: Connection, futures: bool, text: str) -> None:
    try:
        req = orjson.loads(text)
    except orjson.JSONDecodeError:
        conn.send(orjson.dumps({"error": {"code": 3, "msg": "Invalid JSON"}}).decode())
        return
    rid = req.get("id") if isinstance(req, dict) else None
    method = req.get("method") if isinstance(req, dict) else None
    params = req.get("params", []) if isinstance(req, dict) else []
    if method == "LIST_SUBSCRIPTIONS":
        conn.send(orjson.dumps({"result": sorted(conn.streams), "id": rid}).decode())
        return
    if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
        conn.send(
            orjson.dumps(
                {
                    "error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"},
                    "id": rid,
                }
            ).decode()
        )
        return
    bad = [p for p in params if not isinstance(p, str) or not _valid_stream(sim, futures, p)]
    if bad:
        conn.send(
            orjson.dumps(
                {
                    "error": {"code": 2, "msg": f"Invalid request: unknown stream {bad[0]!r}"},
                    "id": rid,
                }
            ).decode()
        )
        return
    for stream in params:
        if method == "SUBSCRIBE":
            sim.hub.subscribe(conn, futures, stream)
        else:
            sim.hub.unsubscribe(conn, futures, stream)
    conn.send(orjson.dumps({"result": None, "id": rid}).decode())


async def _private_futures(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIM_KEY]
    key = sim.listen_keys.get(request.query.get("listenKey", ""))
    if key is None:
        return BinanceError(errors.LISTEN_KEY).response()
    sim, ws, conn = await _open(request, "user-futures")
    users = sim.hub.futures_users.setdefault(id(key.account), [])
    users.append(conn)
    try:
        async for _msg in ws:
            pass
    finally:
        sim.hub.drop(conn)
        await conn.finished()
    return ws


async def _ws_api(request: web.Request) -> web.WebSocketResponse:
    sim, ws, conn = await _open(request, "ws-api")
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            answer = _ws_api_request(request, sim, conn, msg.data)
            conn.send(orjson.dumps(answer).decode())
    finally:
        sim.hub.drop(conn)
        await conn.finished()
    return ws


def _ws_api_request(
    request: web.Request, sim: SimExchange, conn: Connection, text: str
) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        req = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"id": None, "status": 400, "error": {"code": -1102, "msg": "Invalid JSON."}}
    rid = req.get("id")
    method = str(req.get("method", ""))
    params: dict[str, Any] = req.get("params") or {}
    path = f"ws-api:{method}"
    seq = sim.faults.arrive()
    status = 200
    fault = sim.faults.draw(path)
    try:
        if sim.maintenance:
            raise BinanceError(errors.SERVER_BUSY)
        if fault is not None:
            sim.faults.log_fault(fault.kind, path, sim.clock())
            if fault.kind in (FaultKind.RATE_LIMIT, FaultKind.IP_BAN):
                raise BinanceError(errors.TOO_MANY_REQUESTS)
            if fault.kind in (FaultKind.SERVER_ERROR, FaultKind.MAINTENANCE):
                raise BinanceError(errors.SERVER_BUSY)
        result = _ws_api_call(sim, conn, method, params)
        return {"id": rid, "status": 200, "result": result,
                "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                                "intervalNum": 1, "limit": 6000, "count": 1}]}  # fmt: skip
    except BinanceError as exc:
        status = exc.spec[0]
        return {"id": rid, "status": status, "error": {"code": exc.code, "msg": exc.message}}
    finally:
        sim.faults.record(
            seq=seq, method="WS", path=path,
            params={k: str(v) for k, v in params.items() if k not in ("signature", "apiKey")},
            status=status, fault=fault.kind if fault is not None else None,
            received_ms=sim.clock(), duration_ms=(time.perf_counter() - started) * 1000.0,
        )  # fmt: skip


def _ws_api_call(sim: SimExchange, conn: Connection, method: str, params: dict[str, Any]) -> Any:
    if method == "ping":
        return {}
    if method == "time":
        return {"serverTime": sim.clock()}
    if method == "userDataStream.subscribe.signature":
        key = verify_ws(sim.keys, params, Need.USER_STREAM)
        subs = sim.hub.spot_users.setdefault(id(key.account), [])
        sub_id = len(subs)
        subs.append((conn, sub_id))
        return {"subscriptionId": sub_id}
    if method == "userDataStream.unsubscribe":
        for subs in sim.hub.spot_users.values():
            subs[:] = [(c, i) for c, i in subs if c is not conn]
        return {}
    str_params = {
        k: ("true" if v is True else "false" if v is False else str(v)) for k, v in params.items()
    }
    if method == "order.place":
        key = verify_ws(sim.keys, params, Need.SPOT)
        market = sim.live(Api.SPOT, str_params.get("symbol", ""))
        if market is None:
            raise BinanceError(
                errors.INVALID_SYMBOL if str_params.get("symbol") else errors.MANDATORY_PARAM,
                name="symbol",
            )
        buy = str_params.get("side") == "BUY"
        req = parse_order(
            str_params, market.listing, futures=False, best_opposite=market.best_opposite(buy)
        )
        count_new_order(sim, key)
        order = sim.engine.place(key.account, market, req)
        return order.spot_ack_json(sim.clock())
    if method in ("order.cancel", "order.status"):
        need = Need.SPOT if method == "order.cancel" else Need.READ
        key = verify_ws(sim.keys, params, need)
        market = sim.live(Api.SPOT, str_params.get("symbol", ""))
        if market is None:
            raise BinanceError(errors.INVALID_SYMBOL)
        order_id = int(str_params["orderId"]) if "orderId" in str_params else None
        order = find_visible(sim, key, market, order_id, str_params.get("origClientOrderId"))
        if order is None:
            raise BinanceError(
                errors.UNKNOWN_ORDER if method == "order.cancel" else errors.NO_SUCH_ORDER
            )
        if method == "order.status":
            return order.spot_json()
        if not order.is_open:
            raise BinanceError(errors.UNKNOWN_ORDER)
        sim.engine.cancel(order)
        answer = order.spot_json(full=False)
        answer["origClientOrderId"] = order.client_id
        answer["transactTime"] = sim.clock()
        return answer
    if method == "openOrders.status":
        key = verify_ws(sim.keys, params, Need.READ)
        return [
            o.spot_json()
            for o in sim.store.open_orders(key.account, False, str_params.get("symbol"))
            if visible(o)
        ]
    raise BinanceError((400, -1100, f"Unknown method '{method}'."))
