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
