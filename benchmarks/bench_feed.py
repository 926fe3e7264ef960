"""The live feed's own cost per market message, over ccxt.pro's parsing of the same message.

Every raw message reaches :class:`~tradewind.connectors.market_feed.MarketFeed` through its tap on
ccxt.pro's message handler; the tap turns it into events (exact decimals, closed flags, the book
applied with its sequence checks). This times, per message and in process (no socket), the tap on
real recorded data and, as the peer, ccxt.pro's own ``handle_message`` on the same messages (what
a bot that used ``watch_ohlcv``/``watch_trades`` would pay to get floats):

- klines: the real ETH/BTC 5m candles as Binance kline messages (one closing update per candle);
- trades: the real Binance BTCUSDT trades as ``trade`` messages.

Reported: p50 and p99 of ours and of ccxt's, per message kind. Each event our path produced is
checked (one closed bar per candle, one trade event per trade) before a time counts.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import Row


def _messages() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from tradewind.testing.shared_data import shared_data_dir

    root = shared_data_dir()
    assert root is not None
    candles = pd.read_feather(root / "candles" / "ETH_BTC-5m.feather")
    klines = []
    for r in candles.itertuples():
        t = int(pd.Timestamp(r.date).value // 1_000_000)
        klines.append({
            "e": "kline", "E": t + 299_999, "s": "ETHBTC",
            "k": {"t": t, "T": t + 299_999, "s": "ETHBTC", "i": "5m", "f": 0, "L": 0,
                  "o": repr(r.open), "c": repr(r.close), "h": repr(r.high), "l": repr(r.low),
                  "v": repr(r.volume), "n": 1, "x": True, "q": "0", "V": "0", "Q": "0", "B": "0"},
        })  # fmt: skip
    tape = pd.read_parquet(root / "trades" / "binance-btcusdt-trades.parquet")
    trades = []
    for r in tape.itertuples():
        t = int(pd.Timestamp(r.timestamp).value // 10**6)
        trades.append({"e": "trade", "E": t, "s": "BTCUSDT", "t": int(r.trade_id),
                       "p": repr(float(r.price)), "q": repr(float(r.quantity)), "T": t,
                       "m": bool(r.buyer_maker), "M": True})  # fmt: skip
    return klines, trades


def _percentiles(samples: list[int]) -> tuple[float, float]:
    arr = np.asarray(samples, dtype=np.float64) / 1e9
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


async def _measure() -> list[Row]:
    import ccxt.pro

    from tradewind.connectors.binance_streams import StreamKind
    from tradewind.connectors.market_feed import FeedSpec, MarketFeed
    from tradewind.core.market_events import BarClosed, TradePrinted

    klines, trades = _messages()
    client = ccxt.pro.binance({"options": {"fetchMarkets": {"types": ["spot"]}}})
    common = {"type": "spot", "spot": True, "swap": False, "future": False, "option": False,
              "contract": False, "margin": False, "linear": None, "inverse": None,
              "settle": None, "active": True, "precision": {"price": 1e-8, "amount": 1e-8},
              "limits": {}}  # fmt: skip
    client.set_markets(
        [
            {**common, "id": "ETHBTC", "symbol": "ETH/BTC", "base": "ETH", "quote": "BTC",
             "lowercaseId": "ethbtc"},
            {**common, "id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT",
             "lowercaseId": "btcusdt"},
        ]
    )  # fmt: skip
    spec = FeedSpec(symbols=("ETH/BTC", "BTC/USDT"), timeframes=("5m",),
                    kinds=frozenset({StreamKind.KLINE, StreamKind.TRADE}))  # fmt: skip
    original = client.handle_message
    rows = []
    for kind, messages, expect in (("kline", klines, BarClosed), ("trade", trades, TradePrinted)):
        ours: list[int] = []
        peer: list[int] = []
        for _ in range(3):  # the last of three rounds counts (warm caches); each on a new feed
            feed = MarketFeed(client, spec)
            feed._build_groups()
            feed._original_handler = original
            group = next(g for g in feed.groups if g.kind.value == kind)
            conn = client.client(group.url)  # ccxt's own connection object, never connected
            ours.clear()
            peer.clear()
            for message in messages:
                start = time.perf_counter_ns()
                feed._tap(conn, message)
                ours.append(time.perf_counter_ns() - start)
                start = time.perf_counter_ns()
                original(conn, message)
                peer.append(time.perf_counter_ns() - start)
            produced = 0
            while not feed.events.empty():
                produced += isinstance(feed.events.get_nowait(), expect)
            assert produced == len(messages), (kind, produced, len(messages))
        o50, o99 = _percentiles(ours)
        p50, p99 = _percentiles(peer)
        rows.append(Row("live feed", f"{kind} message -> event, p50", o50, peer_name="ccxt.pro "
                        "handle_message", peer=p50, note=f"{len(messages)} real messages"))  # fmt: skip
        rows.append(Row("live feed", f"{kind} message -> event, p99", o99,
                        peer_name="ccxt.pro handle_message", peer=p99))  # fmt: skip
    await client.close()
    return rows


def run(quick: bool) -> list[Row]:
    """Time the tap per message against ccxt.pro's parsing (see the module docstring)."""
    return asyncio.run(_measure())
