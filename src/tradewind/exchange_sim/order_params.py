"""Parse and check new-order parameters as Binance does, for REST and the WebSocket API alike.

A :class:`OrderRequest` is what a valid ``POST /api/v3/order`` (or ``/fapi/v1/order``,
``order.place``) asks for. :func:`parse_order` raises :class:`~.errors.BinanceError` with
Binance's code and exact message for every refusal, so ccxt raises the class it raises against
the real exchange:

- a missing parameter ``-1102``; an unknown type ``-1116``, side ``-1117``, time in force
  ``-1115``; a parameter the type does not take ``-1106``;
- filters (spot ``-1013`` "Filter failure: PRICE_FILTER" / "LOT_SIZE" / "NOTIONAL"; futures
  ``-1111`` precision, ``-4164`` notional, ``-4003`` zero quantity): price on the tick grid within
  bounds, quantity on the step grid within bounds, notional at least the minimum (market orders
  use the best opposite price).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.listings import Listing

SPOT_TYPES = frozenset(
    {
        "LIMIT",
        "MARKET",
        "LIMIT_MAKER",
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
    }
)
FUTURES_TYPES = frozenset(
    {"LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"}
)
_NEEDS_PRICE_SPOT = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
# USDT-M's STOP and TAKE_PROFIT are limit orders (spot's TAKE_PROFIT is a market order).
_NEEDS_PRICE_FUTURES = frozenset({"LIMIT", "STOP", "TAKE_PROFIT"})
_NEEDS_STOP = frozenset(
    {
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
        "STOP",
        "STOP_MARKET",
        "TAKE_PROFIT_MARKET",
    }
)
_NEEDS_TIF_SPOT = frozenset({"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
_SPOT_TIFS = frozenset({"GTC", "IOC", "FOK"})
_FUTURES_TIFS = frozenset({"GTC", "IOC", "FOK", "GTX"})
_DECIMAL_LEGAL = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"


@dataclass(frozen=True)
class OrderRequest:
    """A checked new-order request (quantities and prices on the listing's grids)."""

    symbol: str
    side: str
    type: str
    tif: str
    qty: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    quote_qty: Decimal
    client_id: str | None
    reduce_only: bool
    close_position: bool
    working_type: str
    resp_type: str
    algo: bool = False
    """Placed through ``POST /fapi/v1/algoOrder`` (a conditional order with an ``algoId``)."""


def decimal_param(params: Mapping[str, str], name: str) -> Decimal | None:
    """Return a decimal parameter, None when absent; ``-1100`` when malformed."""
    text = params.get(name)
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BinanceError(errors.BAD_DECIMAL, name=name, legal=_DECIMAL_LEGAL) from None
    if not value.is_finite() or value < 0:
        raise BinanceError(errors.BAD_DECIMAL, name=name, legal=_DECIMAL_LEGAL)
    return value


def parse_order(
    params: Mapping[str, str],
    listing: Listing,
    *,
    futures: bool,
    best_opposite: Decimal | None,
) -> OrderRequest:
    """Check a new order's parameters against Binance's rules and the listing's filters.

    Parameters
    ----------
    params
        The request parameters, decoded.
    listing
        The market's listing (filters).
    futures
        USDT-M rules instead of spot's.
    best_opposite
        Best price on the side a market order would take (its notional check), if any.

    Raises
    ------
    BinanceError
        For the first rule broken.
    """
    side = params.get("side", "")
    if not side:
        raise BinanceError(errors.MANDATORY_PARAM, name="side")
    if side not in ("BUY", "SELL"):
        raise BinanceError(errors.BAD_SIDE)
    kind = params.get("type", "")
    if not kind:
        raise BinanceError(errors.MANDATORY_PARAM, name="type")
    if kind not in (FUTURES_TYPES if futures else SPOT_TYPES):
        raise BinanceError(errors.BAD_ORDER_TYPE)
    tif = params.get("timeInForce", "")
    needs_price = _NEEDS_PRICE_FUTURES if futures else _NEEDS_PRICE_SPOT
    needs_tif = _NEEDS_PRICE_FUTURES if futures else _NEEDS_TIF_SPOT
    if kind in needs_tif:
        if not tif:
            if futures:
                tif = "GTC"
            else:
                raise BinanceError(errors.MANDATORY_PARAM, name="timeInForce")
        if tif not in (_FUTURES_TIFS if futures else _SPOT_TIFS):
            raise BinanceError(errors.BAD_TIF)
    elif tif and not futures and kind != "LIMIT_MAKER":
        raise BinanceError(errors.NOT_REQUIRED, name="timeInForce")
    else:
        tif = "GTC"
    price = decimal_param(params, "price")
    if kind in needs_price and price is None:
        raise BinanceError(errors.MANDATORY_PARAM, name="price")
    if kind not in needs_price:
        price = None
    stop = decimal_param(params, "stopPrice")
    if kind in _NEEDS_STOP and stop is None:
        raise BinanceError(errors.MANDATORY_PARAM, name="stopPrice")
    close_position = params.get("closePosition", "false").lower() == "true"
    qty = decimal_param(params, "quantity")
    quote_qty = decimal_param(params, "quoteOrderQty")
    by_cost = kind == "MARKET" and quote_qty is not None and not futures
    if qty is None and not by_cost and not (futures and close_position):
        raise BinanceError(errors.MANDATORY_PARAM, name="quantity")
    for value in (price, stop):
        if value is not None:
            _check_price(value, listing, futures)
    if qty is not None:
        _check_qty(qty, listing, futures)
    reference = price if price is not None else stop if stop is not None else best_opposite
    reduce_only = params.get("reduceOnly", "false").lower() == "true"
    too_small = qty is not None and reference is not None and qty * reference < listing.min_notional
    if too_small and not reduce_only:
        if futures:
            raise BinanceError(errors.FUTURES_NOTIONAL, min=str(listing.min_notional))
        raise BinanceError(errors.FILTER, name="NOTIONAL")
    if quote_qty is not None and quote_qty < listing.min_notional:
        raise BinanceError(errors.FILTER, name="NOTIONAL")
    return OrderRequest(
        symbol=listing.symbol,
        side=side,
        type=kind,
        tif=tif,
        qty=qty if qty is not None else Decimal(0),
        price=price,
        stop_price=stop,
        quote_qty=quote_qty if quote_qty is not None and qty is None else Decimal(0),
        client_id=params.get("newClientOrderId") or None,
        reduce_only=reduce_only,
        close_position=close_position,
        working_type=params.get("workingType", "CONTRACT_PRICE"),
        resp_type=params.get("newOrderRespType", "ACK" if futures else "FULL"),
    )


def _check_price(value: Decimal, listing: Listing, futures: bool) -> None:
    low = listing.min_price or listing.tick_size
    if value % listing.tick_size != 0:
        if futures:
            raise BinanceError(errors.FUTURES_PRECISION)
        raise BinanceError(errors.FILTER, name="PRICE_FILTER")
    if value < low or value > listing.max_price:
        raise BinanceError(errors.FILTER, name="PRICE_FILTER")


def _check_qty(value: Decimal, listing: Listing, futures: bool) -> None:
    if value <= 0 and futures:
        raise BinanceError(errors.FUTURES_QTY)
    low = listing.min_qty or listing.step_size
    if value % listing.step_size != 0:
        if futures:
            raise BinanceError(errors.FUTURES_PRECISION)
        raise BinanceError(errors.FILTER, name="LOT_SIZE")
    if value < low or value > listing.max_qty:
        raise BinanceError(errors.FILTER, name="LOT_SIZE")
