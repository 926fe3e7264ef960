"""The aiohttp application that serves a :class:`~..exchange.SimExchange` as Bybit v5.

The fault middleware both protocols share (:func:`~..faults.fault_middleware`) numbers each
request, serves a fault drawn from the exchange's fault plan and writes the request and fault
logs; :class:`BybitFaults` words them as Bybit does (``retCode`` ``10006`` for a rate limit, HTTP
403 for an IP ban, ``10016`` in maintenance; stalls, timeouts, dropped connections and ghost
orders are the Binance side's). Bybit's request limits themselves are not simulated: only the
faults answer as its limits would.
"""

from __future__ import annotations

import time

from aiohttp import web

from tradewind.exchange_sim import market_data
from tradewind.exchange_sim.bybit import account, errors, market, trade, ws
from tradewind.exchange_sim.bybit.common import envelope
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.faults import Fault, fault_middleware


def build_bybit_app(sim: SimExchange) -> web.Application:
    """Return the aiohttp application serving ``sim`` with Bybit's v5 protocol."""
    app = web.Application(middlewares=[fault_middleware(BybitFaults(), market_data.SIM_KEY)])
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


class BybitFaults:
    """Bybit's side of the fault middleware: its error bodies (its limits are not simulated)."""

    def faulted(self, path: str) -> bool:
        """Every path but the public WebSocket upgrades (``/v5/public/...``) draws faults."""
        return not path.startswith("/v5/public")

    def admit(
        self, sim: SimExchange, request: web.Request
    ) -> tuple[web.StreamResponse | None, dict[str, str]]:
        """Refuse every ``/v5/`` request in maintenance."""
        if sim.maintenance and request.path.startswith("/v5/"):
            return self.maintenance(request), {}
        return None, {}

    def maintenance(self, request: web.Request) -> web.StreamResponse:
        """``retCode`` ``10016``."""
        return envelope({}, *errors.SERVER)

    def rate_limit(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """``retCode`` ``10006`` with Bybit's limit headers."""
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

    def ip_ban(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """HTTP 403 with a plain body: Bybit's IP limit does not answer with the envelope."""
        return web.Response(status=403, text="403 Forbidden: access too frequent")

    def server_error(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """``retCode`` ``10016`` (Bybit wraps its server errors in the envelope)."""
        return envelope({}, *errors.SERVER)
