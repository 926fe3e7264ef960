"""A real backtest's orders, transitions and fills recorded through the bus into the in-memory
and the SQL repository: both hold exactly what the engine did."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import tradewind
from tradewind.core.orders import OrderStatus
from tradewind.data.bundled import load_bundled
from tradewind.engine.bus import MessageBus
from tradewind.engine.memory_repository import InMemoryRepository
from tradewind.engine.recording import RepositoryRecorder
from tradewind.persistence.bots import open_bot


def test_backtest_events_recorded_in_memory_and_sql(tmp_path: Path) -> None:
    frame, _ = load_bundled()
    frame = frame.iloc[:6000]
    bot = open_bot("recorder", bots_dir=tmp_path)
    memory = InMemoryRepository()
    bus = MessageBus()
    with bot.repository() as sql:
        RepositoryRecorder(memory).attach(bus)
        RepositoryRecorder(sql).attach(bus)
        result = tradewind.backtest("sma_cross", frame, {"fast": 10, "slow": 30}, cash=100_000,
                                    fee=0.001, bus=bus)  # fmt: skip
        assert len(result.orders) >= 10  # not vacuous
        for repo in (memory, sql):
            stored = {o.client_id: o for o in repo.load_orders()}
            assert list(stored) == list(result.orders["client_id"])
            for row in result.orders.itertuples(index=False):
                order = stored[row.client_id]
                assert order.status.value == row.status
                assert float(order.filled_quantity) == row.filled
                statuses = [t.status for t in repo.load_transitions(row.client_id)]
                assert statuses[:2] == [OrderStatus.NEW, OrderStatus.SUBMITTED]
                assert statuses[-1].value == row.status
                if order.status is OrderStatus.FILLED:
                    assert sum((f.quantity for f in order.fills), Decimal(0)) == order.quantity
