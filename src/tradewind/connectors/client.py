"""Build ccxt clients from :class:`~tradewind.connectors.config.ExchangeConfig`.

Two factories: :func:`create_client` (synchronous ``ccxt.<name>``, used for history downloads)
and :func:`create_async_client` (``ccxt.pro.<name>`` for REST and WebSocket streams in asyncio,
or ``ccxt.async_support`` without streams).

When ``rest_url`` is set (the loopback exchange simulator in tests and demos) the client is
pointed at it this way:

- ``urls['api']`` is **replaced** as a whole after construction (P2: a constructor ``urls`` is
  deep-merged and would leave other groups on the real hosts). ``sapi`` (account endpoints such as
  ``apiRestrictions``) goes to the override too. Groups the simulator does not serve (``dapi``...)
  are absent, so ccxt refuses them with ``NotSupported`` before any
  I/O: the setup fails closed and nothing can reach a real exchange.
- ``fetchMarkets.types`` is limited to the market types asked for, ``fetchCurrencies`` and
  ``fetchMargins`` are off (P4: they call ``sapi`` endpoints).
- ``get_exceptions_by_url`` is patched so the loopback URLs get Binance's spot/linear error tables,
  as the real hosts do (P3; without it ``-1008`` and ``-1004`` change exception class).
- WebSocket URLs follow P1: the spot URL contains ``/stream``, the linear one ends in ``/ws``.

Bybit (v5) is pointed the same way: ``urls['api']`` replaced as a whole by :func:`bybit_urls`
(fail closed), ``fetchMarkets.types`` limited, ``fetchCurrencies`` off. Another exchange with
``rest_url`` is refused with a clear message. Credentials are handed to ccxt and never logged or put in a message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import ccxt
import ccxt.async_support
import ccxt.pro

from tradewind.connectors.config import ExchangeConfig
from tradewind.core.errors import UserError

_log = logging.getLogger(__name__)

DEFAULT_MARKET_TYPES: tuple[str, ...] = ("spot", "linear")
"""Market types loaded by default: spot and USDT-margined (linear) contracts."""

_OVERRIDABLE = frozenset({"binance", "bybit"})


def create_client(
    cfg: ExchangeConfig, *, market_types: Sequence[str] = DEFAULT_MARKET_TYPES
) -> ccxt.Exchange:
    """Return a synchronous ccxt client for ``cfg`` (no request is made).

    Parameters
    ----------
    cfg
        Exchange name, credentials, URL overrides, timeout and rate limiting.
    market_types
        Binance market types ``load_markets`` fetches (``spot``, ``linear``, ``inverse``).

    Raises
    ------
    UserError
        For an exchange ccxt does not know, or a URL override for an exchange without a recipe.
    """
    return _build(_exchange_class(ccxt, cfg.name), cfg, market_types, with_ws=False)


def create_async_client(
    cfg: ExchangeConfig,
    *,
    market_types: Sequence[str] = DEFAULT_MARKET_TYPES,
    streams: bool = True,
) -> Any:
    """Return an asyncio ccxt client: ``ccxt.pro`` (REST and streams) or ``ccxt.async_support``.

    The caller must ``await client.close()`` when done. Same parameters and errors as
    :func:`create_client`; ``streams=False`` gives the REST-only async client.
    """
    module = ccxt.pro if streams else ccxt.async_support
    return _build(_exchange_class(module, cfg.name), cfg, market_types, with_ws=streams)


def _exchange_class(module: Any, name: str) -> Callable[[dict[str, Any]], Any]:
    exchanges: list[str] = list(getattr(module, "exchanges", []))
    if name not in exchanges:
        close = [e for e in exchanges if e.startswith(name[:3])][:5]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UserError(f"unknown exchange {name!r}: ccxt has no such exchange{hint}")
    return getattr(module, name)  # type: ignore[no-any-return]


def _build(
    factory: Callable[[dict[str, Any]], Any],
    cfg: ExchangeConfig,
    market_types: Sequence[str],
    *,
    with_ws: bool,
) -> Any:
    options: dict[str, Any] = {}
    if cfg.name in _OVERRIDABLE:
        options["fetchMarkets"] = {"types": list(market_types)}
    if cfg.rest_url is not None:
        if cfg.name not in _OVERRIDABLE:
            raise UserError(
                f"exchange.rest_url is supported for {', '.join(sorted(_OVERRIDABLE))} only, "
                f"not {cfg.name!r}"
            )
        options["fetchCurrencies"] = False
        options["fetchMargins"] = False
    settings: dict[str, Any] = {
        "enableRateLimit": cfg.rate_limit,
        "timeout": cfg.timeout_ms,
        "options": options,
    }
    credentials = (("apiKey", cfg.api_key), ("secret", cfg.secret), ("password", cfg.password))
    for key, secret in credentials:
        if secret is not None:
            settings[key] = secret.get_secret_value()
    client = factory(settings)
    if cfg.rest_url is not None and cfg.name == "bybit":
        client.urls["api"] = bybit_urls(cfg.rest_url, cfg.ws_url)
        _log.debug("bybit client pointed at %s", cfg.rest_url)
    elif cfg.rest_url is not None:
        _point_binance_at(client, cfg.rest_url, cfg.ws_url, with_ws=with_ws)
        _log.debug("binance client pointed at %s", cfg.rest_url)
    return client


def secrets_of(cfg: ExchangeConfig) -> list[str]:
    """Return the credential strings of ``cfg``, for redaction from messages and logs."""
    return [s.get_secret_value() for s in (cfg.api_key, cfg.secret, cfg.password) if s is not None]


def binance_urls(rest_url: str, ws_url: str | None = None) -> dict[str, Any]:
    """Return the complete ``urls['api']`` dict that sends every served group to ``rest_url``.

    ``ws_url`` defaults to ``rest_url`` with ``http`` replaced by ``ws``.
    """
    rest = rest_url.rstrip("/")
    ws = (ws_url or ("ws" + rest[4:] if rest.startswith("http") else rest)).rstrip("/")
    return {
        "public": f"{rest}/api/v3",
        "private": f"{rest}/api/v3",
        "v1": f"{rest}/api/v1",
        "fapiPublic": f"{rest}/fapi/v1",
        "fapiPublicV2": f"{rest}/fapi/v2",
        "fapiPublicV3": f"{rest}/fapi/v3",
        "fapiPrivate": f"{rest}/fapi/v1",
        "fapiPrivateV2": f"{rest}/fapi/v2",
        "fapiPrivateV3": f"{rest}/fapi/v3",
        "fapiData": f"{rest}/futures/data",
        # Account endpoints (``apiRestrictions``: what a key may do, checked before live trading).
        "sapi": f"{rest}/sapi/v1",
        "ws": {
            # P1: ccxt tells spot from swap by '/stream' in the connection URL.
            "spot": f"{ws}/stream/ws",
            "margin": f"{ws}/stream/ws",
            "linear": f"{ws}/ws",
            "ws-api": {"spot": f"{ws}/ws-api/v3", "linear": f"{ws}/ws-fapi/v1"},
        },
    }


def bybit_urls(rest_url: str, ws_url: str | None = None) -> dict[str, Any]:
    """Return the complete ``urls['api']`` dict that sends ccxt's Bybit v5 groups to ``rest_url``.

    ccxt appends ``/v5/...`` to every REST group; the WebSocket groups are Bybit's own paths
    (ccxt tells spot from linear by ``spot`` in the public URL, which these keep). Replacing the
    whole dict fails closed: a group missing here raises before any request leaves the machine.
    """
    rest = rest_url.rstrip("/")
    ws = (ws_url or ("ws" + rest[4:] if rest.startswith("http") else rest)).rstrip("/")
    private = f"{ws}/v5/private"
    return {
        "spot": rest,
        "futures": rest,
        "v2": rest,
        "public": rest,
        "private": rest,
        "ws": {
            "public": {"spot": f"{ws}/v5/public/spot", "linear": f"{ws}/v5/public/linear"},
            "private": {
                "spot": {"unified": private, "nonUnified": private},
                "contract": private,
                "usdc": private,
                "trade": f"{ws}/v5/trade",
            },
        },
    }


def _point_binance_at(client: Any, rest_url: str, ws_url: str | None, *, with_ws: bool) -> None:
    urls = binance_urls(rest_url, ws_url)
    if not with_ws:
        del urls["ws"]
    client.urls["api"] = urls
    rest = rest_url.rstrip("/")
    spot_prefix, linear_prefix = (f"{rest}/api/", f"{rest}/sapi/"), f"{rest}/fapi/"
    original = client.get_exceptions_by_url

    def exceptions_by_url(url: str | None, exact_or_broad: str) -> dict[str, Any]:
        # P3: ccxt picks Binance's per-market error tables by hostname; map ours the same way.
        if url is not None and url.startswith((*spot_prefix, linear_prefix)):
            market_type = "linear" if url.startswith(linear_prefix) else "spot"
            tables = client.safe_dict(client.exceptions, market_type, {})
            found: dict[str, Any] = client.safe_dict(tables, exact_or_broad, {})
            return found
        found = original(url, exact_or_broad)
        return found

    client.get_exceptions_by_url = exceptions_by_url
