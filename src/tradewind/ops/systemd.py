"""systemd's notify protocol, spoken directly: READY, STATUS, STOPPING and watchdog beats.

systemd passes ``NOTIFY_SOCKET`` (a filesystem path, or ``@name`` in the abstract namespace) and,
with ``WatchdogSec=``, ``WATCHDOG_USEC``/``WATCHDOG_PID``. A message is one datagram of
``KEY=VALUE`` lines. The beats come from a task on the bot's own event loop: when the loop blocks
(a stuck call, a CPU-bound hook), the beats stop, systemd kills the process after ``WatchdogSec``
and restarts it under the unit's ``Restart=`` policy. A beat from a separate thread would keep a
wedged bot alive, which is why there is none.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable

_log = logging.getLogger(__name__)


def _address(path: str) -> str:
    # "@name" is Linux's abstract namespace, spelt with a leading NUL byte on the socket.
    return "\0" + path[1:] if path.startswith("@") else path


def notify(message: str, *, socket_path: str | None = None) -> bool:
    """Send ``message`` to systemd; False (and nothing sent) when not run under systemd.

    Errors are logged, never raised: a missing notify socket must not stop trading. The send never
    blocks: a datagram socket whose reader lags (the kernel queues only a few datagrams) would
    otherwise freeze the very loop the beats speak for; a beat that does not fit is dropped.
    """
    path = socket_path if socket_path is not None else os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.setblocking(False)
            sock.connect(_address(path))
            sock.sendall(message.encode())
    except OSError as exc:
        _log.warning("systemd notify failed: %s", exc)
        return False
    return True


def _status_line(status: Callable[[], str]) -> str:
    try:
        return status().replace("\n", " ")[:200]
    except Exception as exc:
        # A failing status (a database gone away) must not stop the beats that keep us alive.
        return f"status unavailable: {type(exc).__name__}"


def watchdog_interval_s(environ: dict[str, str] | None = None) -> float | None:
    """The watchdog timeout systemd asks for, in seconds, or None when there is none for us."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or (pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None


async def watchdog_beats(
    timeout_s: float | None = None,
    *,
    socket_path: str | None = None,
    ready: bool = True,
    status: Callable[[], str] | None = None,
) -> None:
    """Send ``READY=1`` (when ``ready``), then ``WATCHDOG=1`` every half timeout, from this loop.

    Each beat carries ``STATUS=`` with what ``status`` says (the audit chain's head, so that
    ``systemctl status`` and the journal show it). Runs until cancelled; on cancellation sends
    ``STOPPING=1``. Returns at once when systemd asked for no watchdog and no ``timeout_s`` is
    given.
    """
    timeout = timeout_s if timeout_s is not None else watchdog_interval_s()
    if ready:
        notify("READY=1", socket_path=socket_path)
    if timeout is None:
        return
    try:
        while True:
            beat = "WATCHDOG=1"
            if status is not None:
                beat += f"\nSTATUS={_status_line(status)}"
            notify(beat, socket_path=socket_path)
            await asyncio.sleep(timeout / 2)
    except asyncio.CancelledError:
        notify("STOPPING=1", socket_path=socket_path)
        raise
