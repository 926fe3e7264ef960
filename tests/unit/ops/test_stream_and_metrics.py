"""The API served by uvicorn on 127.0.0.1: the event stream carries fills and operator actions as
they happen, and /metrics (read token) shows every metric the bot declares."""

from __future__ import annotations

import threading

import httpx
from ops_bot import Bot

from tradewind.ops.api import build_app
from tradewind.ops.metrics import METRIC_NAMES
from tradewind.ops.server import ThreadedServer


def test_the_event_stream_carries_fills_and_operator_actions(bot: Bot) -> None:
    app = build_app(bot.facade)
    read = {"Authorization": f"Bearer {bot.tokens['read']}"}
    trade = {"Authorization": f"Bearer {bot.tokens['trade']}"}
    events: list[str] = []
    connected = threading.Event()
    with ThreadedServer(app) as server:
        assert server.url.startswith("http://127.0.0.1:")

        def listen() -> None:
            with httpx.stream("GET", f"{server.url}/api/v1/events?limit=6", headers=read,
                              timeout=30) as response:  # fmt: skip
                assert response.headers["content-type"].startswith("text/event-stream")
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        connected.set()
                    if line.startswith("event: "):
                        events.append(line.removeprefix("event: "))

        listener = threading.Thread(target=listen)
        listener.start()
        assert connected.wait(10)
        r = httpx.post(f"{server.url}/api/v1/pause", headers=trade, json={"reason": "stream test"})
        assert r.status_code == 200
        bot.node.resume()
        bot.run()  # the bot trades: its fills go out on the stream
        listener.join(30)
    assert events[0] == "operator.pause"
    assert events[1:] == ["order.filled"] * 5


def test_metrics_need_a_read_token_and_name_every_declared_metric(bot: Bot) -> None:
    app = build_app(bot.facade)  # the API is up from the start: it counts the fills as they come
    bot.run()
    with ThreadedServer(app) as server:
        assert httpx.get(f"{server.url}/metrics").status_code == 401
        r = httpx.get(
            f"{server.url}/metrics", headers={"Authorization": f"Bearer {bot.tokens['read']}"}
        )
    assert r.status_code == 200
    text = r.text
    for name in METRIC_NAMES:
        assert f"\n# TYPE {name} " in "\n" + text, name
    fills = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("tradewind_fills_total{")
    )
    assert fills == sum(len(o.fills) for o in bot.node.orders.values()) > 10
    assert f"tradewind_equity {float(bot.node.account.equity())}" in text
