"""Search on the bundled month: grid, TPE with SQLite resume, NSGA-II, fallback, engine parity."""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from tradewind.core.errors import UserError
from tradewind.core.intents import IntentAction
from tradewind.data.bundled import BUNDLED_SYMBOL
from tradewind.optimize.evaluate import (
    EngineMismatchError,
    Evaluator,
    KernelFallbackWarning,
    verify_on_event_engine,
)
from tradewind.optimize.market import Market, prepare_market
from tradewind.optimize.objectives import resolve_objective
from tradewind.optimize.search import optimize, pareto_front
from tradewind.optimize.space import build_space
from tradewind.series.bars import BarSeries
from tradewind.strategies import Param, Strategy, StrategyContext
from tradewind.strategies.registry import get_strategy

SMALL = {"fast": "5:8", "slow": "30:40:5", "short": "false"}


def test_space_comes_from_declared_params_and_overrides() -> None:
    space = build_space(get_strategy("sma_cross"), SMALL)
    assert space.names == ["fast", "slow"]
    assert space.fixed == {"short": False}
    assert space.grid_size() == 4 * 3
    with pytest.raises(UserError, match="no parameter 'fsat'"):
        build_space(get_strategy("sma_cross"), {"fsat": "2:3"})
    with pytest.raises(UserError, match="without a step"):
        list(build_space(get_strategy("bb_rsi_meanrev"), {"bb_dev": "1:2"}).grid())


def test_grid_scores_every_point_as_the_kernel_does(week: Market) -> None:
    result = optimize("sma_cross", week, sampler="grid", trials=None, space=SMALL,
                      storage="memory", top_n=2)  # fmt: skip
    assert len(result.trials) == 12
    assert set(result.trials["engine"]) == {"kernel"}
    # Brute force, one kernel call per pair through the evaluator, gives the same best.
    evaluator = Evaluator(get_strategy("sma_cross"), week, fixed={"short": False})
    pairs = [{"fast": f, "slow": s} for f, s in itertools.product(range(5, 9), (30, 35, 40))]
    sharpe = [evaluator.evaluate([p]).metrics[0, 2] for p in pairs]
    assert result.best[0]["params"] == pairs[int(np.argmax(sharpe))]
    assert result.best[0]["values"]["sharpe"] == pytest.approx(max(sharpe), rel=1e-12)
    # The top two were re-run on the event engine, with the same trades and equity.
    assert [p.number for p in result.parity] == [b["number"] for b in result.best[:2]]
    assert all(p.kernel_trades == p.event_trades for p in result.parity)
    assert result.returns.shape == (12, evaluator.periods)


def test_tpe_study_resumes_from_sqlite_in_the_run_dir(week: Market, tmp_path: Path) -> None:
    first = optimize("sma_cross", week, sampler="tpe", trials=8, batch=4, space=SMALL,
                     run_dir=tmp_path, top_n=0)  # fmt: skip
    assert (tmp_path / "study.db").is_file()
    assert (tmp_path / "trials.csv").is_file()
    assert len(first.trials) + first.failed == 8
    second = optimize("sma_cross", week, sampler="tpe", trials=8, batch=4, space=SMALL,
                      run_dir=tmp_path, top_n=0)  # fmt: skip
    assert len(second.trials) + second.failed == 16
    assert set(first.trials["number"]) <= set(second.trials["number"])
    with pytest.raises(UserError, match="was made with strategy='sma_cross'"):
        optimize("ema_cross", week, sampler="tpe", trials=2, run_dir=tmp_path,
                 study_name=second.study_name, space=SMALL)  # fmt: skip


def test_nsga2_reports_a_pareto_front(week: Market) -> None:
    result = optimize("sma_cross", week, sampler="nsga2", trials=20, batch=10,
                      objectives=("sharpe", "drawdown"), space={"fast": "2:20", "slow": "25:80",
                      "short": "false"}, storage="memory", top_n=1)  # fmt: skip
    scores = result.trials[["value_sharpe", "value_drawdown"]].to_numpy() * [1.0, -1.0]
    front = set(result.trials["number"].to_numpy()[pareto_front(scores)])
    assert {b["number"] for b in result.best} == front
    for b in result.best:  # nothing on the front is dominated by any trial
        mine = np.array([b["values"]["sharpe"], -b["values"]["drawdown"]])
        assert not np.any(np.all(scores >= mine, axis=1) & np.any(scores > mine, axis=1))


def test_random_and_cmaes_run_and_keep_per_period_returns(week: Market) -> None:
    for sampler in ("random", "cmaes"):
        result = optimize("ema_cross", week, sampler=sampler, trials=8, batch=4, storage="memory",
                          space={"fast": "3:15", "slow": "20:60", "short": "false"}, top_n=1)  # fmt: skip
        assert len(result.trials) >= 1
        assert np.isfinite(result.returns).all()
        assert result.parity[0].event_trades == result.parity[0].kernel_trades


def test_swap_market_falls_back_to_the_event_engine_with_a_reason(
    bundled_frame: tuple[object, object],
) -> None:
    frame, instrument = bundled_frame
    # A perpetual at 1x without funding is spot-like and runs on the kernel; contracts of 10
    # units are beyond it, so the search must fall back to the event engine and say why.
    sized = dataclasses.replace(instrument, contract_size=Decimal(10))  # type: ignore[type-var]
    perp = prepare_market(frame.iloc[:3_000], symbol=BUNDLED_SYMBOL, timeframe="1m",  # type: ignore[attr-defined]
                          instruments={BUNDLED_SYMBOL: sized}, fee=0.001)  # fmt: skip
    with pytest.warns(KernelFallbackWarning, match="sized contracts"):
        result = optimize("sma_cross", perp, sampler="random", trials=2, space=SMALL,
                          storage="memory", top_n=1)  # fmt: skip
    assert set(result.trials["engine"]) == {"event"}


def test_a_kernel_event_mismatch_fails_loudly(week: Market) -> None:
    evaluator = Evaluator(get_strategy("sma_cross"), week, fixed={"short": False})
    point = {"fast": 10, "slow": 30}
    scored = evaluator.evaluate([point])
    tampered = scored.metrics.copy()
    tampered[0, 7] += 1  # one trade more than the engines make
    with pytest.raises(EngineMismatchError, match="trial 0"):
        verify_on_event_engine(evaluator, [0], [point], tampered, ["kernel"])


def test_objectives_include_drawdown_penalty_and_user_functions(tmp_path: Path) -> None:
    metrics = np.array([[110_000.0, 0.10, 1.5, 2.0, 3.0, -0.20, 0.5, 12.0]])
    assert resolve_objective("profit_dd", drawdown_penalty=0.5)(metrics)[0] == pytest.approx(0.0)
    script = tmp_path / "goal.py"
    script.write_text("def score(m):\n    return m['sharpe_ratio'] * m['trade_count']\n")
    assert resolve_objective(f"{script}:score")(metrics)[0] == pytest.approx(18.0)
    with pytest.raises(UserError, match="unknown objective 'sharp'"):
        resolve_objective("sharp")


class Brittle(Strategy):
    """Trades in and out every 100 bars; with ``limit`` above 10 it raises at bar 500."""

    name = "brittle"
    limit = Param(10, low=5, high=15)

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if i == 500 and self.limit > 10:
            raise RuntimeError("brittle")
        if i % 100 == 0:
            held = ctx.position(bars.symbol)
            action = IntentAction.EXIT_LONG if held > 0 else IntentAction.ENTER_LONG
            ctx.emit(bars.symbol, action)


def test_a_trial_whose_strategy_faults_is_never_ranked(week: Market) -> None:
    evaluator = Evaluator(Brittle, week)
    with pytest.warns(KernelFallbackWarning):
        scored = evaluator.evaluate([{"limit": 8}, {"limit": 12}])
    assert scored.errors[0] is None
    assert np.isfinite(scored.metrics[0]).all()
    assert scored.errors[1] is not None
    assert "faulted in on_bar (error)" in scored.errors[1]
    assert "RuntimeError: brittle" in scored.errors[1]
