"""The transaction-cost analysis of a running Node's executions, each measured once, when it is
done (:mod:`tradewind.execution.tca`).

:class:`CostMeter` finds the orders with fills and the parents that ended since its last call and
measures them against the candle tape of the bars the Node holds (the arrival mid is the close
of the last bar complete when the order was made; nothing after the Node's clock is read). The
operator facade keeps one for its views, the session's recorder one for the database.
"""

from __future__ import annotations

from tradewind.bars import BarSeries
from tradewind.core.orders import Order
from tradewind.engine.node import Node
from tradewind.execution.parent import Parent
from tradewind.execution.tca import MarketTape, TcaRecord, candle_tape, order_tca, parent_tca

__all__ = ["CostMeter"]


class CostMeter:
    """Measures a Node's done orders and ended parents, each once (see the module's doc)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.measured: set[str] = set()
        """Client ids and parent ids measured so far."""
        self._tapes: dict[str, tuple[BarSeries, MarketTape]] = {}

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
        due: list[Order | Parent] = [
            order
            for order in node.orders.values()
            if not order.is_open
            and order.fills
            and order.client_id not in measured
            and order.symbol in traded
        ]
        due += [p for p in desk.ended() if p.parent_id not in measured and p.symbol in traded]
        records = []
        for item in due[:budget]:
            instrument = node.instruments[item.symbol]
            tape = self._tape(item.symbol)
            if isinstance(item, Parent):
                children = [node.orders[c] for c in item.children]
                records.append(parent_tca(item, children, tape, instrument))
                measured.add(item.parent_id)
                continue
            algo = None
            if desk.is_child(item.client_id):
                parent = desk.engine.parents[desk.engine.parent_of[item.client_id]]
                algo = f"{parent.spec.algo}.child"
            records.append(order_tca(item, tape, instrument, algo))
            measured.add(item.client_id)
        return records, max(len(due) - budget, 0)
