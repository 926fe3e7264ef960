"""The transaction-cost analysis of a running Node's executions, each measured once, when it is
done (:mod:`tradewind.execution.tca`).

:class:`CostMeter` finds the orders with fills and the parents that ended since its last call and
measures them against the candle tape of the bars the Node holds (the arrival mid is the close
of the last bar complete when the order was made; nothing after the Node's clock is read). The
operator facade keeps one for its views, the session's recorder one for the database.
"""

from __future__ import annotations

from tradewind.core.orders import Order
from tradewind.engine.node import Node
from tradewind.execution.parent import Parent
from tradewind.execution.tca import MarketTape, TcaRecord, candle_tape, order_tca, parent_tca
from tradewind.series.bars import BarSeries

__all__ = ["CostMeter"]


class CostMeter:
    """Measures a Node's done orders and ended parents, each once (see the module's doc)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.measured: set[str] = set()
        """Client ids and parent ids measured so far."""
        self._tapes: dict[str, tuple[BarSeries, MarketTape]] = {}
        self._orders_seen = 0
        self._parents_seen = 0
        self._orders_waiting: dict[str, None] = {}
        self._parents_waiting: dict[str, None] = {}
        """Ids not yet measured, in the order they were made (dicts keep it)."""

    def _tape(self, symbol: str) -> MarketTape:
        series = next(b.bars for b in self.node.bindings if b.symbol == symbol)
        kept = self._tapes.get(symbol)
        if kept is None or kept[0] is not series:  # a live feed may hand the Node a longer series
            kept = self._tapes[symbol] = (series, candle_tape(series))
        return kept[1]

    def measure(self, budget: int = 200) -> tuple[list[TcaRecord], int]:
        """Measure up to ``budget`` of the orders and parents done since the last call (about a
        millisecond each: the trading loop is never held long); returns the records and how
        many are left for later. A parent's children are labelled ``<algo>.child``, as in a
        backtest."""
        node = self.node
        traded = {b.symbol for b in node.bindings}
        desk = node.desk
        measured = self.measured
        # Only what is not measured yet is looked at (a long session's history is not walked
        # again at every checkpoint). An order that ended without a fill is dropped: a fill
        # racing its cancel after that is booked but not measured.
        orders, parents = node.orders, desk.engine.parents
        waiting_orders, waiting_parents = self._orders_waiting, self._parents_waiting
        if len(orders) > self._orders_seen:
            waiting_orders.update(dict.fromkeys(list(orders)[self._orders_seen :]))
            self._orders_seen = len(orders)
        if len(parents) > self._parents_seen:
            waiting_parents.update(dict.fromkeys(list(parents)[self._parents_seen :]))
            self._parents_seen = len(parents)
        due: list[Order | Parent] = []
        for client_id in list(waiting_orders):
            order = orders[client_id]
            if order.is_open:
                continue
            if order.fills and order.symbol in traded and client_id not in measured:
                due.append(order)
            else:
                del waiting_orders[client_id]
        for parent_id in list(waiting_parents):
            parent = parents[parent_id]
            if parent.is_working:
                continue
            if parent.symbol in traded and parent_id not in measured:
                due.append(parent)
            else:
                del waiting_parents[parent_id]
        records = []
        for item in due[:budget]:
            instrument = node.instruments[item.symbol]
            tape = self._tape(item.symbol)
            if isinstance(item, Parent):
                children = [node.orders[c] for c in item.children]
                records.append(parent_tca(item, children, tape, instrument))
                measured.add(item.parent_id)
                del waiting_parents[item.parent_id]
                continue
            algo = None
            if desk.is_child(item.client_id):
                parent = desk.engine.parents[desk.engine.parent_of[item.client_id]]
                algo = f"{parent.spec.algo}.child"
            records.append(order_tca(item, tape, instrument, algo))
            measured.add(item.client_id)
            del waiting_orders[item.client_id]
        return records, max(len(due) - budget, 0)
