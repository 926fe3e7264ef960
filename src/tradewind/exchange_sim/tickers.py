"""24-hour tickers: REST ``ticker/24hr`` and ``ticker/price``, streams ``@ticker``, ``@miniTicker``,
``!ticker@arr`` and ``!miniTicker@arr``, on spot and USDT-M.

A ticker is computed from what the market served: for a market with recorded candles, the
served candles of its shortest interval (:mod:`.served_candles`) whose open lies in the 24 hours
before the replay clock, the current one partial. So ``lastPrice`` is the last trade of the walk,
``openPrice`` the open of the first candle of the window, ``highPrice``/``lowPrice`` their extremes
and ``volume`` their volume, all exact on the instrument's grid. ``quoteVolume`` and ``count`` are
those of the walk's trades (each step one trade at its price); ``prevClosePrice`` is the close of
the candle before the window. The window moves a candle at a time (Binance's moves a trade at a
time). Best bid and ask come from the live book. A market without candles (a replayed book with
no recorded trades) reports its last trade, or its best bid, with zero volume.

Streams publish at most once per replay second per market, after a replay step, and only while
someone listens (Binance: every second).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from aiohttp import web

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.accounts import fmt_dec
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.exchange import ListedMarket, SimExchange
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.rest_common import Params, json, public
from tradewind.exchange_sim.served_candles import volume_decimal
from tradewind.exchange_sim.timeline import OFFSET_HEADER

if TYPE_CHECKING:
    from tradewind.exchange_sim.engine import LiveMarket

DAY_MS = 86_400_000
_EIGHT = Decimal("0.00000001")


@dataclass(frozen=True)
class Ticker:
    """A 24-hour ticker of one market (prices Decimal, times in ms)."""

    symbol: str
    open: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    prev_close: Decimal
    volume: Decimal
    quote_volume: Decimal
    last_qty: Decimal
    count: int
    open_ms: int
    close_ms: int
    bid: Decimal | None
    bid_qty: Decimal
    ask: Decimal | None
    ask_qty: Decimal

    def full_json(self, *, futures: bool) -> dict[str, Any]:
        """Render ``GET ticker/24hr`` (spot also carries the book's best bid and ask)."""
        change = self.last - self.open
        pct = (change / self.open * 100).quantize(Decimal("0.001")) if self.open else Decimal(0)
        vwap = (self.quote_volume / self.volume).quantize(_EIGHT) if self.volume else self.last
        body: dict[str, Any] = {
            "symbol": self.symbol,
            "priceChange": _signed(change),
            "priceChangePercent": _signed(pct),
            "weightedAvgPrice": fmt_dec(vwap),
        }
        if not futures:
            body["prevClosePrice"] = fmt_dec(self.prev_close)
        body["lastPrice"] = fmt_dec(self.last)
        body["lastQty"] = fmt_dec(self.last_qty)
        if not futures:
            body.update(
                {
                    "bidPrice": fmt_dec(self.bid or Decimal(0)),
                    "bidQty": fmt_dec(self.bid_qty),
                    "askPrice": fmt_dec(self.ask or Decimal(0)),
                    "askQty": fmt_dec(self.ask_qty),
                }
            )
        body.update(
            {
                "openPrice": fmt_dec(self.open),
                "highPrice": fmt_dec(self.high),
                "lowPrice": fmt_dec(self.low),
                "volume": fmt_dec(self.volume),
                "quoteVolume": fmt_dec(self.quote_volume),
                "openTime": self.open_ms,
                "closeTime": self.close_ms,
                "firstId": -1 if not self.count else 0,
                "lastId": -1 if not self.count else self.count - 1,
                "count": self.count,
            }
        )
        return body

    def mini_json(self) -> dict[str, Any]:
        """Render ``GET ticker/24hr?type=MINI``."""
        return {
            "symbol": self.symbol,
            "openPrice": fmt_dec(self.open),
            "highPrice": fmt_dec(self.high),
            "lowPrice": fmt_dec(self.low),
            "lastPrice": fmt_dec(self.last),
            "volume": fmt_dec(self.volume),
            "quoteVolume": fmt_dec(self.quote_volume),
            "openTime": self.open_ms,
            "closeTime": self.close_ms,
            "firstId": -1 if not self.count else 0,
            "lastId": -1 if not self.count else self.count - 1,
            "count": self.count,
        }

    def ticker_event(self, now: int) -> dict[str, Any]:
        """Render the ``24hrTicker`` stream event."""
        full = self.full_json(futures=False)
        return {
            "e": "24hrTicker", "E": now, "s": self.symbol, "p": full["priceChange"],
            "P": full["priceChangePercent"], "w": full["weightedAvgPrice"],
            "x": full["prevClosePrice"], "c": full["lastPrice"], "Q": full["lastQty"],
            "b": full["bidPrice"], "B": full["bidQty"], "a": full["askPrice"], "A": full["askQty"],
            "o": full["openPrice"], "h": full["highPrice"], "l": full["lowPrice"],
            "v": full["volume"], "q": full["quoteVolume"], "O": self.open_ms, "C": self.close_ms,
            "F": full["firstId"], "L": full["lastId"], "n": self.count,
        }  # fmt: skip

    def mini_event(self, now: int) -> dict[str, Any]:
        """Render the ``24hrMiniTicker`` stream event."""
        return {
            "e": "24hrMiniTicker", "E": now, "s": self.symbol, "c": fmt_dec(self.last),
            "o": fmt_dec(self.open), "h": fmt_dec(self.high), "l": fmt_dec(self.low),
            "v": fmt_dec(self.volume), "q": fmt_dec(self.quote_volume),
        }  # fmt: skip


def _signed(value: Decimal) -> str:
    return fmt_dec(value) if value >= 0 else "-" + fmt_dec(-value)


def ticker(sim: SimExchange, market: ListedMarket, live: LiveMarket) -> Ticker:
    """Compute the 24-hour ticker of ``market`` at the replay clock (see the module docstring)."""
    now = sim.clock()
    as_of = sim.replayed_until(market, now)
    book = live.book
    bid, ask = book.bids.best(), book.asks.best()
    bid_qty = book.bids.published(bid) if bid is not None else Decimal(0)
    ask_qty = book.asks.published(ask) if ask is not None else Decimal(0)
    symbol = market.listing.symbol
    timeline = sim.timeline(market)
    served = market.served
    table = served.base() if served is not None and timeline is not None else None
    if served is None or table is None:
        price = live.last_price or bid or Decimal(0)
        return Ticker(symbol, price, price, price, price, price, Decimal(0), Decimal(0),
                      Decimal(0), 0, now - DAY_MS, now, bid, bid_qty, ask, ask_qty)  # fmt: skip
    window = served.window(table, as_of - DAY_MS, as_of)
    tick = table.tick
    if window.size == 0:
        price = live.last_price or bid or Decimal(0)
        return Ticker(symbol, price, price, price, price, price, Decimal(0), Decimal(0),
                      Decimal(0), 0, now - DAY_MS, now, bid, bid_qty, ask, ask_qty)  # fmt: skip
    volume = int(np.maximum(window.v, 0).sum())
    quote_units, count, last_qty = served.trade_stats(table, window)
    return Ticker(
        symbol=symbol,
        open=tick * int(window.o[0]),
        high=tick * int(window.h.max()),
        low=tick * int(window.lo.min()),
        last=tick * int(window.c[-1]),
        prev_close=tick * window.prev_close
        if window.prev_close is not None
        else tick * int(window.o[0]),
        volume=volume_decimal(volume),
        quote_volume=(tick * quote_units * _EIGHT).quantize(_EIGHT),
        last_qty=volume_decimal(last_qty),
        count=count,
        open_ms=max(as_of - DAY_MS, int(window.open_ms[0])),
        close_ms=as_of,
        bid=bid,
        bid_qty=bid_qty,
        ask=ask,
        ask_qty=ask_qty,
    )


# ------------------------------------------------------------------------------ REST
def routes() -> list[web.RouteDef]:
    """Return the ticker routes of both APIs."""
    return [
        web.get("/api/v3/ticker/24hr", public(_bind(_day, Api.SPOT))),
        web.get("/api/v3/ticker/price", public(_bind(_price, Api.SPOT))),
        web.get("/fapi/v1/ticker/24hr", public(_bind(_day, Api.USDM))),
        web.get("/fapi/v1/ticker/price", public(_bind(_price, Api.USDM))),
        web.get("/fapi/v2/ticker/price", public(_bind(_price, Api.USDM))),
    ]


def _bind(handler: Any, api: Api) -> Any:
    async def bound(request: web.Request, sim: SimExchange, params: Params) -> web.Response:
        result: web.Response = await handler(request, sim, params, api)
        return result

    return bound


def _markets(sim: SimExchange, params: Params, api: Api) -> tuple[list[ListedMarket], bool]:
    """Return the markets asked for and whether one was named (``symbol``) rather than a list."""
    if params.get("symbol"):
        market = sim.market(api, params["symbol"])
        if market is None:
            raise BinanceError(errors.INVALID_SYMBOL)
        return [market], True
    if params.get("symbols"):
        try:
            names = orjson.loads(params["symbols"])
        except orjson.JSONDecodeError:
            raise BinanceError(errors.MANDATORY_PARAM, name="symbols") from None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BinanceError(errors.MANDATORY_PARAM, name="symbols")
        found = [sim.market(api, n) for n in names]
        if any(m is None for m in found):
            raise BinanceError(errors.INVALID_SYMBOL)
        return [m for m in found if m is not None], False
    return sim.markets(api), False


def market_ticker(sim: SimExchange, market: ListedMarket) -> Ticker:
    """Return the ticker of a listed market (every listed market is live)."""
    live = sim.live(market.listing.api, market.listing.symbol)
    assert live is not None
    return ticker(sim, market, live)


async def _day(request: web.Request, sim: SimExchange, params: Params, api: Api) -> web.Response:
    markets, one = _markets(sim, params, api)
    mini = params.get("type", "FULL").upper() == "MINI"
    futures = api is Api.USDM
    rows = []
    for market in markets:
        t = market_ticker(sim, market)
        rows.append(t.mini_json() if mini else t.full_json(futures=futures))
    return json(rows[0] if one else rows, _offset_header(sim, markets if one else []))


async def _price(request: web.Request, sim: SimExchange, params: Params, api: Api) -> web.Response:
    markets, one = _markets(sim, params, api)
    now = sim.clock()
    rows: list[dict[str, Any]] = []
    for market in markets:
        row: dict[str, Any] = {
            "symbol": market.listing.symbol,
            "price": fmt_dec(market_ticker(sim, market).last),
        }
        if api is Api.USDM:
            row["time"] = now
        rows.append(row)
    return json(rows[0] if one else rows, _offset_header(sim, markets if one else []))


def _offset_header(sim: SimExchange, markets: list[ListedMarket]) -> dict[str, str] | None:
    if len(markets) != 1:
        return None
    timeline = sim.timeline(markets[0])
    if timeline is None:
        return None
    return {OFFSET_HEADER: str(timeline.offset_at(sim.clock()))}


# ------------------------------------------------------------------------------ streams
STREAM_KINDS = ("ticker", "miniTicker")
ALL_MARKET_STREAMS = ("!ticker@arr", "!miniTicker@arr")


def publish(sim: SimExchange, live: LiveMarket, last_sent: dict[tuple[bool, str], int]) -> None:
    """Publish ``live``'s ticker on its watched ticker streams, at most once per replay second."""
    hub = sim.hub
    futures, symbol = live.futures, live.symbol
    low = symbol.lower()
    watched = [
        s
        for s in (f"{low}@ticker", f"{low}@miniTicker", *ALL_MARKET_STREAMS)
        if hub.watched(futures, s)
    ]
    if not watched:
        return
    now = sim.clock()
    key = (futures, symbol)
    if now - last_sent.get(key, -1_000_000) < 1000:
        return
    last_sent[key] = now
    market = sim.market(Api.USDM if futures else Api.SPOT, symbol)
    assert market is not None
    t = ticker(sim, market, live)
    for stream in watched:
        full = "@ticker" in stream or stream == "!ticker@arr"
        event = t.ticker_event(now) if full else t.mini_event(now)
        hub.publish(futures, stream, [event] if stream.startswith("!") else event)
