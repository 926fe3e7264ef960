"""The HTTP server of the simulated exchange and :class:`LoopbackServer`, which runs it.

``LoopbackServer`` listens on 127.0.0.1 (port 0 picks any free port) and gives ``rest_url`` to put
in ``exchange.rest_url``. It runs either in a background thread with its own event loop (``with``,
for synchronous clients such as ``ccxt.binance``) or as tasks of the running loop (``async with``,
for ``ccxt.async_support``/``ccxt.pro`` clients in the same loop).

Every request passes one middleware that numbers it, counts its request weight (429, then 418
for a client that ignores ``Retry-After``, see :mod:`.limits`), serves a fault if one is drawn
(:mod:`.faults`, each one written to the fault log), adds ``X-MBX-USED-WEIGHT-1M`` and writes the
request log. A 404 is logged as a warning: ccxt turns it into the retryable
``ExchangeNotAvailable``, so a missing endpoint would otherwise look like an outage
(ccxt-loopback.md P7).

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
from aiohttp.typedefs import Handler

from tradewind.venues.exchange_sim import (
    algo_orders,
    errors,
    funding,
    market_data,
    rest_futures,
    rest_spot,
    tickers,
    ws_handlers,
)
from tradewind.venues.exchange_sim.driver import ReplayDriver
from tradewind.venues.exchange_sim.exchange import SimExchange
from tradewind.venues.exchange_sim.faults import Fault, FaultKind, FaultPlan, RequestRecord
from tradewind.venues.exchange_sim.limits import request_weight
from tradewind.venues.exchange_sim.rest_common import FAULT_KEY, json

_log = logging.getLogger(__name__)

# Seconds to wait for in-flight requests (a stall, say) when the server stops.
_SHUTDOWN_TIMEOUT_S = 0.5


def build_app(sim: SimExchange) -> web.Application:
    """Return the aiohttp application serving ``sim``."""
    app = web.Application(middlewares=[_faults_and_log])
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


@web.middleware
async def _faults_and_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    sim = request.app[market_data.SIM_KEY]
    if request.path == "/health":
        return await handler(request)
    plan = sim.faults
    seq = plan.arrive()
    received_ms = sim.clock()
    started = time.perf_counter()
    limited = request.path.startswith(_LIMITED)
    fault = plan.draw(request.path) if limited or request.path.startswith("/") else None
    status: int | None = None
    try:
        if limited:
            ip = request.remote or "?"
            verdict, used, retry = sim.limits.admit(
                ip, request_weight(request.path, dict(request.query)), int(time.time() * 1000)
            )
            headers = {"X-MBX-USED-WEIGHT-1M": str(used)}
            if verdict is not None:
                headers["Retry-After"] = str(retry)
                spec = errors.TOO_MANY_REQUESTS if verdict == "429" else errors.IP_BANNED
                until = int(time.time() * 1000) + retry * 1000
                response = errors.error_response(spec, headers=headers, fields={"until": until})
                status = response.status
                return response
            if sim.maintenance:
                response = errors.error_response(errors.SERVER_BUSY, headers=headers)
                status = response.status
                return response
        else:
            headers = {}
        if fault is not None:
            plan.log_fault(fault.kind, request.path, received_ms, f"request {seq}")
        response = await _serve(fault, request, handler)
        status = response.status
        if headers and not response.prepared:
            response.headers.update(headers)
        return response
    except web.HTTPException as exc:
        status = exc.status
        if status == 404:
            _log.warning("no such endpoint: %s %s", request.method, request.path)
        raise
    finally:
        # Reached with status None when the client left first (its timeout cancelled us).
        if fault is not None:
            _log.info("injected %s into request %d %s", fault.kind, seq, request.path)
        plan.record(
            seq=seq,
            method=request.method,
            path=request.path,
            params=dict(request.query),
            status=status,
            fault=fault.kind if fault is not None else None,
            received_ms=received_ms,
            duration_ms=(time.perf_counter() - started) * 1000.0,
        )


async def _serve(fault: Fault | None, request: web.Request, handler: Handler) -> web.StreamResponse:
    if fault is None:
        return await handler(request)
    kind = fault.kind
    if kind is FaultKind.STALL or kind is FaultKind.LATENCY:
        await asyncio.sleep(fault.delay_s)
        return await handler(request)
    if kind in (FaultKind.DELAYED_VISIBILITY, FaultKind.STALE_DATA):
        request[FAULT_KEY] = fault
        return await handler(request)
    if kind in (FaultKind.GHOST_ORDER, FaultKind.GHOST_FILLED):
        request[FAULT_KEY] = fault
        response = await handler(request)
        # Processed; now the answer is lost: hold it past the client's timeout, then hang up.
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
        return errors.error_response(errors.SERVER_BUSY)
    retry_after = {"Retry-After": str(fault.retry_after_s)}
    if fault.kind is FaultKind.RATE_LIMIT:
        return errors.error_response(errors.TOO_MANY_REQUESTS, headers=retry_after)
    if fault.kind is FaultKind.IP_BAN:
        ban_until = request.app[market_data.SIM_KEY].clock() + 1000 * fault.retry_after_s
        return errors.error_response(
            errors.IP_BANNED, headers=retry_after, fields={"until": ban_until}
        )
    if fault.json_body:
        _, code, message = errors.INTERNAL_ERROR
        return web.json_response({"code": code, "msg": message}, status=fault.status)
    return web.Response(status=fault.status, text=f"{fault.status} simulated server error")


def _hang_up(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


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
