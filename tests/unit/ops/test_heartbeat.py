"""The dead man's switch against a loopback receiver: beats while the loop runs and the Node
progresses; none while the Node makes no progress, while the loop is blocked, or while the
process is stopped (SIGSTOP), and they come back after SIGCONT.

Every wait is on a condition with a generous deadline (the CI machine is loaded): the receiver runs
on its own thread, so it records beats while the test's loop is blocked, and the heartbeat sends
one beat at a time, so at most one can be on the wire when its loop or process stops.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ops_bot import Bot

from tradewind.ops.heartbeat import Heartbeat

_DEADLINE_S = 60.0


class Receiver:
    """A loopback HTTP server on its own thread that counts the beats it is sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with receiver._lock:
                    receiver._count += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                del args  # no access log on stderr

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/beat"

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.01)


async def test_beats_only_while_the_node_progresses_and_the_loop_runs() -> None:
    counter = [0]
    moving = [True]

    async def node() -> None:
        while True:
            if moving[0]:
                counter[0] += 1
            await asyncio.sleep(0.01)

    with Receiver() as receiver:
        heartbeat = Heartbeat(receiver.url, lambda: counter[0], interval_s=0.05,
                              max_silence_s=0.3)  # fmt: skip
        tasks = [asyncio.create_task(node()), asyncio.create_task(heartbeat.run())]
        try:
            # Progressing: beats arrive.
            await _until(lambda: receiver.count >= 4, "beats while the Node progresses")
            # The Node is stuck: once the heartbeat skips a beat it skips every later one (the
            # counter stays put, its silence only grows), and nothing was left on the wire (each
            # beat's answer is awaited before the next check).
            moving[0] = False
            skipped = heartbeat.skipped
            await _until(lambda: heartbeat.skipped > skipped, "the first skipped beat")
            received, sent = receiver.count, heartbeat.sent
            await _until(lambda: heartbeat.skipped > skipped + 5, "five more skipped beats")
            assert (receiver.count, heartbeat.sent) == (received, sent)
            # Progress again: the beats come back.
            moving[0] = True
            await _until(lambda: receiver.count >= received + 3, "beats after progress resumed")
            # The loop blocks for a second: the receiver's thread sees at most the one beat that
            # may have been on the wire (a running loop sends about twenty in that time).
            before = receiver.count
            time.sleep(1.0)  # the trading loop is blocked
            assert receiver.count - before <= 1
            after = receiver.count
            await _until(lambda: receiver.count >= after + 3, "beats after the block")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_loop_lag_measures_a_blocked_loop() -> None:
    # The Node never progresses and the silence allowed is tiny: the heartbeat only sleeps and
    # skips, so when the loop blocks it is asleep, due at most one interval later.
    heartbeat = Heartbeat("http://127.0.0.1:9/unused", lambda: 0, interval_s=0.05,
                          max_silence_s=0.001)  # fmt: skip
    task = asyncio.create_task(heartbeat.run())
    try:
        await _until(lambda: heartbeat.skipped >= 1, "the heartbeat's first wake-up")
        woken = heartbeat.skipped
        time.sleep(0.6)  # the trading loop is blocked
        await _until(lambda: heartbeat.skipped > woken, "the wake-up after the block")
        assert max(heartbeat.lag.samples) >= 0.5
        assert heartbeat.sent == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from tradewind.ops.heartbeat import Heartbeat

    async def main():
        counter = [0]
        async def work():
            while True:
                counter[0] += 1
                await asyncio.sleep(0.01)
        asyncio.create_task(work())
        await Heartbeat(sys.argv[1], lambda: counter[0], interval_s=0.05, max_silence_s=1).run()

    asyncio.run(main())
    """
)


def _stopped(pid: int) -> bool:
    """Whether the process is in the stopped state (``T`` in ``/proc/PID/stat``)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


async def test_a_stopped_process_sends_no_beats_and_resumes_after_sigcont() -> None:
    with Receiver() as receiver:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, receiver.url])
        try:
            await _until(lambda: receiver.count >= 3, "the child's first beats")
            os.kill(child.pid, signal.SIGSTOP)
            await _until(lambda: _stopped(child.pid), "the child to stop")
            before = receiver.count
            await asyncio.sleep(1.0)  # a running child beats about twenty times meanwhile
            assert receiver.count - before <= 1  # at most the one on the wire
            after = receiver.count
            os.kill(child.pid, signal.SIGCONT)
            await _until(lambda: receiver.count >= after + 3, "beats after SIGCONT")
        finally:
            child.kill()
            child.wait(timeout=30)


def test_health_reports_the_loop_and_the_progress_of_a_bot(bot: Bot) -> None:
    heartbeat = Heartbeat("http://127.0.0.1:9/unused", lambda: bot.node.bus.published,
                          interval_s=1, max_silence_s=30)  # fmt: skip
    bot.facade.heartbeat = heartbeat
    bot.run()
    heartbeat.progressed_recently()
    heartbeat.lag.add(0.01)
    report = bot.facade.health()
    assert report["ok"] is True
    assert set(report["components"]) == {"node", "database", "event_loop", "progress"}
    assert report["components"]["event_loop"]["lag_p99_s"] == 0.01
    heartbeat.lag.add(2.0)  # the loop stalled for two seconds: not healthy any more
    heartbeat.lag.add(2.0)
    stalled = bot.facade.health()
    assert stalled["components"]["event_loop"]["ok"] is False
    assert stalled["ok"] is False
