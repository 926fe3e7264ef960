"""Protective stops that live on the exchange, so a crashed bot leaves its position protected.

After an entry fills, :meth:`ProtectiveStops.protect` places a native stop-market order for the
position (Hummingbot keeps its stops in the client: a dead bot protects nothing). While a native
stop exists it is the only protective exit:

- trailing and break-even move it by cancel-replace (:meth:`ProtectiveStops.move`), the new stop
  written ahead before the request;
- a strategy exit takes the stop's place (:meth:`ProtectiveStops.exit`): the exit is sent only once
  the exchange confirmed the stop's cancel, so the two can never both fill, and on spot the balance
  the stop locked is free again for the exit.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.core.orders import ClientIdFactory, Order, OrderType
from tradewind.core.records import Side
from tradewind.engine.write_ahead import WriteAheadOrders


class ProtectiveStops:
    """One native stop per ``(strategy, symbol)``, kept through :class:`WriteAheadOrders`."""

    def __init__(self, keeper: WriteAheadOrders, ids: ClientIdFactory) -> None:
        self.keeper = keeper
        self.ids = ids
        self.stops: dict[tuple[str, str], str] = {}
        """Client id of the working stop of each ``(strategy_id, symbol)``."""

    def protect(
        self, strategy_id: str, symbol: str, exit_side: Side, quantity: Decimal, trigger: Decimal,
        ts: int,
    ) -> Order:  # fmt: skip
        """Place the stop that closes ``quantity`` on ``exit_side`` at ``trigger``."""
        key = (strategy_id, symbol)
        if key in self.stops:
            raise ValueError(f"{strategy_id} {symbol} already has a protective stop")
        stop = self._stop(strategy_id, symbol, exit_side, quantity, trigger, ts)
        self.keeper.place(stop, ts)
        self.stops[key] = stop.client_id
        return stop

    def move(self, strategy_id: str, symbol: str, trigger: Decimal, ts: int) -> Order:
        """Move the stop to ``trigger`` by cancel-replace (the new stop written ahead)."""
        key = (strategy_id, symbol)
        old = self.keeper.orders[self.stops[key]]
        stop = self._stop(strategy_id, symbol, old.side, old.quantity, trigger, ts)
        self.keeper.replace(old.client_id, stop, ts)
        self.stops[key] = stop.client_id
        return stop

    def exit(self, strategy_id: str, symbol: str, ts: int) -> Order:
        """Close the position with a market order that takes the stop's place."""
        key = (strategy_id, symbol)
        old = self.keeper.orders[self.stops.pop(key)]
        exit_order = Order(
            self.ids.next(), symbol, old.side, OrderType.MARKET, old.quantity,
            strategy_id=strategy_id, tag="exit", created_ts=ts,
        )  # fmt: skip
        self.keeper.replace(old.client_id, exit_order, ts)
        return exit_order

    def _stop(
        self, strategy_id: str, symbol: str, side: Side, quantity: Decimal, trigger: Decimal,
        ts: int,
    ) -> Order:  # fmt: skip
        return Order(
            self.ids.next(), symbol, side, OrderType.STOP_MARKET, quantity,
            trigger_price=trigger, strategy_id=strategy_id, tag="stop", created_ts=ts,
        )  # fmt: skip
