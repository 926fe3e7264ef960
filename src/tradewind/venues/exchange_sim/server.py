"""The HTTP server of the simulated exchange and :class:`LoopbackServer`, which runs it.

``LoopbackServer`` listens on 127.0.0.1 (port 0 picks any free port) and gives ``rest_url`` to put
in ``exchange.rest_url``. It runs either in a background thread with its own event loop (``with``,
for synchronous clients such as ``ccxt.binance``) or as tasks of the running loop (``async with``,
for ``ccxt.async_support``/``ccxt.pro`` clients in the same loop).

Every request passes one middleware that numbers it, serves a scheduled fault if one is due
(:mod:`faults`) and writes the request log. A 404 is logged as a warning: ccxt turns it into the
retryable ``ExchangeNotAvailable``, so a missing endpoint would otherwise look like an outage
(ccxt-loopback.md P7).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from types import TracebackType
from typing import Self

from aiohttp import web
from aiohttp.typedefs import Handler

from tradewind.venues.exchange_sim import errors, market_data
from tradewind.venues.exchange_sim.exchange import SimExchange
from tradewind.venues.exchange_sim.faults import Fault, FaultKind, FaultPlan, RequestRecord

_log = logging.getLogger(__name__)

# Seconds to wait for in-flight requests (a stall, say) when the server stops.
_SHUTDOWN_TIMEOUT_S = 0.5


def build_app(sim: SimExchange) -> web.Application:
    """Return the aiohttp application serving ``sim``."""
    app = web.Application(middlewares=[_faults_and_log])
    app[market_data.SIM_KEY] = sim
    app.add_routes(market_data.routes())
    return app


@web.middleware
async def _faults_and_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    sim = request.app[market_data.SIM_KEY]
    plan = sim.faults
    seq = plan.arrive()
    received_ms = sim.clock()
    started = time.perf_counter()
    fault = plan.draw(request.path)
    status: int | None = None
    try:
        response = await _serve(fault, request, handler)
        status = response.status
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
    if fault.kind is FaultKind.STALL:
        await asyncio.sleep(fault.delay_s)
        return await handler(request)
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

    Examples
    --------
    >>> with LoopbackServer(sim) as server:                   # doctest: +SKIP
    ...     cfg = ExchangeConfig(rest_url=server.rest_url)
    """

    def __init__(self, sim: SimExchange, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.host = host
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
        """Base URL for ``exchange.ws_url`` (no streams are served yet: issue 9)."""
        return f"ws://{self.host}:{self.port}"

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
            build_app(self.sim),
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
            access_log=None,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        address = runner.addresses[0]
        self._port = int(address[1])
        self._runner = runner
        return self

    async def stop_async(self) -> None:
        """Stop serving (in-flight requests get :data:`_SHUTDOWN_TIMEOUT_S` to finish)."""
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
