"""Instruments read from the exchange's own markets (steps, limits, fees), never hard-coded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from tradewind.core.errors import UserError
from tradewind.core.instrument import FeeSide, Instrument, MarketType


def instruments_from_markets(
    client: Any, symbols: Iterable[str], exchange: str = "binance"
) -> dict[str, Instrument]:
    """Return the :class:`Instrument` of each of ``symbols`` from a loaded ccxt client's markets.

    Raises
    ------
    UserError
        For a symbol the exchange does not list, or one that is not spot or a linear swap.
    """
    markets: Mapping[str, Any] = client.markets or {}
    found: dict[str, Instrument] = {}
    for symbol in symbols:
        market = markets.get(symbol)
        if market is None:
            raise UserError(f"{exchange} has no market {symbol!r}")
        found[symbol] = instrument_from_market(market, exchange)
    return found


def instrument_from_market(market: Mapping[str, Any], exchange: str = "binance") -> Instrument:
    """Return the :class:`Instrument` of one ccxt market (tick-size precision, as Binance)."""
    symbol = str(market["symbol"])
    if market.get("spot"):
        kind = MarketType.SPOT
    elif market.get("swap") and market.get("linear"):
        kind = MarketType.SWAP
    else:
        raise UserError(f"{symbol}: only spot and USDT-margined perpetual markets are traded live")
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    fee_side = str(market.get("feeSide") or "quote")
    return Instrument(
        symbol=symbol,
        base=str(market["base"]),
        quote=str(market["quote"]),
        settle=market.get("settle") if kind is not MarketType.SPOT else None,
        exchange=exchange,
        exchange_id=str(market["id"]),
        market_type=kind,
        contract_size=_dec(market.get("contractSize")) or Decimal(1),
        price_step=_step(precision.get("price"), symbol, "price"),
        amount_step=_step(precision.get("amount"), symbol, "amount"),
        min_amount=_dec((limits.get("amount") or {}).get("min")),
        max_amount=_dec((limits.get("amount") or {}).get("max")),
        min_notional=_dec((limits.get("cost") or {}).get("min")),
        maker_fee=_dec(market.get("maker")) or Decimal("0.001"),
        taker_fee=_dec(market.get("taker")) or Decimal("0.001"),
        fee_side=FeeSide(fee_side) if fee_side in FeeSide._value2member_map_ else FeeSide.QUOTE,
    )


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    # ccxt gives floats; their shortest repr is the exchange's decimal text (0.00001, 0.1).
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def _step(value: Any, symbol: str, what: str) -> Decimal:
    step = _dec(value)
    if step is None or step <= 0:
        raise UserError(f"{symbol}: the exchange states no {what} step")
    return step.normalize()
