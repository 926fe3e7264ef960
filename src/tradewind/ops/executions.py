"""What the bot's database holds of its executions, for the operator interfaces: the parent
orders as they were written ahead, and the execution costs of every order and parent
(:mod:`tradewind.persistence.execution`), over every session of the bot."""

from __future__ import annotations

from typing import Any

from tradewind.persistence.bots import BotDatabase
from tradewind.persistence.execution import ExecutionStore

__all__ = ["parent_rows", "stored_costs"]


def stored_costs(bot: BotDatabase) -> dict[str, Any]:
    """The stored execution costs aggregated by strategy, venue, algorithm and kind (order or
    parent): quantity-weighted means in bps of the arrival mid, with counts."""
    return ExecutionStore(bot.engine, bot.bot_id).summary()


def parent_rows(bot: BotDatabase, *, working_only: bool = False) -> list[dict[str, Any]]:
    """The bot's parent orders (only the working ones with ``working_only``), oldest first."""
    rows = []
    for stored in ExecutionStore(bot.engine, bot.bot_id).parents(working_only=working_only):
        p = stored.parent
        rows.append({
            "parent_id": p.parent_id, "strategy": p.strategy_id, "symbol": p.symbol,
            "side": p.side.value, "algo": p.spec.algo.value, "quantity": str(p.quantity),
            "filled": str(p.filled_quantity), "children": stored.children,
            "status": p.status.value, "reason": p.reason, "created": p.created_ts,
            "ended": p.ended_ts,
        })  # fmt: skip
    return rows
