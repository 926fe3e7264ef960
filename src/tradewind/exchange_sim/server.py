"""The HTTP server of the simulated exchange and :class:`LoopbackServer`, which runs it.

``LoopbackServer`` listens on 127.0.0.1 (port 0 picks any free port) and gives ``rest_url`` to put
in ``exchange.rest_url``. It runs either in a background thread with its own event loop (``with``,
for synchronous clients such as ``ccxt.binance``) or as tasks of the running loop (``async with``,
for ``ccxt.async_support``/``ccxt.pro`` clients in the same loop).

Every request passes the fault middleware both protocols share (:func:`~.faults.fault_middleware`):
it numbers the request, counts its request weight (429, then 418 for a client that ignores
``Retry-After``, see :mod:`.limits`; :class:`BinanceFaults` says how Binance words its refusals),
serves a fault if one is drawn (each one written to the fault log), adds
``X-MBX-USED-WEIGHT-1M`` and writes the request log. A 404 is logged as a warning: ccxt turns it
into the retryable ``ExchangeNotAvailable``, so a missing endpoint would otherwise look like an
outage (ccxt-loopback.md P7).

``GET /health`` answers ``{"status": "ok", ...}`` (replay clock, markets, connections, steps
replayed) outside limits and faults. Stopping the server closes every WebSocket with 1001 and
stops the replay.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tradewind.exchange_sim import (
    algo_orders,
    errors,
    funding,
    market_data,
    rest_futures,
    rest_spot,
    tickers,
    ws_handlers,
)
from tradewind.exchange_sim.driver import ReplayDriver
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.faults import (
    Fault,
    FaultKind,
    FaultPlan,
    RequestRecord,
    fault_middleware,
)
from tradewind.exchange_sim.limits import request_weight
from tradewind.exchange_sim.rest_common import json

_log = logging.getLogger(__name__)

# Seconds to wait for in-flight requests (a stall, say) when the server stops.
_SHUTDOWN_TIMEOUT_S = 0.5


def build_app(sim: SimExchange) -> web.Application:
    """Return the aiohttp application serving ``sim``."""
    app = web.Application(middlewares=[fault_middleware(BinanceFaults(), market_data.SIM_KEY)])
    app[market_data.SIM_KEY] = sim
    app.add_routes(market_data.routes())
    app.add_routes(rest_spot.routes())
    app.add_routes(rest_futures.routes())
    app.add_routes(tickers.routes())
    app.add_routes(algo_orders.routes())
    app.add_routes(funding.routes())
    app.add_routes(ws_handlers.routes())
    app.add_routes([web.get("/health", _health)])
    return app


_LIMITED = ("/api/", "/fapi/", "/sapi/")


async def _health(request: web.Request) -> web.Response:
    sim = request.app[market_data.SIM_KEY]
    driver = request.app.get(_DRIVER_KEY)
    return json(
        {
            "status": "maintenance" if sim.maintenance else "ok",
            "serverTime": sim.clock(),
            "markets": len(sim.engine.markets),
            "accounts": len(sim.keys.accounts),
            "connections": len(sim.hub.connections),
            "openOrders": sum(len(v) for v in sim.store.open.values()),
            "replaySteps": driver.steps_applied if driver is not None else 0,
        }
    )


_DRIVER_KEY: web.AppKey[ReplayDriver] = web.AppKey("replay_driver", ReplayDriver)


class BinanceFaults:
    """Binance's side of the fault middleware: its request-weight limits and error bodies."""

    def faulted(self, path: str) -> bool:
        """Every path draws faults (the WebSocket upgrades too)."""
        return True

    def admit(
        self, sim: SimExchange, request: web.Request
    ) -> tuple[web.StreamResponse | None, dict[str, str]]:
        """Count the request weight (429, then 418) and refuse it in maintenance."""
        if not request.path.startswith(_LIMITED):
            return None, {}
        ip = request.remote or "?"
        verdict, used, retry = sim.limits.admit(
            ip, request_weight(request.path, dict(request.query)), int(time.time() * 1000)
        )
        headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
        if verdict is not None:
            headers["Retry-After"] = str(retry)
            spec = errors.TOO_MANY_REQUESTS if verdict == "429" else errors.IP_BANNED
            until = int(time.time() * 1000) + retry * 1000
            return errors.error_response(spec, headers=headers, fields={"until": until}), headers
        if sim.maintenance:
            return errors.error_response(errors.SERVER_BUSY, headers=headers), headers
        return None, headers

    def maintenance(self, request: web.Request) -> web.StreamResponse:
        """HTTP 503 with ``-1008``."""
        return errors.error_response(errors.SERVER_BUSY)

    def rate_limit(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """HTTP 429 with ``-1003`` and ``Retry-After``."""
        retry_after = {"Retry-After": str(fault.retry_after_s)}
        return errors.error_response(errors.TOO_MANY_REQUESTS, headers=retry_after)

    def ip_ban(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """HTTP 418 with ``-1003``, the ban's end and ``Retry-After``."""
        ban_until = request.app[market_data.SIM_KEY].clock() + 1000 * fault.retry_after_s
        return errors.error_response(
            errors.IP_BANNED,
            headers={"Retry-After": str(fault.retry_after_s)},
            fields={"until": ban_until},
        )

    def server_error(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        """The fault's 5xx with ``-1001``."""
        _, code, message = errors.INTERNAL_ERROR
        return web.json_response({"code": code, "msg": message}, status=fault.status)


class LoopbackServer:
    """Run a :class:`SimExchange` on 127.0.0.1 for the duration of a ``with`` block.

    Parameters
    ----------
    sim
        The exchange to serve.
    host
        Interface to bind; loopback by default (nothing outside this machine can reach it).
    port
        TCP port; 0 picks a free one, read it back from :attr:`port` or :attr:`rest_url`.
    app_factory
        Builds the served application: Binance's protocol (:func:`build_app`) by default,
        :func:`~.bybit.app.build_bybit_app` for Bybit's v5.

    Examples
    --------
    >>> with LoopbackServer(sim) as server:                   # doctest: +SKIP
    ...     cfg = ExchangeConfig(rest_url=server.rest_url)
    """

    def __init__(
        self,
        sim: SimExchange,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_connection_s: float = 86_400.0,
        replay: bool = True,
        app_factory: Callable[[SimExchange], web.Application] | None = None,
    ) -> None:
        self.sim = sim
        self.app_factory = app_factory or build_app
        self.host = host
        self.replay = replay
        self.driver = ReplayDriver(sim, max_connection_s)
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound TCP port (only while running)."""
        if self._port is None:
            raise RuntimeError("the loopback server is not running")
        return self._port

    @property
    def rest_url(self) -> str:
        """Base URL for ``exchange.rest_url`` (``http://127.0.0.1:PORT``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Base URL for ``exchange.ws_url`` (market streams, user streams, WebSocket API)."""
        return f"ws://{self.host}:{self.port}"

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the server's event loop and return its result.

        Trading state belongs to the server's loop; a test in another thread changes it (opens
        an account, inspects a book) through here. Called from the loop itself it runs directly.
        """
        loop = self._loop
        if loop is None or threading.current_thread() is self._thread:
            return fn(*args)
        done = threading.Event()
        box: list[Any] = []

        def run() -> None:
            try:
                box.append((True, fn(*args)))
            except BaseException as exc:
                box.append((False, exc))
            done.set()

        loop.call_soon_threadsafe(run)
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def set_maintenance(self, on: bool) -> None:
        """Enter or leave maintenance: REST answers 503 ``-1008`` and every socket is closed."""

        def apply() -> None:
            self.sim.maintenance = on
            if on:
                self.sim.faults.log_fault(FaultKind.MAINTENANCE, "*", self.sim.clock(), "on")
                self.sim.hub.close_all(1001)

        self.call(apply)

    @property
    def faults(self) -> FaultPlan:
        """The fault schedule and request log of the served exchange."""
        return self.sim.faults

    def requests(self, path: str | None = None) -> list[RequestRecord]:
        """Return the request log, optionally only requests under ``path``."""
        return self.sim.faults.requests(path)

    async def start_async(self) -> Self:
        """Start serving on the running event loop."""
        runner = web.AppRunner(
            self.app_factory(self.sim),
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
            access_log=None,
        )
        runner.app[_DRIVER_KEY] = self.driver
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        address = runner.addresses[0]
        self._port = int(address[1])
        self._runner = runner
        if self.replay:
            self.driver.start()
            # Answer no client before every book holds its recorded levels (an empty book
            # served in the first moments would be no market at all).
            await self.driver.wait_ready()
        return self

    async def stop_async(self) -> None:
        """Stop serving (in-flight requests get :data:`_SHUTDOWN_TIMEOUT_S` to finish)."""
        await self.driver.stop()
        closing = [conn.ws.close(code=1001) for conn in list(self.sim.hub.connections)]
        for conn in list(self.sim.hub.connections):
            conn.closed = True
            self.sim.hub.drop(conn)
        if closing:
            await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 2.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._port = None

    def start(self) -> Self:
        """Start serving from a background thread with its own event loop."""
        if self._thread is not None:
            raise RuntimeError("the loopback server is already running")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop_async())
            loop.close()

        thread = threading.Thread(target=serve, name="loopback-exchange", daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._loop, self._thread = loop, thread
        return self

    def stop(self) -> None:
        """Stop the background server and wait for its thread."""
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.start_async()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_async()
