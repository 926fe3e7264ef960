"""Native protective stops resting on the exchange (live sessions), as the Node sees them.

A live session keeps each protected position's stop on the exchange as a reduce-only stop-market
order (:mod:`tradewind.session.native_stops` places and moves it), so that a crashed bot leaves its
positions protected. Such a stop is the position's protection, not an exit in flight: while it
rests, the Node still takes the position's exits (a strategy's signal or hook, an operator's
flatten or force exit, the kill switch, a breaker). An exit of a position whose stop rests first
cancels the stop and is sent only once the exchange has confirmed the cancel, so the two can never
both fill, and on spot the balance the stop locked is free again for the exit. When the stop fills
instead, the waiting exit finds no position and is denied (recorded), so the fill is booked once
and nothing more is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from tradewind.core.intents import Intent
from tradewind.core.orders import OrderStatus
from tradewind.engine.binding import Binding
from tradewind.execution.order_manager import OrderManager

__all__ = ["RestingStops"]

Route = Callable[..., str | None]


@dataclass
class RestingStops:
    """The resting stop of each ``(strategy_id, symbol)`` and the exits waiting for its cancel."""

    manager: OrderManager
    stops: dict[tuple[str, str], str] = field(default_factory=dict)
    """Client id of the stop resting for each position."""
    waiting: dict[tuple[str, str], list[tuple[Intent, Binding, int, bool]]] = field(
        default_factory=dict
    )
    """Exits routed while the position's stop rested: ``(intent, binding, at, plain)``."""

    def hold(self, key: tuple[str, str], client_id: str) -> None:
        """Order ``client_id`` rests on the exchange as the stop of position ``key``."""
        if key in self.stops:
            raise ValueError(f"{key[0]} in {key[1]} already has a resting stop")
        self.stops[key] = client_id

    def rest(
        self,
        exit_position: Callable[..., str | None],
        strategy_id: str,
        symbol: str,
        quantity: Decimal,
        trigger_price: Decimal,
        reason: str,
    ) -> str | None:
        """Place a native stop for the position that rests on the venue as its protection: a
        reduce-only stop-market order through the gate, sent by ``exit_position`` (the control
        port's). Returns its client id, None when refused."""
        client_id = exit_position(
            strategy_id, symbol, quantity, reason, trigger_price=trigger_price
        )
        if client_id is not None and not self.manager.orders[client_id].status.is_terminal:
            self.hold((strategy_id, symbol), client_id)
        return client_id

    def exiting(self, key: tuple[str, str]) -> bool:
        """True while a reduce-only order of ``key`` other than its resting stop is working (the
        stop is protection, not an exit)."""
        stop, orders = self.stops.get(key), self.manager.orders
        return any(orders[c].reduce_only for c in self.manager.working.get(key, ()) if c != stop)

    def defer(
        self, key: tuple[str, str], intent: Intent, binding: Binding, at: int, plain: bool, now: int
    ) -> bool:
        """An exit of ``key``: when a stop rests for it, cancel the stop (once) and keep the exit
        until the cancel is confirmed; True when the exit was kept (the caller sends nothing)."""
        client_id = self.stops.get(key)
        if client_id is None:
            return False
        # Kept before the cancel is asked: a venue that answers inside the command (the simulated
        # one) confirms it at once, and the exit goes out from there.
        self.waiting.setdefault(key, []).append((intent, binding, at, plain))
        order = self.manager.orders[client_id]
        if order.status is not OrderStatus.CANCEL_PENDING and not order.status.is_terminal:
            self.manager.cancel(client_id, now)
        return True

    def settle(self, route: Route, now: int) -> None:
        """Forget the stops that ended (filled, canceled, rejected) and send the exits that
        waited for them through ``route``; ask again to cancel a stop whose cancel the exchange
        refused while exits still wait for it."""
        for key, client_id in list(self.stops.items()):
            order = self.manager.orders[client_id]
            if not order.status.is_terminal:
                if key in self.waiting and order.status is not OrderStatus.CANCEL_PENDING:
                    self.manager.cancel(client_id, now)
                continue
            del self.stops[key]
            for intent, binding, at, plain in self.waiting.pop(key, ()):
                route(replace(intent, ts=now), binding, at, plain=plain)
