"""The watchdog beats reach a fake NOTIFY_SOCKET from the event loop, and stop while it blocks."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from tradewind.ops.systemd import notify, watchdog_beats, watchdog_interval_s


def _receive(sock: socket.socket, until: float) -> list[tuple[float, str]]:
    got: list[tuple[float, str]] = []
    sock.settimeout(0.05)
    while time.monotonic() < until:
        try:
            got.append((time.monotonic(), sock.recv(256).decode()))
        except TimeoutError:
            continue
    return got


def test_beats_stop_while_the_loop_blocks(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)

        async def session() -> None:
            task = asyncio.create_task(watchdog_beats(0.1, socket_path=path))
            await asyncio.sleep(0.4)
            time.sleep(0.6)
            await asyncio.sleep(0.4)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        received: list[tuple[float, str]] = []
        reader = threading.Thread(
            target=lambda: received.extend(_receive(server, time.monotonic() + 1.6))
        )
        reader.start()
        asyncio.run(session())
        reader.join()
    texts = [text for _, text in received]
    assert texts[0] == "READY=1"
    assert texts[-1] == "STOPPING=1"
    beats = [at for at, text in received if text == "WATCHDOG=1"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(beats)]
    assert max(gaps) >= 0.5  # the blocked loop sent nothing for its 0.6 s
    assert sorted(gaps)[len(gaps) // 2] < 0.15  # otherwise a beat every 0.05 s
    assert len([at for at in beats if at > beats[0] + 1.05]) >= 3  # and they resumed


def test_no_socket_no_watchdog(tmp_path: Path) -> None:
    assert notify("READY=1", socket_path="") is False
    assert (
        notify("READY=1", socket_path=str(tmp_path / "absent.sock")) is False
    )  # logged, not raised
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "20000000"}) == 20.0
    assert (
        watchdog_interval_s({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid() + 1)})
        is None
    )
