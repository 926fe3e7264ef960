"""Bybit v5's error answers: ``retCode`` and ``retMsg`` as Bybit sends them (HTTP 200 for all).

Bybit answers a refused request with HTTP 200 and a non-zero ``retCode``; ccxt and pybit both map
the code (ccxt also by message text), so the codes and messages are copied from Bybit's v5 error
tables. The shared matching core raises :class:`~..errors.BinanceError`;
:func:`from_binance` translates those into the code Bybit gives for the same refusal.
"""

from __future__ import annotations

from typing import Final

from tradewind.exchange_sim import errors as binance
from tradewind.exchange_sim.errors import BinanceError

BybitSpec = tuple[int, str]

PARAMS: Final[BybitSpec] = (10001, "params error: {detail}")
TIMESTAMP: Final[BybitSpec] = (
    10002,
    "invalid request, please check your server timestamp or recv_window param. "
    "req_timestamp[{req}],server_timestamp[{server}],recv_window[{window}]",
)
BAD_KEY: Final[BybitSpec] = (10003, "API key is invalid.")
BAD_SIGN: Final[BybitSpec] = (10004, "error sign! origin_string[{origin}]")
PERMISSION: Final[BybitSpec] = (10005, "Permission denied, please check your API key permissions.")
TOO_MANY: Final[BybitSpec] = (10006, "Too many visits!")
SERVER: Final[BybitSpec] = (10016, "System error. Please try again later.")
SYMBOL: Final[BybitSpec] = (10001, "params error: symbol invalid")
CATEGORY: Final[BybitSpec] = (10001, "params error: Category is invalid")
ORDER_NOT_FOUND: Final[BybitSpec] = (110001, "order not exists or too late to cancel")
SPOT_ORDER_NOT_FOUND: Final[BybitSpec] = (170213, "Order does not exist.")
NO_BALANCE: Final[BybitSpec] = (110007, "ab not enough for new order")
SPOT_NO_BALANCE: Final[BybitSpec] = (170131, "Insufficient balance.")
REDUCE_ONLY: Final[BybitSpec] = (
    110017,
    "current position is zero, cannot fix reduce-only order qty",
)
DUPLICATE: Final[BybitSpec] = (110072, "OrderLinkedID is duplicate")
LEVERAGE_SAME: Final[BybitSpec] = (110043, "leverage not modified")
LEVERAGE_BAD: Final[BybitSpec] = (10001, "params error: leverage invalid")
QTY: Final[BybitSpec] = (10001, "params error: Qty invalid")
PRICE: Final[BybitSpec] = (10001, "params error: Price invalid")
SPOT_QTY_DECIMALS: Final[BybitSpec] = (170137, "Order quantity has too many decimals.")
SPOT_PRICE_DECIMALS: Final[BybitSpec] = (170134, "Order price has too many decimals.")
SPOT_MIN_VALUE: Final[BybitSpec] = (170140, "Order value exceeded lower limit.")
MIN_VALUE: Final[BybitSpec] = (
    110094,
    "Order does not meet minimum order value {min}USDT",
)
TRIGGER: Final[BybitSpec] = (
    110093,
    "expect Rising, but trigger_price[{trigger}] <= current[{current}]",
)
NOT_MODIFIED: Final[BybitSpec] = (10001, "params error: order not modified")
NO_POSITION: Final[BybitSpec] = (10001, "can not set tp/sl/ts for zero position")


class BybitError(Exception):
    """Raised inside a Bybit handler to answer with ``retCode``/``retMsg``."""

    def __init__(self, spec: BybitSpec, **fields: object) -> None:
        super().__init__(spec[1])
        self.code = spec[0]
        self.message = spec[1].format(**fields) if fields else spec[1]


def from_binance(exc: BinanceError, *, spot: bool) -> BybitError:
    """Return the Bybit refusal for a refusal of the shared core (raised as Binance's)."""
    spec = exc.spec
    if spec in (binance.INSUFFICIENT, binance.FUTURES_MARGIN):
        return BybitError(SPOT_NO_BALANCE if spot else NO_BALANCE)
    if spec in (binance.DUPLICATE_ORDER, binance.FUTURES_DUPLICATE):
        return BybitError(DUPLICATE)
    if spec is binance.FUTURES_REDUCE_ONLY:
        return BybitError(REDUCE_ONLY)
    if spec in (binance.UNKNOWN_ORDER, binance.NO_SUCH_ORDER):
        return BybitError(SPOT_ORDER_NOT_FOUND if spot else ORDER_NOT_FOUND)
    if spec in (binance.SERVER_BUSY, binance.INTERNAL_ERROR):
        return BybitError(SERVER)
    if spec in (binance.TOO_MANY_ORDERS, binance.TOO_MANY_REQUESTS, binance.IP_BANNED):
        return BybitError(TOO_MANY)
    return BybitError(PARAMS, detail=exc.message)
