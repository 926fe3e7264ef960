"""Signed-request checks as Binance makes them: API key, permissions, HMAC signature, recvWindow.

REST (``SIGNED`` endpoints): the key arrives in the ``X-MBX-APIKEY`` header; the parameters are
the query string followed by the form body ("totalParams"), and ``signature`` is the hex
HMAC-SHA256 of that exact text without the ``signature`` pair, keyed with the key's secret.

WebSocket API (``/ws-api/v3``): ``apiKey``, ``timestamp`` and ``signature`` are request params; the
signed text is every other param sorted by name and joined as ``k=v&...`` (what ccxt sends).

Timing rule (Binance's documented check, against the *wall* clock, see :mod:`.clock`): a request
is accepted when ``timestamp < now + 1000`` and ``now - timestamp <= recvWindow``; ``recvWindow``
defaults to 5000 ms and may not exceed 60000. Errors, in the order they are checked: missing or
malformed key ``-2014``, unknown key or missing permission ``-2015``, missing ``timestamp`` or
``signature`` ``-1102``, bad ``recvWindow`` ``-1131``, bad signature ``-1022``, timestamp
``-1021``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import StrEnum
from urllib.parse import unquote_plus

from tradewind.exchange_sim import errors
from tradewind.exchange_sim.accounts import ApiKey, KeyRing
from tradewind.exchange_sim.clock import wall_ms
from tradewind.exchange_sim.errors import BinanceError

_MAX_RECV_WINDOW = 60_000
_DEFAULT_RECV_WINDOW = 5_000


class Need(StrEnum):
    """The permission an endpoint needs."""

    READ = "read"
    SPOT = "spot"
    FUTURES = "futures"
    USER_STREAM = "user_stream"


def check_key(keys: KeyRing, key_text: str | None, need: Need) -> ApiKey:
    """Return the key named by ``key_text`` if it exists and has the permission ``need``.

    Raises
    ------
    BinanceError
        ``-2014`` for a missing or malformed key, ``-2015`` for an unknown key or a missing
        permission.
    """
    if not key_text or not key_text.isascii() or len(key_text) > 128:
        raise BinanceError(errors.KEY_FORMAT)
    key = keys.get(key_text)
    if key is None:
        raise BinanceError(errors.KEY_REJECTED)
    perms = key.permissions
    allowed = {
        Need.READ: perms.reading,
        Need.SPOT: perms.spot,
        Need.FUTURES: perms.futures,
        Need.USER_STREAM: perms.reading,
    }[need]
    if not allowed:
        raise BinanceError(errors.KEY_REJECTED)
    return key


def split_signed(total_params: str) -> tuple[str, str | None]:
    """Split ``totalParams`` into the signed text and the ``signature`` value (None if absent)."""
    signature: str | None = None
    kept: list[str] = []
    for pair in total_params.split("&"):
        if pair.startswith("signature="):
            signature = pair[len("signature=") :]
        elif pair:
            kept.append(pair)
    return "&".join(kept), signature


def verify_rest(
    keys: KeyRing,
    key_text: str | None,
    query_string: str,
    body: str,
    params: Mapping[str, str],
    need: Need,
) -> ApiKey:
    """Check a signed REST request and return its key.

    Parameters
    ----------
    keys
        The exchange's keys.
    key_text
        The ``X-MBX-APIKEY`` header.
    query_string, body
        The raw query string and form body, exactly as received.
    params
        Query and body parameters, decoded.
    need
        The permission the endpoint needs.

    Raises
    ------
    BinanceError
        With Binance's code and message for the first check that fails.
    """
    key = check_key(keys, key_text, need)
    total = query_string if not body else (f"{query_string}&{body}" if query_string else body)
    signed_text, signature = split_signed(total)
    check_signature_and_time(key, signed_text, signature, params)
    return key


def verify_ws(keys: KeyRing, params: Mapping[str, object], need: Need) -> ApiKey:
    """Check a signed WebSocket-API request's params and return its key (same errors)."""
    key = check_key(keys, str(params.get("apiKey") or ""), need)
    signed_text = "&".join(
        f"{name}={_ws_value(params[name])}" for name in sorted(params) if name != "signature"
    )
    signature = params.get("signature")
    check_signature_and_time(
        key,
        signed_text,
        None if signature is None else str(signature),
        {k: _ws_value(v) for k, v in params.items()},
    )
    return key


def _ws_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_signature_and_time(
    key: ApiKey, signed_text: str, signature: str | None, params: Mapping[str, str]
) -> None:
    """Check ``timestamp``, ``recvWindow`` and the HMAC of ``signed_text`` for ``key``.

    Raises
    ------
    BinanceError
        ``-1102`` (missing), ``-1131`` (recvWindow), ``-1022`` (signature), ``-1021`` (time).
    """
    stamp = params.get("timestamp")
    if not stamp:
        raise BinanceError(errors.MANDATORY_PARAM, name="timestamp")
    if signature is None:
        raise BinanceError(errors.MANDATORY_PARAM, name="signature")
    window_text = params.get("recvWindow")
    window = _DEFAULT_RECV_WINDOW
    if window_text:
        try:
            window = int(float(window_text))
        except ValueError:
            raise BinanceError(errors.BAD_RECV_WINDOW) from None
        if not 0 < window <= _MAX_RECV_WINDOW:
            raise BinanceError(errors.BAD_RECV_WINDOW)
    expected = hmac.new(key.secret.encode(), signed_text.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, unquote_plus(signature).lower()):
        raise BinanceError(errors.BAD_SIGNATURE)
    try:
        timestamp = int(stamp)
    except ValueError:
        raise BinanceError(
            errors.BAD_PARAM_VALUE, name="timestamp", legal="^[0-9]{1,20}$"
        ) from None
    now = wall_ms()
    if timestamp >= now + 1000:
        raise BinanceError(errors.TIMESTAMP_AHEAD)
    if now - timestamp > window:
        raise BinanceError(errors.TIMESTAMP_OUTSIDE)
