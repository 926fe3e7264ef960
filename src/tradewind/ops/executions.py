"""What the bot's database holds of its executions, for the operator interfaces: the parent
orders as they were written ahead, and the execution costs of every order and parent
(:mod:`tradewind.persistence.execution`), over every session of the bot."""

from __future__ import annotations

import math
from typing import Any

from tradewind.persistence.bots import BotDatabase
from tradewind.persistence.execution import ExecutionStore

__all__ = ["parent_rows", "stored_costs"]


def stored_costs(bot: BotDatabase) -> dict[str, Any]:
    """The stored execution costs aggregated by strategy, venue, algorithm and kind (order or
    parent): quantity-weighted means in bps of the arrival mid, with counts."""
    return ExecutionStore(bot.engine, bot.bot_id).summary()


def parent_rows(bot: BotDatabase, *, working_only: bool = False) -> list[dict[str, Any]]:
    """The bot's parent orders (only the working ones with ``working_only``), oldest first.

    Each row has what its children filled of it (``fill_pct``, percent of its quantity) and,
    once it ended and its costs were recorded, its implementation shortfall and total cost in
    bps of its arrival mid (None before: a working parent has no measured cost yet).
    """
    store = ExecutionStore(bot.engine, bot.bot_id)
    measured = {r.execution_id: r for r in store.costs() if r.kind == "parent"}
    rows = []
    for stored in store.parents(working_only=working_only):
        p = stored.parent
        cost = measured.get(p.parent_id)
        fill_pct = float(p.filled_quantity / p.quantity * 100) if p.quantity else 0.0
        rows.append({
            "parent_id": p.parent_id, "strategy": p.strategy_id, "symbol": p.symbol,
            "side": p.side.value, "algo": p.spec.algo.value, "quantity": str(p.quantity),
            "filled": str(p.filled_quantity), "fill_pct": fill_pct, "children": stored.children,
            "status": p.status.value, "reason": p.reason, "created": p.created_ts,
            "ended": p.ended_ts,
            "shortfall_bps": _finite(cost.shortfall_bps) if cost is not None else None,
            "total_cost_bps": _finite(cost.total_cost_bps) if cost is not None else None,
        })  # fmt: skip
    return rows


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value
