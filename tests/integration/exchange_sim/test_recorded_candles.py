"""Conformance: the real ccxt client gets exactly the recorded candles, on the replay clock.

The simulator shifts each recording onto its own clock by the offset it publishes
(``/tradewind/v1/replay``, header ``X-TW-Replay-Offset-Ms``). History is the recording on the
instrument's grid; the candle forming at the replay clock is served partial, and the book, the
trades and the kline stream all follow the same walk through the candle.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.pro
import orjson
import pandas as pd
import pytest
import requests
from simkit import configure, open_account

from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.testing.replay import first_pass_offset, timeline

SAT = Decimal("0.00000001")


def on_grid(value: float, grid: Decimal = SAT) -> float:
    return float(Decimal(repr(float(value))).quantize(grid))


def test_history_is_the_recording_on_the_grid(
    sync_client: Callable[..., Any], server: LoopbackServer, shared_data: Path
) -> None:
    ex = sync_client()
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    shift = first_pass_offset(server.rest_url, "spot", "ETHBTC")
    since = int(frame["date"].iloc[0].value // 1_000_000) + shift
    got: list[list[float]] = []
    while len(got) < len(frame):
        page = ex.fetch_ohlcv("ETH/BTC", "5m", since, 1000)
        got += page
        since = int(page[-1][0]) + 300_000
    got = got[: len(frame)]
    assert [int(r[0]) - shift for r in got] == [d.value // 1_000_000 for d in frame["date"]]
    for i, row in enumerate(got):
        expected = frame.iloc[i]
        assert row[1:5] == [on_grid(expected[c]) for c in ("open", "high", "low", "close")]
        assert row[5] == on_grid(expected["volume"])
    # The raw answer is decimal strings on the grid, never float noise such as
    # "0.10441057000000001".
    raw = ex.publicGetKlines({"symbol": "ETHBTC", "interval": "5m", "limit": 1000})
    assert all(len(v.split(".")[-1]) <= 8 for row in raw for v in row[1:6])


def test_quote_volume_is_an_estimate_from_the_typical_price(
    sync_client: Callable[..., Any], server: LoopbackServer
) -> None:
    # The recordings hold no quote volume: each candle's is volume x (high + low + close) / 3,
    # and an aggregated candle's the sum over the candles it is built from.
    ex = sync_client()
    raw5 = ex.publicGetKlines({"symbol": "ETHBTC", "interval": "5m", "limit": 1000})
    raw15 = ex.publicGetKlines({"symbol": "ETHBTC", "interval": "15m", "limit": 300})

    def units(row: list[Any]) -> Decimal:
        return Decimal(row[5]) * (Decimal(row[2]) + Decimal(row[3]) + Decimal(row[4]))

    for row in raw5:
        assert Decimal(row[7]) == (units(row) / 3).quantize(SAT, ROUND_HALF_EVEN)
        assert row[8] == 0  # trade counts are not recorded and not estimated
    assert sum(Decimal(row[7]) > 0 for row in raw5) > 900
    closed = {int(r[0]): r for r in raw5[:-1]}  # the last one may still be forming
    checked = 0
    for row in raw15[:-1]:
        parts = [closed.get(int(row[0]) + i * 300_000) for i in range(3)]
        if any(p is None for p in parts):
            continue
        total = sum((units(p) for p in parts if p is not None), Decimal(0))
        assert Decimal(row[7]) == (total / 3).quantize(SAT, ROUND_HALF_EVEN)
        checked += 1
    assert checked > 250


def test_the_latest_candle_is_the_one_forming_at_the_replay_clock(
    sync_client: Callable[..., Any], server: LoopbackServer, shared_data: Path
) -> None:
    ex = sync_client()
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    for _ in range(5):
        (candle,) = ex.fetch_ohlcv("ETH/BTC", "5m", None, 1)
        now = ex.fetch_time()
        trades = ex.fetch_trades("ETH/BTC", None, 50, {"fetchTradesMethod": "publicGetTrades"})
        (again,) = ex.fetch_ohlcv("ETH/BTC", "5m", None, 1)
        if again == candle:
            break  # no replay step between the reads
    else:
        pytest.fail("the replay kept moving between reads")
    assert candle[0] <= now < candle[0] + 300_000
    # The replay is in its second pass, at one of the recording's first candles.
    tl = timeline(server.rest_url, "spot", "ETHBTC")
    assert tl["pass"] == 1
    starts = [d.value // 1_000_000 for d in frame["date"]]
    k = starts.index(candle[0] - tl["offsetMs"])
    assert k <= 1
    recorded = frame.iloc[k]
    assert candle[1] == on_grid(recorded["open"])
    assert (
        on_grid(recorded["low"]) <= candle[3] <= candle[4] <= candle[2] <= on_grid(recorded["high"])
    )
    # The forming candle is made of the trades the book showed since it opened.
    # (Public trades start afresh with each replay: earlier tests' servers left none.)
    in_candle = [t for t in trades if t["timestamp"] >= candle[0]]
    assert in_candle, "the candle's first step trades at its open"
    assert in_candle[-1]["price"] == candle[4]
    assert max(t["price"] for t in in_candle) == candle[2]
    assert min(t["price"] for t in in_candle) == candle[3]
    assert math.isclose(sum(t["amount"] for t in in_candle), candle[5], rel_tol=1e-12)
    book = ex.fetch_order_book("ETH/BTC", 5)
    assert candle[4] in (book["bids"][0][0], book["asks"][0][0])


@pytest.fixture
def fast_server(shared_data: Path) -> Iterator[LoopbackServer]:
    """UNITTEST/BTC's 1m candles replayed 60 times faster than real time (a candle a second)."""
    sim = SimExchange(clock=SimClock(speed=60.0), seed=3, history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "UNITTEST_BTC-1m.feather")
    sim.add_listing(shared_listings()["spot:UNITTESTBTC"], klines={"1m": frame})
    with LoopbackServer(sim) as running:
        yield running


def _pro_client(server: LoopbackServer) -> Any:
    key = open_account(server)
    client = ccxt.pro.binance(
        {
            "apiKey": key.key,
            "secret": key.secret,
            "enableRateLimit": False,
            "options": {
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
    )
    return configure(client, server, ws=True)


async def test_streamed_candles_and_trades_rebuild_the_recorded_candles(
    fast_server: LoopbackServer, shared_data: Path
) -> None:
    ex = _pro_client(fast_server)
    try:
        await ex.load_markets()
        candles: dict[int, list[float]] = {}
        trades: dict[str, dict[str, Any]] = {}

        async def watch_candles() -> None:
            while True:
                for row in await ex.watch_ohlcv("UNITTEST/BTC", "1m"):
                    candles[int(row[0])] = row

        async def watch_trades() -> None:
            while True:
                for trade in await ex.watch_trades("UNITTEST/BTC"):
                    trades[trade["id"]] = trade

        tasks = [asyncio.ensure_future(watch_candles()), asyncio.ensure_future(watch_trades())]
        await asyncio.sleep(5.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        opens = sorted(candles)
        # Candles followed by another are final; the first may have been joined mid-way.
        complete = opens[1:-1]
        assert len(complete) >= 3
        shift = int(timeline(fast_server.rest_url, "spot", "UNITTESTBTC")["offsetMs"])
        frame = pd.read_feather(shared_data / "candles" / "UNITTEST_BTC-1m.feather")
        by_open = {d.value // 1_000_000: i for i, d in enumerate(frame["date"])}
        for open_ms in complete:
            row = candles[open_ms]
            recorded = frame.iloc[by_open[open_ms - shift]]
            assert row[1:5] == [on_grid(recorded[c]) for c in ("open", "high", "low", "close")]
            assert row[5] == on_grid(recorded["volume"])
            # Its trades lie within [low, high] and sum to its volume, exactly.
            inside = [t for t in trades.values() if open_ms <= t["timestamp"] < open_ms + 60_000]
            if row[5] > 0:
                assert min(t["price"] for t in inside) == row[3]
                assert max(t["price"] for t in inside) == row[2]
                total = sum(Decimal(t["info"]["q"]) for t in inside)
                assert total == Decimal(repr(row[5]))
        # The streamed candles are the REST candles.
        rest = await ex.fetch_ohlcv("UNITTEST/BTC", "1m", complete[0], len(complete))
        assert [r for r in rest if r[0] in complete] == [candles[t] for t in complete]
    finally:
        await ex.close()


def test_the_offset_header_and_endpoint_agree(server: LoopbackServer) -> None:
    import requests

    answer = requests.get(
        f"{server.rest_url}/api/v3/klines",
        params={"symbol": "ETHBTC", "interval": "1h", "limit": 2},
        timeout=5,
    )
    published = timeline(server.rest_url, "spot", "ETHBTC")
    assert answer.headers["X-TW-Replay-Offset-Ms"] == str(published["offsetMs"])
    assert published["offsetMs"] % published["alignMs"] == 0
    now = requests.get(f"{server.rest_url}/api/v3/time", timeout=5).json()["serverTime"]
    assert published["recordingNow"] <= now - published["offsetMs"] + 1000


def test_the_client_cannot_be_served_a_future_candle(sync_client: Callable[..., Any]) -> None:
    ex = sync_client()
    now = ex.fetch_time()
    assert ex.fetch_ohlcv("ETH/BTC", "5m", now + 300_000, 10) == []
    assert ex.fetch_ohlcv("XRP/USDT:USDT", "5m", now + 300_000, 10) == []


@pytest.fixture
def lagging_server(shared_data: Path) -> Iterator[LoopbackServer]:
    """UNITTEST/BTC's 1m candles at 20,000x: a candle every 3 ms, faster than the replay can apply
    its steps, so the replay runs behind the clock."""
    sim = SimExchange(clock=SimClock(speed=20_000.0), seed=3, history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "UNITTEST_BTC-1m.feather")
    sim.add_listing(shared_listings()["spot:UNITTESTBTC"], klines={"1m": frame})
    with LoopbackServer(sim) as running:
        yield running


async def test_a_replay_behind_its_clock_never_calls_a_forming_candle_final(
    lagging_server: LoopbackServer,
) -> None:
    def rest(**params: Any) -> list[list[Any]]:
        params = {"symbol": "UNITTESTBTC", "interval": "1m", **params}
        reply = requests.get(lagging_server.rest_url + "/api/v3/klines", params=params, timeout=5)
        rows: list[list[Any]] = reply.json()
        return rows

    # REST: a candle whose close time has passed at the server is final when served.
    served: list[tuple[list[Any], int]] = []
    for _ in range(40):
        # The server's time before the page: the page was served at or after it.
        before = requests.get(lagging_server.rest_url + "/api/v3/time", timeout=5).json()
        (row,) = rest(limit=1)
        served.append((row, int(before["serverTime"])))
    # Stream: a kline flagged closed carries the candle's final values.
    closed: dict[int, tuple[str, ...]] = {}
    url = lagging_server.ws_url + "/stream/ws/0"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        subscribe = {"method": "SUBSCRIBE", "params": ["unittestbtc@kline_1m"], "id": 1}
        await ws.send_str(orjson.dumps(subscribe).decode())
        deadline = asyncio.get_running_loop().time() + 2.0
        while asyncio.get_running_loop().time() < deadline:
            k = orjson.loads((await ws.receive(timeout=2)).data).get("k")
            if k and k["x"]:
                closed.setdefault(k["t"], (k["o"], k["h"], k["l"], k["c"], k["v"]))
    assert len(closed) >= 20
    for open_ms, values in list(closed.items())[:60]:
        (final,) = rest(startTime=open_ms, limit=1)
        assert values == tuple(final[1:6]), f"closed kline {open_ms} was not final"
    finals = [(row, now) for row, now in served if row[6] < now]
    for row, _ in finals[:20]:
        assert rest(startTime=row[0], limit=1) == [row], f"REST candle {row[0]} changed later"
