"""Price aggregators as market-data sources: the CoinGecko and CryptoCompare REST APIs through one
small adapter (no exchange, so no ccxt).

An aggregator answers a price per coin, averaged over many exchanges, and (CoinGecko) the market
as a whole: the share of the total market capitalisation that is Bitcoin's ("BTC dominance").
Each canonical symbol maps to the aggregator's own names in the config: ``"bitcoin/usd"`` (coin id
and vs currency) for CoinGecko, ``"BTC/USD"`` (from and to symbol) for CryptoCompare.

Endpoints (the public v3 and data APIs, as they answer):

A key (``api_key_env``: the environment variable that holds it) is sent as each API expects:

- CoinGecko ``GET {base}/simple/price?ids=bitcoin&vs_currencies=usd`` answers
  ``{"bitcoin": {"usd": 67187.34}}``; ``GET {base}/global`` answers
  ``{"data": {"market_cap_percentage": {"btc": 56.1, ...}, ...}}``. A key goes in the
  ``x-cg-demo-api-key`` header (``x-cg-pro-api-key`` with ``pro = true``).
- CryptoCompare ``GET {base}/data/pricemulti?fsyms=BTC&tsyms=USD`` answers
  ``{"BTC": {"USD": 67187.34}}``, or HTTP 200 with ``{"Response": "Error", "Message": ...}`` on a
  bad request; a key goes in ``Authorization: Apikey <key>``.

An aggregator's figures refresh about once a minute: they are context and a slow cross-check, not
a stream to trade bars from.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import aiohttp

from tradewind.connectors.source_config import AggregatorConfig
from tradewind.core.errors import UserError
from tradewind.core.money import to_decimal


class AggregatorError(Exception):
    """An aggregator refused or failed a request (the message says which and why)."""


class Aggregator:
    """An open aggregator client (``async with``, or :meth:`close` when done)."""

    def __init__(self, config: AggregatorConfig) -> None:
        self.config = config
        headers: dict[str, str] = {}
        if config.api_key_env is not None:
            key = os.environ.get(config.api_key_env, "")
            if not key:
                raise UserError(
                    f"aggregator {config.name!r}: the environment variable "
                    f"{config.api_key_env} (api_key_env) is not set"
                )
            if config.kind == "coingecko":
                headers["x-cg-pro-api-key" if config.pro else "x-cg-demo-api-key"] = key
            else:
                headers["Authorization"] = f"Apikey {key}"
        self._session = aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=config.timeout_s)
        )

    @property
    def name(self) -> str:
        """The aggregator's name in the config."""
        return self.config.name

    async def price(self, symbol: str) -> Decimal:
        """Return the aggregator's price of the canonical ``symbol``.

        Raises
        ------
        AggregatorError
            When the aggregator refuses, fails, or gives no price for the pair.
        """
        coin, currency = self.config.names(symbol)
        if self.config.kind == "coingecko":
            body = await self._get("/simple/price", {"ids": coin, "vs_currencies": currency})
        else:
            body = await self._get("/data/pricemulti", {"fsyms": coin, "tsyms": currency})
        value = body.get(coin, {}).get(currency) if isinstance(body, dict) else None
        if value is None:
            raise AggregatorError(f"{self.name}: no price of {coin} in {currency}")
        return to_decimal(value)

    async def btc_dominance(self) -> Decimal | None:
        """Return Bitcoin's share of the total market capitalisation in percent (CoinGecko's
        ``/global``); None for an aggregator that does not publish it.

        Raises
        ------
        AggregatorError
            When the aggregator refuses or fails.
        """
        if self.config.kind != "coingecko":
            return None
        body = await self._get("/global", {})
        share = body.get("data", {}).get("market_cap_percentage", {}).get("btc")
        if share is None:
            raise AggregatorError(f"{self.name}: /global gave no market_cap_percentage.btc")
        return to_decimal(share)

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.config.url}{path}"
        try:
            async with self._session.get(url, params=params) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise AggregatorError(f"{self.name}: {path} failed: {type(error).__name__}") from None
        if status != 200:
            raise AggregatorError(f"{self.name}: {path} answered HTTP {status}: {_reason(body)}")
        if isinstance(body, dict) and body.get("Response") == "Error":  # CryptoCompare's refusals
            raise AggregatorError(f"{self.name}: {path} refused: {body.get('Message', '')}")
        return body

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._session.close()

    async def __aenter__(self) -> Aggregator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _reason(body: Any) -> str:
    if isinstance(body, dict):
        status = body.get("status")
        if isinstance(status, dict):  # CoinGecko: {"status": {"error_code", "error_message"}}
            return str(status.get("error_message", status))
        return str(body.get("error") or body.get("Message") or body)[:200]
    return str(body)[:200]
