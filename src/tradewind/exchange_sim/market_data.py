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

A ``limit`` above the maximum is clamped to it. Klines and mark-price klines are the recording on
the replay clock, up to it, the current candle partial (:mod:`.served_candles`); the answer
carries the header ``X-TW-Replay-Offset-Ms`` (server time minus recording time, see
:mod:`.timeline`).

``GET /tradewind/v1/replay`` (not Binance's) publishes every market's timeline:
``{"serverTime", "history", "markets": [{"api", "symbol", "offsetMs", "pass", "recordingStart",
"recordingEnd", "periodMs", "alignMs", "firstPassOffsetMs", "replayStartedAt", "recordingNow"}]}``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
from aiohttp import web

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.accounts import fmt_dec
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.exchange import ListedMarket, SimExchange
from tradewind.exchange_sim.intervals import SPOT_INTERVALS, USDM_INTERVALS
from tradewind.exchange_sim.listings import (
    Api,
    spot_exchange_info,
    usdm_exchange_info,
)
from tradewind.exchange_sim.tables import fmt, select_window
from tradewind.exchange_sim.timeline import OFFSET_HEADER

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
        web.get("/tradewind/v1/replay", _replay),
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
    sim = request.app[SIM_KEY]
    timeline = sim.timeline(market)
    served = market.served_marks if mark else market.served
    if timeline is None or served is None:
        # A listed symbol with no recording: Binance would have candles; an empty page is the
        # honest answer of a replay that has none.
        return web.json_response([])
    now = sim.clock()
    rows = served.rows(interval, start, end, limit, sim.replayed_until(market, now), clock_ms=now)
    return _json(rows, {OFFSET_HEADER: str(timeline.offset_at(now))})


def _json(payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(payload), content_type="application/json", headers=headers
    )


async def _replay(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    now = sim.clock()
    rows = []
    for market in sim.all_markets():
        timeline = sim.timeline(market)
        if timeline is None:
            continue
        listing = market.listing
        rows.append({"api": str(listing.api), "symbol": listing.symbol, **timeline.json(now)})
    return _json({"serverTime": now, "history": sim.history, "markets": rows})


async def _agg_trades(request: web.Request, api: Api) -> web.Response:
    market = _market(request, api)
    limit = _limit(request, *_AGG_TRADE_LIMITS)
    from_id = _uint(request, "fromId")
    start, end = _uint(request, "startTime"), _uint(request, "endTime")
    if from_id is not None and (start is not None or end is not None):
        raise BinanceError(errors.BAD_PARAM_COMBINATION)
    if start is not None and end is not None and end - start > _ONE_HOUR_MS:
        raise BinanceError(errors.TIME_WINDOW_TOO_LONG)
    sim = request.app[SIM_KEY]
    trades = market.trades
    timeline = sim.timeline(market)
    if trades is None or timeline is None:
        return web.json_response([])
    now = sim.clock()
    times, rows, laps = timeline.served(trades.time_ms, now)
    # Ids stay unique and increasing across passes: pass p adds p times the recording's id span.
    span = int(trades.trade_id[-1]) - int(trades.trade_id[0]) + 1 if len(trades) else 0
    ids = trades.trade_id[rows] + laps * span
    if from_id is not None:
        lo = int(np.searchsorted(ids, from_id, side="left"))
        page = slice(lo, min(len(ids), lo + limit))
    else:
        if start is not None and end is None:
            end = start + _ONE_HOUR_MS
        elif end is not None and start is None:
            start = end - _ONE_HOUR_MS
        page = select_window(times, start, end, limit)
    tick, lot = market.listing.tick_size, market.listing.step_size
    out = []
    for i in range(page.start, page.stop):
        k = int(rows[i])
        trade_id = int(ids[i])
        row: dict[str, Any] = {
            "a": trade_id,
            "p": on_grid_text(float(trades.price[k]), tick),
            "q": on_grid_text(float(trades.amount[k]), lot),
            "f": trade_id,
            "l": trade_id,
            "T": int(times[i]),
            "m": bool(trades.buyer_maker[k]),
        }
        if api is Api.SPOT:
            row["M"] = True
        out.append(row)
    return _json(out, {OFFSET_HEADER: str(timeline.offset_at(now))})


def on_grid_text(value: float, grid: Decimal) -> str:
    """Return a recorded float as the decimal string of the nearest multiple of ``grid``."""
    return fmt_dec((Decimal(repr(value)) / grid).to_integral_value() * grid)


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
    now = sim.clock()
    events: list[tuple[int, str, float, float | None]] = []
    for market in markets:
        table = market.funding
        timeline = sim.timeline(market)
        if table is None or timeline is None:
            continue
        times, rows, _ = timeline.served(table.time_ms, now)
        page = select_window(times, start, end, limit)
        for i in range(page.start, page.stop):
            k = int(rows[i])
            recorded = int(table.time_ms[k])
            events.append(
                (int(times[i]), market.listing.symbol, float(table.rate[k]),
                 market.mark_price_at(recorded))
            )  # fmt: skip
    events.sort(key=lambda e: (e[0], e[1]))
    keys = np.array([e[0] for e in events], dtype=np.int64)
    out = []
    for time_ms, symbol, rate, mark in events[select_window(keys, start, end, limit)]:
        out.append(
            {
                "symbol": symbol,
                "fundingTime": time_ms,
                "fundingRate": fmt(rate),
                # Binance sends "" for events without a recorded mark price.
                "markPrice": "" if mark is None else fmt(mark),
            }
        )
    headers = None
    if one_symbol:
        timeline = sim.timeline(markets[0])
        if timeline is not None:
            headers = {OFFSET_HEADER: str(timeline.offset_at(now))}
    return _json(out, headers)


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
