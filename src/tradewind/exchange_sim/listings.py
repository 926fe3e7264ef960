"""The symbols a simulated Binance lists, with their trading filters, rendered as ``exchangeInfo``.

A :class:`Listing` states a market the way Binance's ``exchangeInfo`` does: tick size, lot step,
quantity bounds and minimum notional. ccxt builds its market dict (precision, limits) from these
filters, so they must be realistic: each recorded price must sit on the tick grid.

Two APIs are simulated: spot (``/api/v3``) and USDT-margined perpetual futures (``/fapi/v1``).
Field names and filter shapes follow Binance's documented responses; fields ccxt does not read are
kept where a bot might (order types, permissions) and left out where they would be invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tradewind.core.brackets import BINANCE_USDT_M_BRACKETS, MarginBrackets


class Api(StrEnum):
    """Which Binance API serves a listing."""

    SPOT = "spot"
    USDM = "usdm"
    """USDT-margined futures (``fapi``); only perpetual contracts are simulated."""


# Binance spot's order types and self-trade-prevention modes, as its exchangeInfo lists them.
_SPOT_ORDER_TYPES = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
]
_USDM_ORDER_TYPES = [
    "LIMIT",
    "MARKET",
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
]
_STP_MODES = ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "NONE"]
# A perpetual's deliveryDate on Binance: 2100-12-25 08:00 UTC.
_PERPETUAL_DELIVERY_MS = 4133404800000


@dataclass(frozen=True, kw_only=True)
class Listing:
    """One market of the simulated exchange.

    Parameters
    ----------
    symbol
        Binance's id, e.g. ``"ETHBTC"`` or ``"XRPUSDT"``.
    base, quote
        Asset codes; for USDT-M perpetuals the quote is also the margin asset.
    api
        Spot or USDT-M futures.
    tick_size, step_size
        Price and quantity steps (``PRICE_FILTER.tickSize``, ``LOT_SIZE.stepSize``).
    min_qty, max_qty
        Quantity bounds (``LOT_SIZE``).
    min_notional
        Smallest order value in the quote asset (spot ``NOTIONAL``, futures ``MIN_NOTIONAL``).
    min_price, max_price
        Price bounds (``PRICE_FILTER``).
    onboard_ms
        Futures listing time (``onboardDate``), in ms.
    brackets
        USDT-M maintenance-margin brackets (``leverageBracket``): the same tables the
        instruments carry; the simulator reads them with its own code (:mod:`.futures`).
    """

    symbol: str
    base: str
    quote: str
    api: Api = Api.SPOT
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal | None = None
    max_qty: Decimal = Decimal("9000000")
    min_notional: Decimal = Decimal("5")
    min_price: Decimal | None = None
    max_price: Decimal = Decimal("1000000")
    onboard_ms: int = 1569398400000
    brackets: MarginBrackets = BINANCE_USDT_M_BRACKETS

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.step_size <= 0:
            raise ValueError(f"{self.symbol}: tick and step sizes must be positive")
        if self.symbol != self.symbol.upper() or not self.symbol.isalnum():
            raise ValueError(f"{self.symbol!r}: a Binance symbol is upper-case letters and digits")

    @property
    def price_decimals(self) -> int:
        """Decimal places of the tick size (``pricePrecision`` on futures)."""
        return _decimals(self.tick_size)

    @property
    def quantity_decimals(self) -> int:
        """Decimal places of the lot step (``quantityPrecision`` on futures)."""
        return _decimals(self.step_size)

    def spot_json(self) -> dict[str, Any]:
        """Render the ``symbols[]`` entry of spot ``exchangeInfo``."""
        return {
            "symbol": self.symbol,
            "status": "TRADING",
            "baseAsset": self.base,
            "baseAssetPrecision": 8,
            "quoteAsset": self.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": _SPOT_ORDER_TYPES,
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": _s(self.min_price or self.tick_size),
                    "maxPrice": _s(self.max_price),
                    "tickSize": _s(self.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": _s(self.min_qty or self.step_size),
                    "maxQty": _s(self.max_qty),
                    "stepSize": _s(self.step_size),
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": "0",
                    "maxQty": _s(self.max_qty),
                    "stepSize": "0",
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": _s(self.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": "9000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": _STP_MODES,
        }

    def usdm_json(self) -> dict[str, Any]:
        """Render the ``symbols[]`` entry of USDT-M ``/fapi/v1/exchangeInfo`` (a perpetual)."""
        return {
            "symbol": self.symbol,
            "pair": self.symbol,
            "contractType": "PERPETUAL",
            "deliveryDate": _PERPETUAL_DELIVERY_MS,
            "onboardDate": self.onboard_ms,
            "status": "TRADING",
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": self.base,
            "quoteAsset": self.quote,
            "marginAsset": self.quote,
            "pricePrecision": self.price_decimals,
            "quantityPrecision": self.quantity_decimals,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "underlyingSubType": [],
            "triggerProtect": "0.0500",
            "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": _s(self.min_price or self.tick_size),
                    "maxPrice": _s(self.max_price),
                    "tickSize": _s(self.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": _s(self.min_qty or self.step_size),
                    "maxQty": _s(self.max_qty),
                    "stepSize": _s(self.step_size),
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": _s(self.min_qty or self.step_size),
                    "maxQty": _s(self.max_qty),
                    "stepSize": _s(self.step_size),
                },
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": _s(self.min_notional)},
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": "1.0500",
                    "multiplierDown": "0.9500",
                    "multiplierDecimal": "4",
                },
            ],
            "orderTypes": _USDM_ORDER_TYPES,
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        }


def _rate_limit(kind: str, interval: str, num: int, limit: int) -> dict[str, Any]:
    return {"rateLimitType": kind, "interval": interval, "intervalNum": num, "limit": limit}


def spot_exchange_info(listings: list[Listing], server_time_ms: int) -> dict[str, Any]:
    """Render spot ``GET /api/v3/exchangeInfo`` for ``listings``."""
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": [
            _rate_limit("REQUEST_WEIGHT", "MINUTE", 1, 6000),
            _rate_limit("ORDERS", "SECOND", 10, 100),
            _rate_limit("ORDERS", "DAY", 1, 200000),
            _rate_limit("RAW_REQUESTS", "MINUTE", 5, 61000),
        ],
        "exchangeFilters": [],
        "symbols": [listing.spot_json() for listing in listings],
    }


def usdm_exchange_info(listings: list[Listing], server_time_ms: int) -> dict[str, Any]:
    """Render USDT-M ``GET /fapi/v1/exchangeInfo`` for ``listings``."""
    margin_assets = sorted({listing.quote for listing in listings})
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            _rate_limit("REQUEST_WEIGHT", "MINUTE", 1, 2400),
            _rate_limit("ORDERS", "MINUTE", 1, 1200),
            _rate_limit("ORDERS", "SECOND", 10, 300),
        ],
        "exchangeFilters": [],
        "assets": [
            {"asset": asset, "marginAvailable": True, "autoAssetExchange": "-10000"}
            for asset in margin_assets
        ],
        "symbols": [listing.usdm_json() for listing in listings],
    }


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _s(value: Decimal) -> str:
    # Binance prints filters with fixed decimals ("0.01000000"); ccxt reads them as numbers, so
    # the plain form is equivalent and avoids inventing a width.
    return format(value.normalize(), "f")
