"""Plumbing of Bybit's v5 REST: the answer envelope, signed-request checks and categories.

Every answer is ``{"retCode", "retMsg", "result", "retExtInfo", "time"}`` with HTTP 200.

Signed requests carry ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP`` (ms), ``X-BAPI-RECV-WINDOW`` (ms,
5000 when absent) and ``X-BAPI-SIGN``: the hex HMAC-SHA256, keyed with the secret, of
``timestamp + api_key + recv_window + payload``, where the payload is the raw query string of a
GET and the raw JSON body of a POST. A request is refused (``10002``) unless
``server_time - recv_window <= timestamp < server_time + 1000``, Bybit's rule. The check uses the
machine's clock, as the Binance side does: a sped-up replay clock must not expire signatures.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from tradewind.exchange_sim.accounts import ApiKey
from tradewind.exchange_sim.bybit import errors
from tradewind.exchange_sim.bybit.errors import BybitError, from_binance
from tradewind.exchange_sim.clock import wall_ms
from tradewind.exchange_sim.engine import LiveMarket
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.exchange import SimExchange
from tradewind.exchange_sim.listings import Api
from tradewind.exchange_sim.market_data import SIM_KEY

Params = dict[str, Any]
PublicHandler = Callable[[web.Request, SimExchange, Params], Awaitable[Any]]
SignedHandler = Callable[[web.Request, SimExchange, ApiKey, Params], Awaitable[Any]]

DEFAULT_RECV_WINDOW_MS = 5000
_AHEAD_MS = 1000
CATEGORIES = {"spot": Api.SPOT, "linear": Api.USDM}
"""Bybit's categories the simulator serves: spot and USDT linear perpetuals."""


def envelope(result: Any, code: int = 0, message: str = "OK") -> web.Response:
    """Return Bybit's answer envelope around ``result`` (HTTP 200, as Bybit answers)."""
    body = {
        "retCode": code,
        "retMsg": message,
        "result": result if result is not None else {},
        "retExtInfo": {},
        "time": wall_ms(),
    }
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def refusal(exc: BybitError) -> web.Response:
    """Return the envelope of a refused request."""
    return envelope({}, exc.code, exc.message)


def category(params: Params) -> Api:
    """Return the API of the ``category`` parameter (``10001`` when missing or not served)."""
    name = params.get("category", "")
    if name not in CATEGORIES:
        raise BybitError(errors.CATEGORY)
    return CATEGORIES[name]


def live_market(sim: SimExchange, params: Params, api: Api) -> LiveMarket:
    """Return the live market named by ``symbol`` on ``api`` (``10001`` when unknown)."""
    symbol = str(params.get("symbol", ""))
    market = sim.live(api, symbol) if symbol else None
    if market is None:
        raise BybitError(errors.SYMBOL)
    return market


def public(handler: PublicHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a public handler: its result goes in the envelope, refusals become ``retCode``."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return envelope(await handler(request, request.app[SIM_KEY], dict(request.query)))
        except BybitError as exc:
            return refusal(exc)
        except BinanceError as exc:
            return refusal(from_binance(exc, spot=request.query.get("category") == "spot"))

    return wrapped


def verify(sim: SimExchange, headers: Any, payload: str) -> ApiKey:
    """Check a signed request's headers; return its key.

    Raises
    ------
    BybitError
        ``10003`` unknown key, ``10002`` timestamp outside the recv window, ``10004`` bad sign.
    """
    api_key = headers.get("X-BAPI-API-KEY", "")
    key = sim.keys.get(api_key) if api_key else None
    if key is None:
        raise BybitError(errors.BAD_KEY)
    stamp_text = headers.get("X-BAPI-TIMESTAMP", "")
    window_text = headers.get("X-BAPI-RECV-WINDOW", "") or str(DEFAULT_RECV_WINDOW_MS)
    now = wall_ms()
    try:
        stamp, window = int(stamp_text), int(window_text)
    except ValueError:
        raise BybitError(errors.TIMESTAMP, req=stamp_text, server=now, window=window_text) from None
    if not now - window <= stamp < now + _AHEAD_MS:
        raise BybitError(errors.TIMESTAMP, req=stamp, server=now, window=window)
    origin = f"{stamp_text}{api_key}{window_text}{payload}"
    expected = hmac.new(key.secret.encode(), origin.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers.get("X-BAPI-SIGN", "").lower()):
        # Bybit echoes the signed text; it holds the key id, never the secret.
        raise BybitError(errors.BAD_SIGN, origin=origin)
    return key


def signed(handler: SignedHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a private handler with Bybit's signature checks and answers."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        sim = request.app[SIM_KEY]
        spot = False
        try:
            if request.method == "GET":
                payload = request.rel_url.raw_query_string
                params: Params = dict(request.query)
            else:
                payload = await request.text()
                try:
                    params = orjson.loads(payload) if payload else {}
                except orjson.JSONDecodeError:
                    raise BybitError(errors.PARAMS, detail="request body is not JSON") from None
                if not isinstance(params, dict):
                    raise BybitError(errors.PARAMS, detail="request body is not a JSON object")
            spot = params.get("category") == "spot"
            key = verify(sim, request.headers, payload)
            return envelope(await handler(request, sim, key, params))
        except BybitError as exc:
            return refusal(exc)
        except BinanceError as exc:
            return refusal(from_binance(exc, spot=spot))

    return wrapped


def text(params: Params, name: str) -> str:
    """Return a parameter as text ('' when absent): JSON bodies may carry numbers."""
    value = params.get(name)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
