"""Public market-data REST endpoints of Binance spot (``/api/v3``) and USDT-M (``/fapi/v1``).

Served: ``ping``, ``time``, ``exchangeInfo``, ``klines``, ``aggTrades`` on both APIs, and on
USDT-M also ``markPriceKlines`` and ``fundingRate``. Parameters, limits and errors follow
Binance's documentation:

==================  =============  =======  ==============================================
endpoint            default limit  maximum  notes
==================  =============  =======  ==============================================
klines (spot)       500            1000     ``1s`` allowed
klines (fapi)       500            1500     also ``markPriceKlines``
fundingRate         100            1000     ``symbol`` optional (all symbols)
aggTrades           500            1000     ``fromId`` xor a time window of at most 1 hour
==================  =============  =======  ==============================================

A ``limit`` above the maximum is clamped to it. Kline rows have Binance's 12 fields; the
recordings hold only OHLCV, so quote volume, trade count and taker-buy volumes are served as
``"0"``/``0`` (stated here rather than invented). Mark-price klines carry ``"0"`` in the volume
field, as Binance's do.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from aiohttp import web

from tradewind.venues.exchange_sim import errors
from tradewind.venues.exchange_sim.errors import BinanceError
from tradewind.venues.exchange_sim.exchange import ListedMarket, SimExchange
from tradewind.venues.exchange_sim.intervals import INTERVAL_MS, SPOT_INTERVALS, USDM_INTERVALS
from tradewind.venues.exchange_sim.listings import (
    Api,
    spot_exchange_info,
    usdm_exchange_info,
)
from tradewind.venues.exchange_sim.tables import KlineTable, fmt, select_window

SIM_KEY: web.AppKey[SimExchange] = web.AppKey("sim_exchange", SimExchange)

_KLINE_LIMITS = {Api.SPOT: (500, 1000), Api.USDM: (500, 1500)}
_FUNDING_LIMITS = (100, 1000)
_AGG_TRADE_LIMITS = (500, 1000)
_ONE_HOUR_MS = 3_600_000
_UINT_LEGAL = "^[0-9]{1,20}$"


def routes() -> list[web.RouteDef]:
    """Return the route table of the market-data endpoints of both APIs."""
    table: list[web.RouteDef] = []
    for prefix, api in (("/api/v3", Api.SPOT), ("/fapi/v1", Api.USDM)):
        table += [
            web.get(f"{prefix}/ping", _ping),
            web.get(f"{prefix}/time", _time),
            web.get(f"{prefix}/exchangeInfo", _bind(_exchange_info, api)),
            web.get(f"{prefix}/klines", _bind(_klines, api)),
            web.get(f"{prefix}/aggTrades", _bind(_agg_trades, api)),
        ]
    table += [
        web.get("/fapi/v1/markPriceKlines", _bind(_klines, Api.USDM, mark=True)),
        web.get("/fapi/v1/fundingRate", _funding_rate),
    ]
    return table


def _bind(handler: Any, api: Api, **extra: Any) -> Any:
    async def bound(request: web.Request) -> web.StreamResponse:
        try:
            result: web.StreamResponse = await handler(request, api, **extra)
        except BinanceError as exc:
            return exc.response()
        return result

    return bound


async def _ping(request: web.Request) -> web.Response:
    return web.json_response({})


async def _time(request: web.Request) -> web.Response:
    return web.json_response({"serverTime": request.app[SIM_KEY].clock()})


async def _exchange_info(request: web.Request, api: Api) -> web.Response:
    sim = request.app[SIM_KEY]
    listings = [m.listing for m in sim.markets(api)]
    wanted = _wanted_symbols(request)
    if wanted is not None:
        by_symbol = {listing.symbol: listing for listing in listings}
        if any(symbol not in by_symbol for symbol in wanted):
            raise BinanceError(errors.INVALID_SYMBOL)
        listings = [by_symbol[s] for s in wanted]
    render = spot_exchange_info if api is Api.SPOT else usdm_exchange_info
    return web.json_response(render(listings, sim.clock()))


def _wanted_symbols(request: web.Request) -> list[str] | None:
    if "symbol" in request.query:
        return [request.query["symbol"]]
    if "symbols" in request.query:
        try:
            symbols = json.loads(request.query["symbols"])
        except ValueError:
            raise BinanceError(errors.MANDATORY_PARAM, name="symbols") from None
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise BinanceError(errors.MANDATORY_PARAM, name="symbols")
        return symbols
    return None


async def _klines(request: web.Request, api: Api, *, mark: bool = False) -> web.Response:
    market = _market(request, api)
    interval = request.query.get("interval", "")
    if not interval:
        raise BinanceError(errors.MANDATORY_PARAM, name="interval")
    if interval not in (SPOT_INTERVALS if api is Api.SPOT else USDM_INTERVALS):
        raise BinanceError(errors.INVALID_INTERVAL)
    start, end = _uint(request, "startTime"), _uint(request, "endTime")
    limit = _limit(request, *_KLINE_LIMITS[api])
    table = market.candles(interval, mark=mark)
    if table is None:
        # A listed symbol with no recording at this interval: Binance would have candles; an
        # empty page is the honest answer of a replay that has none.
        return web.json_response([])
    rows = select_window(table.open_ms, start, end, limit)
    return web.json_response(_kline_rows(table, rows, mark=mark))


def _kline_rows(table: KlineTable, rows: slice, *, mark: bool) -> list[list[Any]]:
    length = INTERVAL_MS.get(table.interval)
    opens = table.open_ms[rows]
    if length is not None:
        closes = opens + (length - 1)
    else:
        # 1M: a candle closes 1 ms before the next month opens.
        month_starts = opens.astype("datetime64[ms]").astype("datetime64[M]")
        closes = (month_starts + 1).astype("datetime64[ms]").astype(np.int64) - 1
    out: list[list[Any]] = []
    for i, k in enumerate(range(rows.start, rows.stop)):
        volume = "0" if mark else fmt(float(table.volume[k]))
        out.append(
            [
                int(opens[i]),
                fmt(float(table.open[k])),
                fmt(float(table.high[k])),
                fmt(float(table.low[k])),
                fmt(float(table.close[k])),
                volume,
                int(closes[i]),
                "0",
                0,
                "0",
                "0",
                "0",
            ]
        )
    return out


async def _agg_trades(request: web.Request, api: Api) -> web.Response:
    market = _market(request, api)
    limit = _limit(request, *_AGG_TRADE_LIMITS)
    from_id = _uint(request, "fromId")
    start, end = _uint(request, "startTime"), _uint(request, "endTime")
    if from_id is not None and (start is not None or end is not None):
        raise BinanceError(errors.BAD_PARAM_COMBINATION)
    if start is not None and end is not None and end - start > _ONE_HOUR_MS:
        raise BinanceError(errors.TIME_WINDOW_TOO_LONG)
    trades = market.trades
    if trades is None:
        return web.json_response([])
    if from_id is not None:
        rows = trades.from_id(from_id, limit)
    else:
        if start is not None and end is None:
            end = start + _ONE_HOUR_MS
        elif end is not None and start is None:
            start = end - _ONE_HOUR_MS
        rows = select_window(trades.time_ms, start, end, limit)
    out = []
    for k in range(rows.start, rows.stop):
        trade_id = int(trades.trade_id[k])
        out.append(
            {
                "a": trade_id,
                "p": fmt(float(trades.price[k])),
                "q": fmt(float(trades.amount[k])),
                "f": trade_id,
                "l": trade_id,
                "T": int(trades.time_ms[k]),
                "m": bool(trades.buyer_maker[k]),
                "M": True,
            }
        )
    if api is Api.USDM:
        for row in out:
            del row["M"]
    return web.json_response(out)


async def _funding_rate(request: web.Request) -> web.Response:
    try:
        return _funding_page(request)
    except BinanceError as exc:
        return exc.response()


def _funding_page(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    start, end = _uint(request, "startTime"), _uint(request, "endTime")
    limit = _limit(request, *_FUNDING_LIMITS)
    one_symbol = "symbol" in request.query
    markets = [_market(request, Api.USDM)] if one_symbol else sim.markets(Api.USDM)
    events: list[tuple[int, str, float, ListedMarket]] = []
    for market in markets:
        table = market.funding
        if table is None:
            continue
        rows = select_window(table.time_ms, start, end, limit)
        events += [
            (int(table.time_ms[k]), market.listing.symbol, float(table.rate[k]), market)
            for k in range(rows.start, rows.stop)
        ]
    events.sort(key=lambda e: (e[0], e[1]))
    keys = np.array([e[0] for e in events], dtype=np.int64)
    page = events[select_window(keys, start, end, limit)]
    out = []
    for time_ms, symbol, rate, market in page:
        mark = market.mark_price_at(time_ms)
        out.append(
            {
                "symbol": symbol,
                "fundingTime": time_ms,
                "fundingRate": fmt(rate),
                # Binance sends "" for events without a recorded mark price.
                "markPrice": "" if mark is None else fmt(mark),
            }
        )
    return web.json_response(out)


def _market(request: web.Request, api: Api) -> ListedMarket:
    symbol = request.query.get("symbol", "")
    if not symbol:
        raise BinanceError(errors.MANDATORY_PARAM, name="symbol")
    market = request.app[SIM_KEY].market(api, symbol)
    if market is None:
        raise BinanceError(errors.INVALID_SYMBOL)
    return market


def _uint(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 20:
        raise BinanceError(errors.BAD_PARAM_VALUE, name=name, legal=_UINT_LEGAL)
    return int(text)


def _limit(request: web.Request, default: int, maximum: int) -> int:
    value = _uint(request, "limit")
    if value is None or value == 0:
        return default
    return min(value, maximum)
