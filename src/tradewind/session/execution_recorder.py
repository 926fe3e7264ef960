"""Write a session's parent orders and execution costs into the bot's database.

A parent is written ahead like an order: the desk announces ``parent.created``, ``parent.child``
(with the child it is about to record and send) and ``parent.ended`` on the Node's bus, and
:class:`ExecutionRecorder` writes the parent's row on each, before the bus returns to the code
that records and sends the child. A restarted session reads the working parents back
(:meth:`~tradewind.persistence.execution.ExecutionStore.parents`) and resumes them
(:func:`tradewind.engine.resume.resume_parents`).

Costs: at each checkpoint the recorder measures the orders and parents done since the last one
(:class:`~tradewind.engine.costs.CostMeter`) and stores a row for each.
"""

from __future__ import annotations

from typing import Any

from tradewind.engine.bus import MessageBus
from tradewind.engine.costs import CostMeter
from tradewind.engine.node import Node
from tradewind.execution.parent import Parent
from tradewind.persistence.execution import ExecutionStore

__all__ = ["ExecutionRecorder"]


class ExecutionRecorder:
    """Records ``node``'s parents as they change and its execution costs at each checkpoint."""

    def __init__(self, store: ExecutionStore, node: Node) -> None:
        self.store = store
        self.meter = CostMeter(node)

    def attach(self, bus: MessageBus) -> None:
        """Start listening on ``bus``."""
        bus.subscribe("parent", self._on_parent)

    def _on_parent(self, topic: str, payload: Any) -> None:
        parent = payload[0] if isinstance(payload, tuple) else payload
        if isinstance(parent, Parent):
            self.store.write_parent(parent)

    def record_costs(self) -> int:
        """Measure and store what was done since the last call; returns how many rows."""
        stored = 0
        while True:
            records, pending = self.meter.measure()
            stored += self.store.record_costs(records)
            if not pending:
                return stored
