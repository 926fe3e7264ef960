"""Protective stops of a live session, kept on the exchange.

The risk rules of a live session are the backtest's (:class:`~tradewind.risk.exits.ProtectionBook`
over the bars held, told when a series grows), but its stop does not wait for the session to see
a bar reach it: after an entry fills, the position's stop rests on the exchange as a native
reduce-only stop-market order (:meth:`~tradewind.engine.node.Node.rest_stop`, recorded before it
is sent), so a crashed bot leaves its position protected and the exchange fills the stop the
moment the price reaches it.

The level is the one the backtest's scan holds in force for the next bar
(:meth:`ProtectionBook.stop_in_force`): the fixed or ATR stop from the entry, tightened after each
closed bar by the break-even move and the trail. When it changes, the stop is moved by
cancel-replace: the old stop is canceled and, once the exchange has confirmed the cancel (on spot
the balance it locked is free again), the new one is placed, recorded before it is sent. A stop
the exchange refuses (most often as one that would trigger at once: the trail rose with a high the
price has fallen back from) is an exit at market, as the stop itself would be: a position is never
left unprotected. An exit of the position (a signal, an operator, the kill switch) first cancels
the stop (:mod:`tradewind.engine.resting_stops`). A stop the exchange fills comes back as a fill
like any other and is booked once (by its trade id); the position is then flat and nothing more
is sent.

Only stop rules rest on the exchange. A time stop is decided at a bar's close, as in the backtest
(:meth:`~tradewind.session.live_driver.LiveDriver` fires it): it exits at market like any exit, so
the resting stop is canceled first and the exit is sent once the exchange has confirmed the
cancel. Take-profit, scale-out and pyramiding are refused in live sessions until they have a
native form (an OCO or a second reduce-only order).
"""

from __future__ import annotations

import logging
from decimal import Decimal

from tradewind.core.errors import UserError
from tradewind.core.orders import OrderStatus
from tradewind.engine.node import Node
from tradewind.risk.config import RiskConfig
from tradewind.sim.lots import exit_quantity

__all__ = ["NativeStops", "refuse_non_native"]

log = logging.getLogger(__name__)

_NOT_NATIVE = {
    "take_profit_pct": "take-profit",
    "take_profit_r": "take-profit",
    "scale_out": "scale-out",
    "pyramid": "pyramiding",
}


def refuse_non_native(config: RiskConfig) -> None:
    """Refuse the exit rules a live session cannot keep on the exchange yet.

    Raises
    ------
    UserError
        Naming the first such rule.
    """
    for section in (config.exits, *(s.exits for s in config.strategies.values())):
        if section is None:
            continue
        for name, what in _NOT_NATIVE.items():
            if getattr(section, name, None) not in (None, (), []):
                raise UserError(
                    f"risk.exits.{name} ({what}) is not yet supported in live sessions: only stop "
                    "rules (stop_pct, stop_atr, trailing, break-even) rest on the exchange, and "
                    "a time stop (max_bars) exits at a bar's close"
                )


class NativeStops:
    """Keep one native stop per protected position of ``node`` at the level its rules hold.

    Call :meth:`sync` after each closed instant and after each batch of the exchange's events.
    """

    def __init__(self, node: Node) -> None:
        if node.protection is None:
            raise ValueError("native stops need the node's protective exits")
        self.node = node
        self.protection = node.protection
        self._placed: dict[tuple[str, str], tuple[str, Decimal]] = {}
        self.moves = 0
        """How many times a stop was moved (canceled to be placed again at a new level)."""

    def adopt(self, client_id: str) -> bool:
        """Carry on the native stop ``client_id`` that an earlier session of this bot left
        resting on the exchange (after a restart; the Node holds the order already and the port
        follows it) as its position's stop: nothing is placed for the position while it rests,
        and the stop in force is never looser than it. Of two stops resting for one position
        (a crash between a move's new stop and the old one's cancel), the tighter one is kept
        and the other canceled. Returns True when ``client_id`` is kept."""
        node = self.node
        order = node.orders[client_id]
        key = (order.strategy_id, order.symbol)
        if order.trigger_price is None or node.position(*key) == 0:
            return False
        other_id = node.resting.stops.get(key)
        if other_id is not None:
            other = node.orders[other_id]
            assert other.trigger_price is not None
            long = node.position(*key) > 0
            keeps_other = (
                other.trigger_price >= order.trigger_price if long
                else other.trigger_price <= order.trigger_price
            )  # fmt: skip
            loser = client_id if keeps_other else other_id
            log.warning("two stops rest for %s in %s: %s canceled", *key, loser)
            node.manager.cancel(loser, node.now)
            if keeps_other:
                return False
            del node.resting.stops[key]
        node.resting.hold(key, client_id)
        self._placed[key] = (client_id, order.trigger_price)
        self.protection.keep_stop(key, order.trigger_price)
        return True

    def sync(self) -> None:
        """Place, move or cancel each position's stop so that exactly one rests at its level."""
        node, resting = self.node, self.node.resting
        for key in {*self.protection.guards, *resting.stops}:
            held = node.position(*key)
            found = self.protection.stop_in_force(key) if held != 0 else None
            quantity = exit_quantity(node.instruments[key[1]], held) if held != 0 else held
            stop_id = resting.stops.get(key)
            if stop_id is not None:
                stop = node.orders[stop_id]
                if stop.status.is_terminal or stop.status is OrderStatus.CANCEL_PENDING:
                    continue  # settled by the exchange's answer
                if key in resting.waiting:
                    continue  # an exit waits for this stop's cancel
                if found is None or stop.trigger_price != found[0] or stop.quantity != quantity:
                    # Moved (or no longer needed): cancel now; the new stop is placed once the
                    # exchange has confirmed the cancel (the sync after its answer).
                    self.moves += found is not None
                    node.manager.cancel(stop_id, node.now)
                continue
            if found is None or quantity <= 0 or node.manager.exiting(key):
                continue
            level, reason = found
            last = self._placed.get(key)
            refused = last is not None and last[1] == level and node.orders[
                last[0]].status is OrderStatus.REJECTED  # fmt: skip
            if refused:
                # The exchange refused the stop at this level (most often: the price is beyond
                # it already, so it would trigger at once): exit at market, as the stop would;
                # a position is never left without protection (fail safe).
                assert last is not None
                log.warning("stop %s of %s in %s refused (%s): exiting at market", level, *key,
                            node.orders[last[0]].reject_reason)  # fmt: skip
                node.exit_position(key[0], key[1], quantity, reason)
                continue
            client_id = node.rest_stop(key[0], key[1], quantity, level, reason)
            if client_id is None:
                log.error("the native stop of %s in %s was refused", *key)
            else:
                self._placed[key] = (client_id, level)
