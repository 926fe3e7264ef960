"""One reading of ccxt market dicts into instruments (``instrument_from_ccxt``), on dicts made by the
real ccxt client from Binance's exchangeInfo, for history downloads and sessions alike."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import ccxt
import pytest

from tradewind.connectors.instruments import (
    PrecisionMode,
    instrument_from_ccxt,
    instruments_from_markets,
)
from tradewind.core.errors import UserError
from tradewind.core.instrument import FeeSide, Instrument, MarketType
from tradewind.core.records import Side

# Entries of Binance's /api/v3/exchangeInfo and /fapi/v1/exchangeInfo, in their documented shape.
SPOT_ETHBTC: dict[str, Any] = {
    "symbol": "ETHBTC",
    "status": "TRADING",
    "baseAsset": "ETH",
    "baseAssetPrecision": 8,
    "quoteAsset": "BTC",
    "quotePrecision": 8,
    "quoteAssetPrecision": 8,
    "orderTypes": ["LIMIT", "MARKET"],
    "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": True,
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.00001000",
            "maxPrice": "922327.00000000",
            "tickSize": "0.00001000",
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": "0.00010000",
            "maxQty": "100000.00000000",
            "stepSize": "0.00010000",
        },
        {"filterType": "NOTIONAL", "minNotional": "0.00010000", "maxNotional": "9000000.00000000"},
    ],
    "permissions": [],
    "permissionSets": [["SPOT", "MARGIN"]],
}
SWAP_XRPUSDT: dict[str, Any] = {
    "symbol": "XRPUSDT",
    "pair": "XRPUSDT",
    "contractType": "PERPETUAL",
    "deliveryDate": 4133404800000,
    "onboardDate": 1569398400000,
    "status": "TRADING",
    "baseAsset": "XRP",
    "quoteAsset": "USDT",
    "marginAsset": "USDT",
    "pricePrecision": 4,
    "quantityPrecision": 1,
    "baseAssetPrecision": 8,
    "quotePrecision": 8,
    "underlyingType": "COIN",
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.0143",
            "maxPrice": "100000",
            "tickSize": "0.0001",
        },
        {"filterType": "LOT_SIZE", "minQty": "0.1", "maxQty": "10000000", "stepSize": "0.1"},
        {"filterType": "MIN_NOTIONAL", "notional": "5"},
    ],
    "orderTypes": ["LIMIT", "MARKET"],
    "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
}


@pytest.fixture(scope="module")
def binance() -> Any:
    exchange = ccxt.binance()
    # parse_market consults margin-pair lists that load_markets would fetch; none are needed here.
    exchange.options["crossMarginPairsData"] = []
    exchange.options["isolatedMarginPairsData"] = []
    return exchange


def test_spot_market(binance: Any) -> None:
    market = binance.parse_market(SPOT_ETHBTC)
    inst = instrument_from_ccxt(market, exchange="binance")
    assert (inst.symbol, inst.base, inst.quote, inst.settle) == ("ETH/BTC", "ETH", "BTC", None)
    assert inst.market_type is MarketType.SPOT
    assert inst.exchange_id == "ETHBTC"
    assert inst.price_step == Decimal("0.00001")
    assert inst.amount_step == Decimal("0.0001")
    assert (inst.min_amount, inst.max_amount) == (Decimal("0.0001"), Decimal("100000.0"))
    assert inst.min_notional == Decimal("0.0001")
    assert (inst.maker_fee, inst.taker_fee) == (Decimal("0.001"), Decimal("0.001"))
    # Binance spot charges the fee in the currency received.
    assert inst.fee_side is FeeSide.GET
    assert inst.fee_currency(Side.BUY) == "ETH"
    assert inst.fee_currency(Side.SELL) == "BTC"
    assert inst.settle_currency == "BTC"


def test_linear_swap_market(binance: Any) -> None:
    market = binance.parse_market(SWAP_XRPUSDT)
    inst = instrument_from_ccxt(market, exchange="binanceusdm")
    assert inst.symbol == "XRP/USDT:USDT"
    assert inst.market_type is MarketType.SWAP
    assert inst.is_derivative
    assert inst.linear
    assert inst.contract_size == Decimal("1.0")
    assert (inst.maker_fee, inst.taker_fee) == (Decimal("0.0002"), Decimal("0.0005"))
    assert inst.fee_currency(Side.BUY) == "USDT"
    assert inst.min_notional == Decimal("5.0")
    assert inst.notional(Decimal("10"), Decimal("1.2")) == Decimal("12.00")


def test_rounding_and_order_checks(binance: Any) -> None:
    inst = instrument_from_ccxt(binance.parse_market(SWAP_XRPUSDT))
    assert inst.round_price(Decimal("1.23456")) == Decimal("1.2346")
    assert inst.round_price_passive(Decimal("1.23456"), Side.BUY) == Decimal("1.2345")
    assert inst.round_price_passive(Decimal("1.23451"), Side.SELL) == Decimal("1.2346")
    assert inst.round_amount(Decimal("12.39")) == Decimal("12.3")
    assert inst.check_order(Decimal("10"), Decimal("1.2345")) is None
    assert inst.check_order(Decimal("10.05"), Decimal("1.2")) == (
        "amount 10.05 is not a multiple of the lot step 0.1"
    )
    assert (
        inst.check_order(Decimal("1"), Decimal("1.2")) == "notional 1.20 is below the minimum 5.0"
    )
    assert (
        inst.check_order(Decimal("10"), Decimal("0.01")) == "price 0.01 is below the minimum 0.0143"
    )


def test_inverse_contract_notional_is_in_base() -> None:
    inst = Instrument(
        symbol="BTC/USD:BTC",
        base="BTC",
        quote="USD",
        settle="BTC",
        market_type=MarketType.SWAP,
        linear=False,
        contract_size=Decimal("100"),
        price_step=Decimal("0.1"),
        amount_step=Decimal("1"),
    )
    assert inst.inverse
    assert inst.settle_currency == "BTC"
    assert inst.notional(Decimal("5"), Decimal("50000")) == Decimal("0.01")


def test_zero_fees_are_kept(binance: Any) -> None:
    market = binance.parse_market(SPOT_ETHBTC)
    market["maker"] = 0.0
    market["taker"] = 0.0
    inst = instrument_from_ccxt(market)
    assert (inst.maker_fee, inst.taker_fee) == (Decimal("0.0"), Decimal("0.0"))


def test_decimal_places_precision_mode(binance: Any) -> None:
    market = binance.parse_market(SPOT_ETHBTC)
    market["precision"] = {"price": 5, "amount": 4}
    inst = instrument_from_ccxt(market, precision_mode=PrecisionMode.DECIMAL_PLACES)
    assert (inst.price_step, inst.amount_step) == (Decimal("0.00001"), Decimal("0.0001"))


def test_bad_market_dicts_are_user_errors(binance: Any) -> None:
    with pytest.raises(UserError, match="lacks 'symbol'"):
        instrument_from_ccxt({"base": "A", "quote": "B"})
    market = binance.parse_market(SPOT_ETHBTC)
    market["precision"] = {"amount": 0.1}
    with pytest.raises(UserError, match="has no price precision"):
        instrument_from_ccxt(market)
    with pytest.raises(UserError, match="steps must be positive"):
        Instrument(symbol="X/Y", base="X", quote="Y", price_step=Decimal(0), amount_step=Decimal(1))


def test_sessions_read_a_market_as_history_downloads_do(binance: Any) -> None:
    markets = {m["symbol"]: m for m in map(binance.parse_market, (SPOT_ETHBTC, SWAP_XRPUSDT))}
    client = SimpleNamespace(markets=markets)

    found = instruments_from_markets(client, list(markets))

    for symbol, market in markets.items():
        assert found[symbol] == instrument_from_ccxt(market, exchange="binance")
    # What the two readings once disagreed on: Binance spot charges the currency received, and
    # a zero maker fee is a fee level, not a missing one.
    assert found["ETH/BTC"].fee_side is FeeSide.GET
    assert found["ETH/BTC"].min_price == Decimal("0.00001")
    promoted = dict(markets["ETH/BTC"], maker=0.0)
    kept = instruments_from_markets(SimpleNamespace(markets={"ETH/BTC": promoted}), ["ETH/BTC"])
    assert kept["ETH/BTC"].maker_fee == 0


def test_sessions_refuse_markets_they_cannot_trade(binance: Any) -> None:
    inverse = dict(binance.parse_market(SWAP_XRPUSDT), linear=False, inverse=True)
    client = SimpleNamespace(markets={"XRP/USD:XRP": inverse})

    with pytest.raises(UserError, match="only spot and USDT-margined perpetual markets"):
        instruments_from_markets(client, ["XRP/USD:XRP"])
    with pytest.raises(UserError, match="binance has no market 'DOGE/BTC'"):
        instruments_from_markets(client, ["DOGE/BTC"])
