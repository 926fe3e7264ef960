"""A circuit breaker that refuses new exposure stops the parent orders that add it, with its name,
while the reduce-only ones go on: the risk engine over real BTC minutes, every order a TWAP."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from ops_bot import make_bot

from tradewind.core.algo_spec import parse_algo
from tradewind.execution.parent import ParentStatus
from tradewind.risk.config import BreakerConfig


@pytest.mark.parametrize(
    ("breakers", "name"),
    [
        (BreakerConfig(daily_loss=0.002), "breaker daily_loss"),
        (BreakerConfig(crash_drop=0.003, crash_window=10, cooldown_bars=30), "breaker crash"),
    ],
)
def test_a_breaker_cancels_adding_parents_and_lets_exits_finish(
    minutes: pd.DataFrame, tmp_path: Path, breakers: BreakerConfig, name: str
) -> None:
    bot = make_bot(minutes, tmp_path, breakers=breakers,
                   execution=parse_algo("twap:horizon=60m,slices=12"))  # fmt: skip
    bot.run()
    parents = bot.node.desk.parents()
    halted = [p for p in parents if p.reason.startswith(name)]
    assert halted, "no breaker tripped while an entry was worked: the test proves nothing"
    for parent in halted:
        assert parent.status is ParentStatus.CANCELED
        assert not parent.reduce_only
        assert parent.ended_ts is not None
        # No child after the halt, and none left open.
        assert all(bot.node.orders[c].created_ts <= parent.ended_ts for c in parent.children)
        assert all(not bot.node.orders[c].is_open for c in parent.children)
    exits = [p for p in parents if p.reduce_only and p.status is not ParentStatus.WORKING]
    assert exits
    assert all(p.status is ParentStatus.DONE for p in exits)  # never canceled by a breaker
