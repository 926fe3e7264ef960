"""Conformance: 24-hour tickers over REST (``fetch_ticker``, ``fetch_tickers``,
``fetch_last_prices``) and streams (``watch_ticker``, ``watch_tickers``) with the real ccxt client.

A ticker is the served candles of the last 24 hours (the recording on the replay clock), so it
is checked against ``fetch_ohlcv`` of the same market.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from simkit import Venue

from tradewind.exchange_sim import LoopbackServer

DAY_MS = 86_400_000


def _window(candles: list[list[float]], close_ms: int) -> list[list[float]]:
    return [c for c in candles if c[0] >= close_ms - DAY_MS]


@pytest.mark.parametrize("symbol", ["ETH/BTC", "XRP/USDT:USDT"])
async def test_fetch_ticker_is_the_last_24_hours_of_served_candles(
    venue: Venue, symbol: str
) -> None:
    for _ in range(5):
        ticker = await venue("fetch_ticker", symbol)
        candles = await venue("fetch_ohlcv", symbol, "5m", None, 400)
        again = await venue("fetch_ticker", symbol)
        if again["last"] == ticker["last"] and again["info"]["count"] == ticker["info"]["count"]:
            break
    else:
        pytest.fail("the replay kept moving between reads")
    window = _window(candles, int(ticker["info"]["closeTime"]))
    assert ticker["last"] == candles[-1][4]
    assert ticker["open"] == window[0][1]
    assert ticker["high"] == max(c[2] for c in window)
    assert ticker["low"] == min(c[3] for c in window)
    assert ticker["baseVolume"] == pytest.approx(sum(c[5] for c in window), rel=1e-12)
    assert ticker["quoteVolume"] > 0
    assert ticker["info"]["count"] > 0
    assert ticker["low"] <= ticker["vwap"] <= ticker["high"]
    if symbol == "ETH/BTC":
        book = await venue("fetch_order_book", symbol, 5)
        assert ticker["bid"] == book["bids"][0][0]
        assert ticker["ask"] == book["asks"][0][0]


async def test_fetch_tickers_of_every_market_and_of_some(venue: Venue) -> None:
    spot = await venue("fetch_tickers")
    assert {"ETH/BTC", "LTC/BTC", "XRP/ETH", "BTC/USDT", "XRP/USDT"} <= set(spot)
    some = await venue("fetch_tickers", ["ETH/BTC", "LTC/BTC"])
    assert set(some) == {"ETH/BTC", "LTC/BTC"}
    swaps = await venue("fetch_tickers", None, {"type": "swap"})
    assert set(swaps) == {"XRP/USDT:USDT"}
    prices = await venue("fetch_last_prices", ["ETH/BTC"])
    assert prices["ETH/BTC"]["price"] > 0


async def test_an_unknown_symbol_is_refused(server: LoopbackServer) -> None:
    import requests

    answer = requests.get(
        f"{server.rest_url}/api/v3/ticker/24hr", params={"symbol": "NOPEBTC"}, timeout=5
    )
    assert answer.status_code == 400
    assert answer.json() == {"code": -1121, "msg": "Invalid symbol."}


async def test_watch_ticker_and_tickers_stream_the_same_numbers(
    async_client: Callable[..., Any],
) -> None:
    ex = await async_client()
    streamed = await ex.watch_ticker("BTC/USDT")
    assert streamed["symbol"] == "BTC/USDT"
    assert streamed["last"] > 30_000
    assert streamed["low"] <= streamed["last"] <= streamed["high"]
    every = await ex.watch_tickers()  # !miniTicker@arr
    assert set(every) <= set(ex.markets)
    assert all(t["last"] > 0 for t in every.values())
    perp = await ex.watch_tickers(["XRP/USDT:USDT"])
    assert perp["XRP/USDT:USDT"]["last"] > 0
    full = await ex.watch_ticker("ETH/BTC", {"name": "ticker"})  # <symbol>@ticker
    rest = await ex.fetch_ticker("ETH/BTC")
    assert full["open"] == rest["open"]
    assert full["low"] <= rest["last"] <= full["high"]


async def test_all_market_tickers_arrive_once_a_replay_second(
    async_client: Callable[..., Any],
) -> None:
    ex = await async_client()
    loop = asyncio.get_running_loop()
    seen: list[float] = []
    deadline = loop.time() + 2.5
    while loop.time() < deadline:
        await ex.watch_tickers(None, {"name": "ticker"})  # !ticker@arr
        seen.append(loop.time())
    assert len(seen) >= 2
