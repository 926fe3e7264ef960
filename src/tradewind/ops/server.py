"""Serving the operator API with uvicorn, bound to 127.0.0.1 unless told otherwise.

Inside a trading process the API runs as a task on the trading loop (:func:`serve`), so its
handlers and the Node share one thread. :class:`ThreadedServer` runs it on a thread of its own for
tools and tests that drive the Node synchronously.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

__all__ = ["DEFAULT_HOST", "ThreadedServer", "bound_port", "server_for"]

DEFAULT_HOST = "127.0.0.1"


def server_for(app: Any, *, host: str = DEFAULT_HOST, port: int = 0) -> uvicorn.Server:
    """A uvicorn server for ``app`` (``port`` 0: a free port, read it from :func:`bound_port`)."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )
    return uvicorn.Server(config)


def bound_port(server: uvicorn.Server) -> int:
    """The port a started server listens on."""
    for listener in server.servers:
        for sock in listener.sockets:
            return int(sock.getsockname()[1])
    raise RuntimeError("the server is not listening")


class ThreadedServer:
    """The API on a background thread: ``with ThreadedServer(app) as s: s.url``."""

    def __init__(self, app: Any, *, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self.server = server_for(app, host=host, port=port)
        self.host = host
        self.port = 0
        self._thread = threading.Thread(target=self.server.run, name="tradewind-api", daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        """Start and wait until it listens."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        self.port = bound_port(self.server)
        return self

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        self.server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
