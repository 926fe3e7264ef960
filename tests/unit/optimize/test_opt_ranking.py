"""What the optimiser and walk-forward may rank (issue 12, items 4 and 10): enough closed trades,
no faulted run, and no parameter that cannot act on the market."""

from __future__ import annotations

import math
import warnings

import pytest

from tradewind.core.errors import UserError
from tradewind.core.strict_json import dumps
from tradewind.optimize.evaluate import Evaluator
from tradewind.optimize.market import Market
from tradewind.optimize.search import optimize
from tradewind.optimize.space import build_space
from tradewind.optimize.walkforward import walk_forward
from tradewind.strategies.registry import get_strategy

SPACE = {"fast": "5:8", "slow": "30:40:5"}


def test_a_spot_market_fixes_short_and_says_so(week: Market) -> None:
    space = build_space(get_strategy("sma_cross"), {}, can_short=False, market="BTC-PERP")
    assert "short" not in space.names
    assert space.fixed["short"] is False
    assert "BTC-PERP is spot and cannot be sold short" in space.notes["short"]
    with pytest.raises(UserError, match="'short' cannot act on BTC-PERP"):
        build_space(get_strategy("sma_cross"), {"short": "true,false"}, can_short=False,
                    market="BTC-PERP")  # fmt: skip
    # The week is traded as spot: the search leaves short out and reports why.
    result = optimize("sma_cross", week, sampler="random", trials=4, space=SPACE,
                      storage="memory", top_n=0, min_trades=0)  # fmt: skip
    assert result.space == ["fast", "slow"]
    assert "short" in result.summary()["fixed_parameters"]


def test_only_trials_with_enough_closed_trades_are_ranked(week: Market) -> None:
    result = optimize("sma_cross", week, sampler="grid", trials=None, space=SPACE,
                      storage="memory", top_n=1)  # fmt: skip
    counts = result.trials.set_index("number")["trade_count"]
    assert result.min_trades == 30
    assert result.insufficient == int((counts < 30).sum())
    assert all(counts[b["number"]] >= 30 for b in result.best)
    # Every trial carries its health (kernel-scored here).
    assert result.trials["health"].str.startswith("health: ok - screening kernel").all()
    # Nothing has a million trades: nothing is ranked, nothing re-run, no DSR of a non-choice.
    none = optimize("sma_cross", week, sampler="grid", trials=None, space=SPACE,
                    storage="memory", top_n=1, min_trades=1_000_000)  # fmt: skip
    assert none.best == []
    assert none.parity == []
    assert none.deflated_sharpe is None
    assert none.insufficient == len(none.trials) == 12
    assert none.summary()["insufficient_trials"] == 12


def test_a_run_with_problems_is_never_scored(week: Market) -> None:
    # A stake below one lot: every entry is denied, so the trial earned nothing it could report.
    evaluator = Evaluator(get_strategy("sma_cross"), week, fixed={"short": False},
                          risk={"sizing": {"model": "fixed_quote", "amount": "0.0000001"}})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluation = evaluator.evaluate([{"fast": 5, "slow": 30}])
    assert evaluation.errors[0] is not None
    assert evaluation.errors[0].startswith("the run had problems: ")


def test_walk_forward_windows_without_enough_trades_are_insufficient(week: Market) -> None:
    result = walk_forward("sma_cross", week, train="2d", test="1d", sampler="random", trials=4,
                          space=SPACE, min_oos_trades=1_000_000)  # fmt: skip
    assert result.windows
    assert {w.status for w in result.windows} == {"insufficient"}
    assert all("closed trades out of sample" in w.reason for w in result.windows)
    assert all(math.isnan(w.efficiency) for w in result.windows)
    # No window counts, so the efficiencies are n/a (null in JSON), not a ratio of noise.
    assert math.isnan(result.efficiency)
    assert math.isnan(result.objective_efficiency)
    summary = result.summary()
    assert summary["insufficient_windows"] == len(result.windows)
    assert '"walk_forward_efficiency": null' in dumps(summary)


def test_walk_forward_efficiency_uses_the_sufficient_windows_only(week: Market) -> None:
    result = walk_forward("sma_cross", week, train="2d", test="1d", sampler="random", trials=4,
                          space=SPACE, min_trades=0, min_oos_trades=0)  # fmt: skip
    ok = [w for w in result.windows if w.status == "ok"]
    assert ok
    top = sum(w.out_of_sample["annual_return"] for w in ok) / len(ok)
    bottom = sum(w.in_sample["annual_return"] for w in ok) / len(ok)
    if bottom > 0:
        assert result.efficiency == pytest.approx(top / bottom)
    else:
        assert math.isnan(result.efficiency)
    for w in ok:
        if w.in_sample["annual_return"] <= 0:
            assert math.isnan(w.efficiency)
        else:
            assert w.efficiency == pytest.approx(
                w.out_of_sample["annual_return"] / w.in_sample["annual_return"]
            )
