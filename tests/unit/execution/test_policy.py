"""The execution policy's rules on the real Bybit XRPUSDT book."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.core.errors import UserError
from tradewind.execution.algos import Algo, AlgoSpec
from tradewind.execution.policy import ExecutionPolicy, Liquidity, liquidity_of
from tradewind.testing.execution_replay import bybit_ticks


def _book_liquidity(volume_per_ms: Decimal) -> Liquidity:
    tick = next(iter(bybit_ticks(1)))
    return liquidity_of(True, tick.bids, tick.asks, Decimal(10), volume_per_ms)


def test_each_rule_on_the_recorded_book(shared_data: object) -> None:
    policy = ExecutionPolicy()
    liq = _book_liquidity(Decimal(50))  # 50,000 XRP a second traded recently
    assert liq.spread_bps < 2  # XRPUSDT trades at a one-tick spread
    assert 0 < liq.best_taking_size <= liq.depth_within_guard
    spec, rule = policy.choose(liq.depth_within_guard, liq)
    assert spec.algo is Algo.MARKET
    assert rule.startswith("rule 2")
    big = liq.depth_within_guard + 1
    spec, rule = policy.choose(big, liq)
    expected = Decimal(50) * policy.horizon_ms * Decimal("0.1")
    assert big <= expected
    assert spec.algo is Algo.TWAP
    assert rule.startswith("rule 4")
    assert spec.slices >= 2
    spec, rule = policy.choose(expected * 2, liq)
    assert spec.algo is Algo.POV
    assert rule.startswith("rule 5")
    spec, rule = policy.choose(expected * 2, liq, urgent_exit=True)
    assert spec.algo is Algo.MARKET
    assert rule.startswith("rule 1")
    named = AlgoSpec(algo=Algo.ICEBERG, visible=Decimal(100))
    assert policy.choose(big, liq, named=named) == (named, "named by the strategy")


def test_a_wide_spread_posts_a_smart_limit() -> None:
    wide = Liquidity(Decimal(8), Decimal(50), Decimal(20), Decimal(10), Decimal(1))
    spec, rule = ExecutionPolicy().choose(Decimal(15), wide)
    assert spec.algo is Algo.SMART_LIMIT
    assert rule.startswith("rule 3")
    assert spec.chase_bps == 8


def test_an_empty_book_side_is_refused() -> None:
    with pytest.raises(UserError, match="empty side"):
        liquidity_of(True, [], [(Decimal(1), Decimal(1))], Decimal(10), Decimal(0))
    with pytest.raises(UserError, match="pov_share"):
        ExecutionPolicy(pov_share=0)
