"""Bybit v5 public REST: time, instruments, klines, order book, tickers, trades, funding history,
open interest.

The same listings, live books and recorded series as the Binance side (one exchange core), in
Bybit's shapes: ``category`` ``spot`` serves the spot listings and ``linear`` the USDT-M ones.
Klines are the served candles of the recording (exact, the current one partial), newest first as
Bybit sends them; funding history is the recorded funding events on the server clock (Bybit's
times: 00:00, 08:00 and 16:00 UTC, the same grid as the recording's). Open interest (in tickers
and ``/v5/market/open-interest``) is the accounts' positions now
(:func:`~tradewind.exchange_sim.futures.open_interest`): one row, whatever the interval.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from tradewind.exchange_sim.accounts import fmt_dec
from tradewind.exchange_sim.bybit import errors
from tradewind.exchange_sim.bybit.common import (
    Params,
    category,
    live_market,
    public,
)
from tradewind.exchange_sim.bybit.errors import BybitError
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.futures import open_interest
from tradewind.exchange_sim.listings import Api, Listing

BYBIT_INTERVALS = {
    "1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h",
    "240": "4h", "360": "6h", "720": "12h", "D": "1d", "W": "1w", "M": "1M",
}  # fmt: skip
"""Bybit's kline interval names and the core's (Binance's) names for the same candles."""
_DAY_MS = 86_400_000
MAX_LEVERAGE = 100


def routes() -> list[web.RouteDef]:
    """Return Bybit's public market-data routes."""
    return [
        web.get("/v5/market/time", public(_time)),
        web.get("/v5/market/instruments-info", public(_instruments)),
        web.get("/v5/market/kline", public(_kline)),
        web.get("/v5/market/orderbook", public(_orderbook)),
        web.get("/v5/market/tickers", public(_tickers)),
        web.get("/v5/market/recent-trade", public(_recent_trades)),
        web.get("/v5/market/funding/history", public(_funding_history)),
        web.get("/v5/market/open-interest", public(_open_interest)),
    ]


async def _time(request: web.Request, sim: SimExchange, params: Params) -> dict[str, str]:
    now = sim.clock()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def _decimals(step: Decimal) -> str:
    return str(max(0, -step.normalize().as_tuple().exponent))  # type: ignore[operator]


def instrument_json(listing: Listing) -> dict[str, Any]:
    """Render one instrument of ``/v5/market/instruments-info`` with its filters."""
    min_qty = fmt_dec(listing.min_qty or listing.step_size)
    if listing.api is Api.SPOT:
        return {
            "symbol": listing.symbol, "baseCoin": listing.base, "quoteCoin": listing.quote,
            "innovation": "0", "status": "Trading", "marginTrading": "none",
            "stTag": "0",
            "lotSizeFilter": {
                "basePrecision": fmt_dec(listing.step_size), "quotePrecision": "0.00000001",
                "minOrderQty": min_qty, "maxOrderQty": fmt_dec(listing.max_qty),
                "minOrderAmt": fmt_dec(listing.min_notional), "maxOrderAmt": "2000000",
            },
            "priceFilter": {"tickSize": fmt_dec(listing.tick_size)},
            "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
        }  # fmt: skip
    return {
        "symbol": listing.symbol, "contractType": "LinearPerpetual", "status": "Trading",
        "baseCoin": listing.base, "quoteCoin": listing.quote, "settleCoin": listing.quote,
        "launchTime": str(listing.onboard_ms), "deliveryTime": "0", "deliveryFeeRate": "",
        "priceScale": _decimals(listing.tick_size),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": f"{MAX_LEVERAGE}.00",
                           "leverageStep": "0.01"},
        "priceFilter": {"minPrice": fmt_dec(listing.min_price or listing.tick_size),
                        "maxPrice": fmt_dec(listing.max_price),
                        "tickSize": fmt_dec(listing.tick_size)},
        "lotSizeFilter": {"maxOrderQty": fmt_dec(listing.max_qty), "minOrderQty": min_qty,
                          "qtyStep": fmt_dec(listing.step_size),
                          "postOnlyMaxOrderQty": fmt_dec(listing.max_qty),
                          "maxMktOrderQty": fmt_dec(listing.max_qty),
                          "minNotionalValue": fmt_dec(listing.min_notional)},
        "unifiedMarginTrade": True, "fundingInterval": 480, "copyTrading": "both",
        "upperFundingRate": "0.02", "lowerFundingRate": "-0.02", "isPreListing": False,
        "preListingInfo": None,
    }  # fmt: skip


async def _instruments(request: web.Request, sim: SimExchange, params: Params) -> dict[str, Any]:
    api = category(params)
    status = params.get("status")
    rows = [
        instrument_json(m.listing)
        for m in sim.markets(api)
        if params.get("symbol") in (None, m.listing.symbol)
    ]
    if status not in (None, "Trading"):
        rows = []  # nothing is pre-launch or delivering in a replay
    return {"category": params["category"], "list": rows, "nextPageCursor": ""}


async def _kline(request: web.Request, sim: SimExchange, params: Params) -> dict[str, Any]:
    api = category(params)
    live_market(sim, params, api)
    name = params.get("interval", "")
    if name not in BYBIT_INTERVALS:
        raise BybitError(errors.PARAMS, detail="interval invalid")
    market = sim.market(api, params["symbol"])
    assert market is not None  # listed: it has a live market
    limit = min(int(params.get("limit") or 200), 1000)
    start = int(params["start"]) if params.get("start") else None
    end = int(params["end"]) if params.get("end") else None
    timeline = sim.timeline(market)
    served = market.served
    rows: list[list[Any]] = []
    if timeline is not None and served is not None:
        now = sim.clock()
        rows = served.rows(
            BYBIT_INTERVALS[name], start, end, limit, sim.replayed_until(market, now)
        )
    out = [[str(r[0]), r[1], r[2], r[3], r[4], r[5], r[7]] for r in reversed(rows)]
    return {"category": params["category"], "symbol": params["symbol"], "list": out}


async def _orderbook(request: web.Request, sim: SimExchange, params: Params) -> dict[str, Any]:
    api = category(params)
    market = live_market(sim, params, api)
    cap = 200 if api is Api.SPOT else 500
    limit = min(int(params.get("limit") or (1 if api is Api.SPOT else 25)), cap)
    sim.engine.finish(market)
    update_id, bids, asks = market.book.snapshot(limit)
    now = sim.clock()
    return {"s": market.symbol, "b": bids, "a": asks, "ts": now, "u": update_id,
            "seq": update_id, "cts": now}  # fmt: skip


def ticker_json(sim: SimExchange, api: Api, symbol: str) -> dict[str, Any]:
    """Render one row of ``/v5/market/tickers`` (also the ``tickers`` stream's snapshot)."""
    market = sim.live(api, symbol)
    assert market is not None
    book = market.book
    bid, ask = book.bids.best(), book.asks.best()
    now = sim.clock()
    day = [t for t in market.recent_trades if t[4] >= now - _DAY_MS]
    last = market.last_price or (bid + ask) / 2 if bid and ask else market.last_price
    prices = [t[1] for t in day]
    row: dict[str, Any] = {
        "symbol": symbol,
        "bid1Price": fmt_dec(bid) if bid else "", "bid1Size": fmt_dec(book.bids.published(bid)) if bid else "",
        "ask1Price": fmt_dec(ask) if ask else "", "ask1Size": fmt_dec(book.asks.published(ask)) if ask else "",
        "lastPrice": fmt_dec(last) if last else "",
        "prevPrice24h": fmt_dec(prices[0]) if prices else (fmt_dec(last) if last else ""),
        "price24hPcnt": fmt_dec(((prices[-1] - prices[0]) / prices[0]).quantize(Decimal("0.0001")))
        if prices else "0",
        "highPrice24h": fmt_dec(max(prices)) if prices else "",
        "lowPrice24h": fmt_dec(min(prices)) if prices else "",
        "turnover24h": fmt_dec(sum((t[1] * t[2] for t in day), Decimal(0))),
        "volume24h": fmt_dec(sum((t[2] for t in day), Decimal(0))),
    }  # fmt: skip
    if api is Api.USDM:
        rate, next_ms = sim.hub.funding(symbol)
        mark = market.mark_price or last
        oi = open_interest(sim.engine, symbol)
        row.update({
            "markPrice": fmt_dec(mark) if mark else "", "indexPrice": fmt_dec(mark) if mark else "",
            "fundingRate": format(rate, "f"), "nextFundingTime": str(next_ms),
            "openInterest": fmt_dec(oi), "openInterestValue": fmt_dec(oi * (mark or 0)),
            "predictedDeliveryPrice": "",
            "basisRate": "", "deliveryFeeRate": "", "deliveryTime": "0",
        })  # fmt: skip
    return row


async def _tickers(request: web.Request, sim: SimExchange, params: Params) -> dict[str, Any]:
    api = category(params)
    if params.get("symbol"):
        symbols = [live_market(sim, params, api).symbol]
    else:
        symbols = [m.listing.symbol for m in sim.markets(api)]
    return {"category": params["category"], "list": [ticker_json(sim, api, s) for s in symbols]}


async def _recent_trades(request: web.Request, sim: SimExchange, params: Params) -> dict[str, Any]:
    api = category(params)
    market = live_market(sim, params, api)
    cap = 60 if api is Api.SPOT else 1000
    limit = min(int(params.get("limit") or (60 if api is Api.SPOT else 500)), cap)
    rows = list(market.recent_trades)[-limit:]
    return {"category": params["category"], "list": [
        {"execId": str(tid), "symbol": market.symbol, "price": fmt_dec(p), "size": fmt_dec(q),
         "side": "Sell" if buyer_maker else "Buy", "time": str(t), "isBlockTrade": False,
         "isRPITrade": False}
        for tid, p, q, buyer_maker, t in reversed(rows)
    ]}  # fmt: skip


async def _funding_history(
    request: web.Request, sim: SimExchange, params: Params
) -> dict[str, Any]:
    if category(params) is not Api.USDM:
        raise BybitError(errors.CATEGORY)
    live_market(sim, params, Api.USDM)
    market = sim.market(Api.USDM, params["symbol"])
    assert market is not None
    limit = min(int(params.get("limit") or 200), 200)
    start = int(params["startTime"]) if params.get("startTime") else None
    end = int(params["endTime"]) if params.get("endTime") else None
    table = market.funding
    timeline = sim.timeline(market)
    out: list[dict[str, str]] = []
    if table is not None and timeline is not None:
        times, rows, _ = timeline.served(table.time_ms, sim.clock())
        for i in range(len(times) - 1, -1, -1):  # newest first, as Bybit pages
            # Bybit reports the scheduled time; the recording's few ms of jitter are dropped.
            t = int(times[i]) // 1000 * 1000
            if (end is not None and t > end) or (start is not None and t < start):
                continue
            rate = float(table.rate[int(rows[i])])
            out.append({"symbol": market.listing.symbol, "fundingRate": format(rate, ".8f"),
                        "fundingRateTimestamp": str(t)})  # fmt: skip
            if len(out) >= limit:
                break
    return {"category": "linear", "list": out}


async def _open_interest(request: web.Request, sim: SimExchange, params: Params) -> dict[str, Any]:
    if category(params) is not Api.USDM:
        raise BybitError(errors.CATEGORY)
    market = live_market(sim, params, Api.USDM)
    oi = open_interest(sim.engine, market.symbol)
    # The clock rounded down to the interval, as Bybit stamps its rows.
    step = _INTERVAL_MS.get(params.get("intervalTime", "5min"), 300_000)
    at = sim.clock() // step * step
    return {"category": "linear", "symbol": market.symbol,
            "list": [{"openInterest": fmt_dec(oi), "timestamp": str(at)}],
            "nextPageCursor": ""}  # fmt: skip


_INTERVAL_MS = {"5min": 300_000, "15min": 900_000, "30min": 1_800_000, "1h": 3_600_000,
                "4h": 14_400_000, "1d": 86_400_000}  # fmt: skip
