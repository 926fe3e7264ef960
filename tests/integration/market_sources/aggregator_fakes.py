"""Loopback fakes of the CoinGecko (v3 demo) and CryptoCompare (data) REST APIs, answering the
endpoints our aggregator adapter uses as those APIs do, with their error shapes.

Prices are the bundled real BTC perpetual month's last close; the global figures (BTC dominance,
total market cap) are drawn once from a fixed seed."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from aiohttp import web

import tradewind

DEMO_KEY = "CG-loopback-demo-key"
_BUNDLED = Path(tradewind.__file__).parent / "bundled" / "btc-perp-20211231-20220201_1m.parquet"


def btc_close() -> float:
    """The bundled month's last BTC close (USD)."""
    return float(pd.read_parquet(_BUNDLED, columns=["close"])["close"].iloc[-1])


def global_figures(seed: int = 7) -> dict[str, Any]:
    """CoinGecko's ``/global`` ``data`` object, drawn from ``seed``."""
    draw = random.Random(seed)
    btc = round(draw.uniform(40, 60), 4)
    eth = round(draw.uniform(10, 20), 4)
    cap = round(draw.uniform(1.5e12, 2.5e12), 2)
    return {
        "active_cryptocurrencies": 17_000, "upcoming_icos": 0, "ongoing_icos": 49,
        "ended_icos": 3376, "markets": 1300,
        "total_market_cap": {"usd": cap, "btc": cap / btc_close()},
        "total_volume": {"usd": round(cap * 0.04, 2)},
        "market_cap_percentage": {"btc": btc, "eth": eth},
        "market_cap_change_percentage_24h_usd": round(draw.uniform(-3, 3), 6),
        "volume_change_percentage_24h_usd": round(draw.uniform(-10, 10), 6),
        "updated_at": 1_643_693_460,
    }  # fmt: skip


def coingecko_app(
    prices: Callable[[], dict[str, dict[str, float]]] | None = None,
) -> web.Application:
    """CoinGecko's demo API under ``/api/v3`` (the demo key in ``x-cg-demo-api-key``);
    ``prices`` gives the prices by coin id and currency at each request (the bundled BTC close
    by default)."""
    fixed = {"bitcoin": {"usd": btc_close()}}
    quote = prices or (lambda: fixed)

    def keyed(handler: Any) -> Any:
        async def checked(request: web.Request) -> web.Response:
            if request.headers.get("x-cg-demo-api-key") != DEMO_KEY:
                return web.json_response(
                    {"status": {"error_code": 10002, "error_message": "API Key Missing"}},
                    status=401,
                )
            return await handler(request)

        return checked

    async def simple_price(request: web.Request) -> web.Response:
        vs = request.query.get("vs_currencies")
        if not vs:
            return web.json_response({"error": "Missing parameter vs_currencies"}, status=400)
        out: dict[str, dict[str, float]] = {}
        now = quote()
        for coin in request.query.get("ids", "").split(","):
            known = now.get(coin)
            if known is not None:  # an unknown id is left out, as CoinGecko does
                out[coin] = {c: known[c] for c in vs.split(",") if c in known}
        return web.json_response(out)

    async def global_(request: web.Request) -> web.Response:
        return web.json_response({"data": global_figures()})

    app = web.Application()
    app.router.add_get("/api/v3/simple/price", keyed(simple_price))
    app.router.add_get("/api/v3/global", keyed(global_))
    return app


def cryptocompare_app() -> web.Application:
    """CryptoCompare's ``/data/pricemulti`` (refusals are HTTP 200 with ``Response: Error``)."""

    async def pricemulti(request: web.Request) -> web.Response:
        fsyms, tsyms = request.query.get("fsyms"), request.query.get("tsyms")
        if not fsyms or not tsyms:
            empty = "fsyms" if not fsyms else "tsyms"
            return web.json_response({"Response": "Error", "Message": f"{empty} param is empty "
                                      "or null.", "HasWarning": False, "Type": 2,
                                      "RateLimit": {}, "Data": {}})  # fmt: skip
        prices = {"BTC": {"USD": btc_close()}}
        out = {f: {t: prices[f][t] for t in tsyms.split(",") if t in prices.get(f, {})}
               for f in fsyms.split(",") if f in prices}  # fmt: skip
        if not out:
            return web.json_response({"Response": "Error", "Message": "cccagg_or_exchange market "
                                      f"does not exist for this coin pair ({fsyms}-{tsyms})",
                                      "HasWarning": False, "Type": 2, "RateLimit": {},
                                      "Data": {}})  # fmt: skip
        return web.json_response(out)

    app = web.Application()
    app.router.add_get("/data/pricemulti", pricemulti)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on a free loopback port; return its runner and base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"
