"""The dead man's switch against a loopback receiver: beats while the loop runs and the Node
progresses; none while the Node makes no progress, while the loop is blocked, or while the
process is stopped (SIGSTOP), and they come back after SIGCONT."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

from aiohttp import web
from ops_bot import Bot

from tradewind.ops.heartbeat import Heartbeat


class Receiver:
    """A loopback HTTP server that records the time of each beat."""

    def __init__(self) -> None:
        self.beats: list[float] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> Receiver:
        app = web.Application()

        async def beat(_: web.Request) -> web.Response:
            self.beats.append(time.monotonic())
            return web.Response(text="ok")

        app.router.add_get("/beat", beat)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/beat"
        return self

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()

    def between(self, start: float, end: float) -> int:
        return sum(1 for t in self.beats if start <= t < end)


async def test_beats_only_while_the_node_progresses_and_the_loop_runs() -> None:
    receiver = await Receiver().start()
    counter = [0]
    heartbeat = Heartbeat(receiver.url, lambda: counter[0], interval_s=0.05, max_silence_s=0.3)
    task = asyncio.create_task(heartbeat.run())
    try:
        # Progressing: the Node's counter moves every 20 ms.
        start = time.monotonic()
        while time.monotonic() - start < 0.5:
            counter[0] += 1
            await asyncio.sleep(0.02)
        progressing = receiver.between(start, time.monotonic())
        assert progressing >= 4
        # The Node is stuck: beats stop once max_silence_s has passed.
        await asyncio.sleep(0.4)
        stuck_from = time.monotonic()
        await asyncio.sleep(0.5)
        assert receiver.between(stuck_from, time.monotonic()) == 0
        assert heartbeat.skipped > 0
        # Progress again, then the loop blocks for 0.6 s: no beat inside the block.
        counter[0] += 1
        await asyncio.sleep(0.2)
        blocked_from = time.monotonic()
        time.sleep(0.6)  # the trading loop is blocked
        blocked_to = time.monotonic()
        counter[0] += 1
        await asyncio.sleep(0.2)
        assert receiver.between(blocked_from, blocked_to) == 0
        assert heartbeat.lag.p99() >= 0.5  # the wake-up after the block was that late
    finally:
        task.cancel()
        await receiver.stop()


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


async def test_a_stopped_process_sends_no_beats_and_resumes_after_sigcont() -> None:
    receiver = await Receiver().start()
    child = subprocess.Popen([sys.executable, "-c", _CHILD, receiver.url])
    try:
        deadline = time.monotonic() + 20
        while not receiver.beats and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert receiver.beats, "the child never beat"
        os.kill(child.pid, signal.SIGSTOP)
        await asyncio.sleep(0.2)  # a beat already on the wire may still land
        stopped_from = time.monotonic()
        await asyncio.sleep(0.8)
        stopped_to = time.monotonic()
        assert receiver.between(stopped_from, stopped_to) == 0
        os.kill(child.pid, signal.SIGCONT)
        await asyncio.sleep(0.8)
        assert receiver.between(stopped_to, time.monotonic()) >= 3
    finally:
        child.kill()
        child.wait(timeout=10)
        await receiver.stop()


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
