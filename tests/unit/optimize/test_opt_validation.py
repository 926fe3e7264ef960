"""Lookahead and recursion analysis, Monte Carlo and walk-forward on real candles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.core.errors import UserError
from tradewind.optimize.lookahead import lookahead_analysis, recursive_analysis
from tradewind.optimize.market import Market
from tradewind.optimize.montecarlo import monte_carlo
from tradewind.optimize.walkforward import walk_forward, windows_of
from tradewind.series.bars import BarSeries, FloatArray
from tradewind.strategies.base import Signals, Strategy, crossed_above
from tradewind.strategies.params import Param
from tradewind.strategies.registry import get_strategy, registered_names


class PeeksAtNextClose(Strategy):
    """Deliberately leaky: buys when the *next* bar's close is higher than this one's."""

    name = "peeks_at_next_close"
    span = Param(5, low=2, high=50)

    def indicators(self, bars: BarSeries) -> dict[str, FloatArray]:
        following = np.append(bars.close[1:], np.nan)  # the future, shifted into the present
        return {
            "next_close": following,
            "sma": pd.Series(bars.close).rolling(self.span).mean().to_numpy(),
        }

    def signals(self, bars: BarSeries) -> Signals:
        lines = self.indicators(bars)
        return Signals(entry_long=lines["next_close"] > bars.close,
                       exit_long=crossed_above(lines["sma"], bars.close))  # fmt: skip


@pytest.mark.parametrize("name", registered_names())
def test_every_builtin_passes_lookahead_and_recursive(name: str, week: Market) -> None:
    strategy = get_strategy(name)()
    bars = week.series.head(5_000)
    assert lookahead_analysis(strategy, bars, cuts=10).passed
    report = recursive_analysis(strategy, bars)
    assert report.needs, "every built-in exposes its indicators"
    assert report.passed, [(n.column, n.needed) for n in report.needs]


def test_a_leaky_strategy_is_caught_with_the_column_and_first_bar(week: Market) -> None:
    bars = week.series.head(2_000)
    report = lookahead_analysis(PeeksAtNextClose(), bars, cuts=5)
    assert not report.passed
    leaks = {leak.column: leak for leak in report.leaks}
    assert "next_close" in leaks
    assert "sma" not in leaks
    first_cut = report.cuts[0]
    # Truncated at c bars, bar c - 1 cannot see bar c's close: the earliest visible leak.
    assert leaks["next_close"].first_bar == first_cut - 1
    assert leaks["next_close"].full_value == bars.close[first_cut]
    assert np.isnan(leaks["next_close"].truncated_value)


@pytest.fixture(scope="module")
def week_result(week: Market) -> object:
    return backtest("sma_cross", {week.symbol: week.frame}, {"fast": 20, "slow": 100},
                    **week.backtest_kwargs())  # fmt: skip


def test_trade_shuffle_moves_the_path_not_the_end(week_result: object) -> None:
    common = {"cash": 100_000.0, "annualization": 525_600.0, "paths": 1_000, "seed": 3}
    trades, equity = week_result.trades, week_result.equity  # type: ignore[attr-defined]
    out = monte_carlo(trades, equity, method="shuffle", **common)
    final = float(week_result.metrics["final_equity"])  # type: ignore[attr-defined]
    assert np.allclose(out.final_equity.values, final, rtol=1e-9)
    assert out.max_drawdown.high > out.max_drawdown.low  # the order does change the drawdown
    assert (out.max_drawdown.values <= 0).all()  # the performance module's sign
    again = monte_carlo(trades, equity, method="shuffle", **common)
    assert np.array_equal(out.max_drawdown.values, again.max_drawdown.values)
    deep = monte_carlo(trades, equity, method="shuffle", ruin=0.9, **common)
    assert deep.risk_of_ruin <= out.risk_of_ruin


def test_a_path_that_reorders_nothing_reproduces_the_backtest(week_result: object) -> None:
    """Regression (issue 12, item 6): Monte Carlo measured per-trade Sharpe ratios and a positive
    drawdown, so even the backtest's own path disagreed with the backtest's metrics."""
    metrics = week_result.metrics  # type: ignore[attr-defined]
    out = monte_carlo(week_result.trades, week_result.equity, method="skip", skip=0.0,  # type: ignore[attr-defined]
                      cash=100_000.0, annualization=525_600.0, paths=5, seed=0)  # fmt: skip
    assert np.allclose(out.sharpe.values, metrics["sharpe_ratio"], rtol=0, atol=1e-12)
    assert np.allclose(out.max_drawdown.values, metrics["max_drawdown"], rtol=0, atol=1e-12)
    assert np.allclose(out.final_equity.values, metrics["final_equity"], rtol=1e-12)


def test_bootstrap_skip_and_block_give_intervals(week_result: object) -> None:
    result = week_result
    common = {"cash": 100_000.0, "annualization": 525_600.0, "paths": 1_000, "seed": 1}
    for method in ("bootstrap", "skip", "block"):
        out = monte_carlo(result.trades, result.equity, method=method, **common)  # type: ignore[attr-defined]
        assert out.final_equity.values.shape == (1_000,)
        assert out.final_equity.low <= out.final_equity.median <= out.final_equity.high
        assert 0.0 <= out.risk_of_ruin <= 1.0
        assert list(out.fan.columns) == ["p5", "p25", "p50", "p75", "p95"]
    with pytest.raises(UserError, match="unknown Monte Carlo method"):
        monte_carlo(result.trades, result.equity, method="jackknife", **common)  # type: ignore[attr-defined]


def test_walk_forward_trades_only_inside_test_windows(week: Market) -> None:
    assert windows_of(100, 40, 20, 20, anchored=False) == [(0, 40, 40, 60), (20, 60, 60, 80),
                                                           (40, 80, 80, 100)]  # fmt: skip
    assert windows_of(100, 40, 30, 30, anchored=True)[1] == (0, 70, 70, 100)
    result = walk_forward("sma_cross", week, train="2d", test="1d", sampler="random", trials=6,
                          space={"fast": "5:20", "slow": "30:90", "short": "false"})  # fmt: skip
    assert len(result.windows) == 5
    for window in result.windows:
        if window.first_trade is not None:
            assert window.first_trade >= window.times["test_start"]
    assert result.oos_equity.iloc[0] == pytest.approx(100_000.0, rel=1e-3)
    assert result.oos_equity.index.is_monotonic_increasing
    assert set(result.stability) == {"fast", "slow"}
