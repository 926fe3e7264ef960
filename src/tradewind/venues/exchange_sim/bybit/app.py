"""The aiohttp application that serves a :class:`~..exchange.SimExchange` as Bybit v5.

One middleware numbers each request, serves a fault drawn from the exchange's fault plan (Bybit's
answers: ``retCode`` ``10006`` for a rate limit, HTTP 403 for an IP ban, ``10016`` in
maintenance; stalls, timeouts, dropped connections and ghost orders as on the Binance side) and
writes the request and fault logs. Bybit's request limits themselves are not simulated: only the
faults answer as its limits would.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from tradewind.venues.exchange_sim import market_data
from tradewind.venues.exchange_sim.bybit import account, errors, market, trade, ws
from tradewind.venues.exchange_sim.bybit.common import envelope
from tradewind.venues.exchange_sim.exchange import SimExchange
from tradewind.venues.exchange_sim.faults import Fault, FaultKind
from tradewind.venues.exchange_sim.rest_common import FAULT_KEY

_log = logging.getLogger(__name__)


def build_bybit_app(sim: SimExchange) -> web.Application:
    """Return the aiohttp application serving ``sim`` with Bybit's v5 protocol."""
    app = web.Application(middlewares=[_faults_and_log])
    app[market_data.SIM_KEY] = sim
    app[trade.NOTES_KEY] = trade.OrderNotes()
    app[ws.BYBIT_WS_KEY] = ws.BybitStreams(sim, app[trade.NOTES_KEY])
    app.add_routes(market.routes())
    app.add_routes(trade.routes())
    app.add_routes(account.routes())
    app.add_routes(ws.routes())
    app.add_routes([web.get("/health", _health)])
    app.on_startup.append(ws.start_streams)
    app.on_cleanup.append(ws.stop_streams)
    return app


async def _health(request: web.Request) -> web.Response:
    sim = request.app[market_data.SIM_KEY]
    return web.json_response(
        {
            "status": "maintenance" if sim.maintenance else "ok",
            "protocol": "bybit-v5",
            "serverTime": sim.clock(),
            "markets": len(sim.engine.markets),
        }
    )


@web.middleware
async def _faults_and_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    sim = request.app[market_data.SIM_KEY]
    if request.path == "/health":
        return await handler(request)
    plan = sim.faults
    seq = plan.arrive()
    received_ms = sim.clock()
    started = time.perf_counter()
    fault = plan.draw(request.path) if not request.path.startswith("/v5/public") else None
    status: int | None = None
    try:
        if sim.maintenance and request.path.startswith("/v5/"):
            response: web.StreamResponse = envelope({}, *errors.SERVER)
        else:
            if fault is not None:
                plan.log_fault(fault.kind, request.path, received_ms, f"request {seq}")
            response = await _serve(fault, request, handler)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        if status == 404:
            _log.warning("no such endpoint: %s %s", request.method, request.path)
        raise
    finally:
        plan.record(
            seq=seq, method=request.method, path=request.path, params=dict(request.query),
            status=status, fault=fault.kind if fault is not None else None,
            received_ms=received_ms, duration_ms=(time.perf_counter() - started) * 1000.0,
        )  # fmt: skip


async def _serve(fault: Fault | None, request: web.Request, handler: Handler) -> web.StreamResponse:
    if fault is None:
        return await handler(request)
    kind = fault.kind
    if kind in (FaultKind.STALL, FaultKind.LATENCY):
        await asyncio.sleep(fault.delay_s)
        return await handler(request)
    if kind in (FaultKind.DELAYED_VISIBILITY, FaultKind.STALE_DATA):
        request[FAULT_KEY] = fault
        return await handler(request)
    if kind in (FaultKind.GHOST_ORDER, FaultKind.GHOST_FILLED):
        request[FAULT_KEY] = fault
        response = await handler(request)
        await asyncio.sleep(fault.delay_s)
        _hang_up(request)
        return response
    if kind is FaultKind.TIMEOUT:
        await asyncio.sleep(fault.delay_s)
        return web.Response(status=504)
    if kind is FaultKind.DROP_CONNECTION:
        _hang_up(request)
        return web.Response(status=500)
    if kind is FaultKind.MAINTENANCE:
        return envelope({}, *errors.SERVER)
    if kind is FaultKind.RATE_LIMIT:
        # The window resets in the future (at least 0.2 s: pybit sleeps until it, and a reset
        # already past would make it sleep a negative time).
        reset = str(int(time.time() * 1000) + max(200, 1000 * fault.retry_after_s))
        response = envelope({}, *errors.TOO_MANY)
        response.headers.update(
            {
                "X-Bapi-Limit": "10",
                "X-Bapi-Limit-Status": "0",
                "X-Bapi-Limit-Reset-Timestamp": reset,
            }
        )
        return response
    if kind is FaultKind.IP_BAN:
        # Bybit's IP limit answers HTTP 403 with a plain body, not the JSON envelope.
        return web.Response(status=403, text="403 Forbidden: access too frequent")
    if fault.json_body:
        return envelope({}, *errors.SERVER)
    return web.Response(status=fault.status, text=f"{fault.status} simulated server error")


def _hang_up(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
