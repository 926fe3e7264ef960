"""Binance's error answers, word for word: ccxt maps errors by exact message text and by code.

Each constant is ``(http_status, code, msg)`` as Binance sends it. Copying the text exactly matters
(see ``ccxt-loopback.md`` P10): a shortened message falls through to a different exception class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aiohttp import web

ErrorSpec = tuple[int, int, str]

TOO_MANY_REQUESTS: Final[ErrorSpec] = (
    429,
    -1003,
    "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
    "Please use WebSocket Streams for live updates to avoid polling the API.",
)
IP_BANNED: Final[ErrorSpec] = (
    418,
    -1003,
    "Way too much request weight used; IP banned until {until}. "
    "Please use WebSocket Streams for live updates to avoid bans.",
)
INTERNAL_ERROR: Final[ErrorSpec] = (
    500,
    -1001,
    "Internal error; unable to process your request. Please try again.",
)
MANDATORY_PARAM: Final[ErrorSpec] = (
    400,
    -1102,
    "Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
)
BAD_PARAM_VALUE: Final[ErrorSpec] = (
    400,
    -1100,
    "Illegal characters found in parameter '{name}'; legal range is '{legal}'.",
)
INVALID_INTERVAL: Final[ErrorSpec] = (400, -1120, "Invalid interval.")
INVALID_SYMBOL: Final[ErrorSpec] = (400, -1121, "Invalid symbol.")
TIME_WINDOW_TOO_LONG: Final[ErrorSpec] = (
    400,
    -1127,
    "More than 1 hours between startTime and endTime.",
)
BAD_PARAM_COMBINATION: Final[ErrorSpec] = (
    400,
    -1128,
    "Combination of optional parameters invalid.",
)

# Trading, signing and limits (spot unless the name says FUTURES).
TOO_MANY_ORDERS: Final[ErrorSpec] = (
    429,
    -1015,
    "Too many new orders; current limit is {limit} orders per {interval}.",
)
SERVER_BUSY: Final[ErrorSpec] = (
    503,
    -1008,
    "Server is currently overloaded with other requests. Please try again in a few minutes.",
)
UNKNOWN_EXECUTION: Final[ErrorSpec] = (
    503,
    -1007,
    "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown.",
)
TIMESTAMP_OUTSIDE: Final[ErrorSpec] = (
    400,
    -1021,
    "Timestamp for this request is outside of the recvWindow.",
)
TIMESTAMP_AHEAD: Final[ErrorSpec] = (
    400,
    -1021,
    "Timestamp for this request was 1000ms ahead of the server's time.",
)
BAD_SIGNATURE: Final[ErrorSpec] = (400, -1022, "Signature for this request is not valid.")
BAD_RECV_WINDOW: Final[ErrorSpec] = (400, -1131, "recvWindow must be less than 60000")
KEY_FORMAT: Final[ErrorSpec] = (401, -2014, "API-key format invalid.")
KEY_REJECTED: Final[ErrorSpec] = (401, -2015, "Invalid API-key, IP, or permissions for action.")
UNKNOWN_PARAM: Final[ErrorSpec] = (
    400,
    -1104,
    "Not all sent parameters were read; read '{n}' parameter(s) but was sent '{m}'.",
)
NOT_REQUIRED: Final[ErrorSpec] = (400, -1106, "Parameter '{name}' sent when not required.")
BAD_ORDER_TYPE: Final[ErrorSpec] = (400, -1116, "Invalid orderType.")
BAD_SIDE: Final[ErrorSpec] = (400, -1117, "Invalid side.")
BAD_TIF: Final[ErrorSpec] = (400, -1115, "Invalid timeInForce.")
BAD_DECIMAL: Final[ErrorSpec] = (
    400,
    -1100,
    "Illegal characters found in parameter '{name}'; legal range is '{legal}'.",
)
FILTER: Final[ErrorSpec] = (400, -1013, "Filter failure: {name}")
INSUFFICIENT: Final[ErrorSpec] = (
    400,
    -2010,
    "Account has insufficient balance for requested action.",
)
WOULD_TAKE: Final[ErrorSpec] = (400, -2010, "Order would immediately match and take.")
WOULD_TRIGGER: Final[ErrorSpec] = (400, -2010, "Stop price would trigger immediately.")
DUPLICATE_ORDER: Final[ErrorSpec] = (400, -2010, "Duplicate order sent.")
UNKNOWN_ORDER: Final[ErrorSpec] = (400, -2011, "Unknown order sent.")
NO_SUCH_ORDER: Final[ErrorSpec] = (400, -2013, "Order does not exist.")
NO_SUCH_ORDER_LIST: Final[ErrorSpec] = (400, -2011, "Order list does not exist.")
OCO_PRICES: Final[ErrorSpec] = (400, -1013, "Filter failure: PRICE_FILTER")
FUTURES_MARGIN: Final[ErrorSpec] = (400, -2019, "Margin is insufficient.")
FUTURES_REDUCE_ONLY: Final[ErrorSpec] = (400, -2022, "ReduceOnly Order is rejected.")
FUTURES_WOULD_TRIGGER: Final[ErrorSpec] = (400, -2021, "Order would immediately trigger.")
FUTURES_DUPLICATE: Final[ErrorSpec] = (400, -4116, "ClientOrderId is duplicated.")
FUTURES_POST_ONLY: Final[ErrorSpec] = (
    400,
    -5022,
    "Due to the order could not be executed as maker, the Post Only order will be rejected.",
)
FUTURES_NOTIONAL: Final[ErrorSpec] = (
    400,
    -4164,
    "Order's notional must be no smaller than {min} (unless you choose reduce only).",
)
FUTURES_PRECISION: Final[ErrorSpec] = (
    400,
    -1111,
    "Precision is over the maximum defined for this asset.",
)
FUTURES_LEVERAGE: Final[ErrorSpec] = (400, -4028, "Leverage {leverage} is not valid")
FUTURES_SAME_MARGIN: Final[ErrorSpec] = (400, -4046, "No need to change margin type.")
FUTURES_MARGIN_TYPE_WITH_POSITION: Final[ErrorSpec] = (
    400,
    -4048,
    "Margin type cannot be changed if there exists position.",
)
FUTURES_QTY: Final[ErrorSpec] = (400, -4003, "Quantity less than or equal to zero.")
LISTEN_KEY: Final[ErrorSpec] = (400, -1125, "This listenKey does not exist.")


class BinanceError(Exception):
    """Raised inside a handler to answer with one of this module's Binance error bodies."""

    def __init__(self, spec: ErrorSpec, **fields: object) -> None:
        super().__init__(spec[2])
        self.spec = spec
        self.fields = fields

    @property
    def code(self) -> int:
        """Binance's error code."""
        return self.spec[1]

    @property
    def message(self) -> str:
        """The message with its placeholders filled."""
        return self.spec[2].format(**self.fields) if self.fields else self.spec[2]

    def response(self, headers: dict[str, str] | None = None) -> web.Response:
        """Render the Binance JSON error."""
        return error_response(self.spec, fields=self.fields, headers=headers)


def error_response(
    spec: ErrorSpec,
    *,
    headers: dict[str, str] | None = None,
    fields: Mapping[str, object] | None = None,
) -> web.Response:
    """Return Binance's JSON error ``{"code": c, "msg": m}`` with its HTTP status.

    ``fields`` fill the placeholders of messages that name a parameter or a time.
    """
    status, code, message = spec
    return web.json_response(
        {"code": code, "msg": message.format(**fields) if fields else message},
        status=status,
        headers=headers,
    )
