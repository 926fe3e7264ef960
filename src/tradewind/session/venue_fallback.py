"""What a live session does when its venue keeps failing (:mod:`tradewind.ops.venue_errors`
tripped): protect what it holds, then stop trading live.

1. New entries stop (the Node pauses) and working entry orders are canceled.
2. Every open position gets protection, as the policy says:
   - ``stop``: a reduce-only stop-market order resting on the exchange. One the bot already has
     working for the position is kept; otherwise one is placed ``stop_distance`` beyond the last
     close. Each is then *confirmed*: the exchange accepted it and a lookup by client id finds it
     working. A position whose stop is refused or not confirmed within ``confirm_s`` is flattened.
   - ``flatten``: every position is closed with reduce-only market orders, and the session waits
     (up to ``confirm_s``) for the exchange's fills.

The session then records the fallback in the audit trail, alerts, and stops; the next start of the
bot trades paper until an operator allows live again with a two-factor code
(``tradewind live-resume``). Confirmed stops stay on the exchange when the session stops: they are
the protection of positions no live session watches any more.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradewind.core.orders import OrderStatus, OrderType
from tradewind.engine.node import Node
from tradewind.ops.venue_errors import VenueErrorPolicy
from tradewind.venues.live import LiveVenuePort

__all__ = ["Protection", "protect_positions"]

log = logging.getLogger(__name__)

_WORKING = frozenset({OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})


@dataclass
class Protection:
    """What the fallback did for the positions: the stops confirmed on the exchange (client ids),
    the positions flattened, and one line per position for the audit trail and the alert."""

    stops: list[str] = field(default_factory=list)
    flattened: list[tuple[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def detail(self) -> dict[str, Any]:
        """The audit row's detail."""
        return {"stops": list(self.stops), "flattened": [f"{s}:{y}" for s, y in self.flattened],
                "positions": list(self.lines)}  # fmt: skip


async def protect_positions(
    node: Node,
    port: LiveVenuePort,
    last_close: dict[str, Decimal],
    policy: VenueErrorPolicy,
    reason: str,
) -> Protection:
    """Stop entries and protect every open position (see the module docstring)."""
    node.pause(f"venue fallback: {reason}")
    for client_id, order in list(node.orders.items()):
        if order.is_open and not order.reduce_only:
            node.manager.cancel(client_id, node.now)
    done = Protection()
    if policy.on_trip == "flatten":
        await _flatten(node, port, done, policy, reason, None)
        return done
    placed: dict[str, tuple[str, str]] = {}
    for strategy, symbol, quantity in node.account.open_positions():
        stop = _working_stop(node, strategy, symbol)
        if stop is None:
            stop = _place_stop(node, port, strategy, symbol, quantity, last_close, policy)
        if stop is None:
            await _flatten(node, port, done, policy, "no stop could be placed", (strategy, symbol))
            continue
        placed[stop] = (strategy, symbol)
    for client_id, (strategy, symbol) in placed.items():
        if await _confirmed(node, port, client_id, policy.confirm_s):
            done.stops.append(client_id)
            order = node.orders[client_id]
            done.lines.append(f"{strategy} {symbol}: stop {client_id} at {order.trigger_price} "
                              "confirmed on the exchange")  # fmt: skip
        else:
            log.error("stop %s of %s %s not confirmed: flattening", client_id, strategy, symbol)
            await _flatten(
                node, done, policy, f"stop {client_id} not confirmed", (strategy, symbol)
            )
    return done


def _working_stop(node: Node, strategy: str, symbol: str) -> str | None:
    for client_id, order in node.orders.items():
        if (order.is_open and order.reduce_only and order.type is OrderType.STOP_MARKET
                and (order.strategy_id, order.symbol) == (strategy, symbol)):  # fmt: skip
            return client_id
    return None


def _place_stop(
    node: Node,
    port: LiveVenuePort,
    strategy: str,
    symbol: str,
    quantity: Decimal,
    last_close: dict[str, Decimal],
    policy: VenueErrorPolicy,
) -> str | None:
    instrument = port.instruments[symbol]
    close = last_close.get(symbol)
    if close is None or close <= 0:
        return None
    factor = 1 - policy.stop_distance if quantity > 0 else 1 + policy.stop_distance
    trigger = instrument.round_price(close * factor)
    size = instrument.round_amount(abs(quantity))
    return node.exit_position(strategy, symbol, size, "venue fallback: protective stop",
                              trigger_price=trigger)  # fmt: skip


async def _confirmed(node: Node, port: LiveVenuePort, client_id: str, within_s: float) -> bool:
    """Whether the exchange accepted the stop and a lookup finds it working, within ``within_s``."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        order = node.orders[client_id]
        if order.status.is_terminal:
            return False
        if order.status in _WORKING:
            try:
                found = await port.order(client_id)
            except Exception as exc:  # the venue is failing: try again until the deadline
                log.warning("looking up stop %s failed: %s", client_id, exc)
                found = None
            if found is not None and found.status in _WORKING:
                return True
        await asyncio.sleep(0.1)
    return False


async def _flatten(
    node: Node,
    port: LiveVenuePort,
    done: Protection,
    policy: VenueErrorPolicy,
    why: str,
    only: tuple[str, str] | None,
) -> None:
    """Close ``only`` (None: every position) with reduce-only market orders of the position's
    whole lots, and wait for the fills. A stop of the position that was not confirmed is
    canceled first; an exit whose outcome is unknown is left to its lookups (canceling an order
    the venue may never have seen proves nothing)."""
    held = [(s, y, q) for s, y, q in node.account.open_positions()
            if only is None or (s, y) == only]  # fmt: skip
    for strategy, symbol, quantity in held:
        stop = _working_stop(node, strategy, symbol)
        if stop is not None:
            node.manager.cancel(stop, node.now)
        size = port.instruments[symbol].round_amount(abs(quantity))
        node.exit_position(strategy, symbol, size, f"venue fallback: {why}")
    deadline = time.monotonic() + policy.confirm_s
    while time.monotonic() < deadline:
        if not any(node.position(s, y) for s, y, _ in held):
            break
        await asyncio.sleep(0.1)
    for strategy, symbol, _ in held:
        left = node.position(strategy, symbol)
        done.flattened.append((strategy, symbol))
        state = "flat" if left == 0 else f"{left} left after {policy.confirm_s:g}s"
        done.lines.append(f"{strategy} {symbol}: flattened ({why}): {state}")
