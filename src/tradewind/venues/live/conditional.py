"""USDT-M conditional orders (stops, take-profits) as Binance keeps them: on the algo API.

ccxt 4.5 sends a stop or take-profit on a linear perpetual to ``POST /fapi/v1/algoOrder``
(``clientAlgoId`` = our client id). Until it triggers, the order exists only there: the regular
order endpoints answer "no such order" for it, so every lookup, cancel and open-order listing of
such an order must go to the algo endpoints (ccxt's ``{'trigger': True}``). Once it triggers,
Binance places a regular order (the algo order's ``actualOrderId``) and the algo order reads
``TRIGGERED`` (``FINISHED`` once that order is closed); the fills, their trades and their end are
that regular order's. ccxt maps both algo statuses to ``closed``, which would read as "filled in
full with nothing filled": a triggered algo order is therefore never taken as the order's state;
the regular order it became is, marked :data:`TRIGGERED_FROM` so it reads as triggered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tradewind.core.instrument import Instrument
from tradewind.core.orders import Order
from tradewind.venues.live import wire

TRIGGER: dict[str, Any] = {"trigger": True}
"""The ccxt parameter that routes an order call to the algo (conditional) endpoints."""

TRIGGERED_FROM = wire.TRIGGERED_FROM

_TRIGGERED = frozenset({"TRIGGERED", "FINISHED"})

Call = Callable[..., Awaitable[Any]]


def is_conditional(order: Order, instrument: Instrument | None) -> bool:
    """True when ``order`` lives on the algo endpoints (a stop or take-profit on USDT-M)."""
    return order.type in wire.STOP_TYPES and instrument is not None and instrument.is_derivative


async def lookup(call: Call, client_id: str, symbol: str) -> dict[str, Any] | None:
    """The conditional order ``client_id`` as ccxt parses it: the algo order while it waits or
    once it ended untriggered; once triggered, the regular order it became (marked
    :data:`TRIGGERED_FROM`). Raises what the requests raise (absent: ccxt's ``OrderNotFound``)."""
    algo = await call(4, "fetch_order", None, symbol, {"origClientOrderId": client_id, **TRIGGER})
    if not isinstance(algo, dict):
        return None
    info = algo.get("info") or {}
    if str(info.get("algoStatus") or "").upper() not in _TRIGGERED:
        return algo
    algo_id = str(info.get("algoId") or algo.get("id") or "")
    actual = str(info.get("actualOrderId") or "")
    if not actual:
        # Triggered, its regular order not named yet: working, triggered, nothing to book yet.
        return {**algo, "status": "open", TRIGGERED_FROM: algo_id}
    order = await call(4, "fetch_order", actual, symbol)
    if not isinstance(order, dict):
        return None
    return {**order, TRIGGERED_FROM: algo_id}


async def open_orders(call: Call, symbol: str) -> list[dict[str, Any]]:
    """The conditional orders of ``symbol`` still waiting for their trigger."""
    found = await call(1, "fetch_open_orders", symbol, None, None, dict(TRIGGER))
    return [o for o in found if isinstance(o, dict)]
