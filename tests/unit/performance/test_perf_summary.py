"""summarize(): stable keys, values equal to empyrical and to the public functions; monthly table."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import empyrical
import numpy as np
import pandas as pd
import pytest
from perf_curves import ANNUALISED, PLAIN, Candles, same, sma_cross_equity, sma_cross_trades

from tradewind.core.errors import DataError, UserError
from tradewind.core.timeframe import Timeframe
from tradewind.performance import (
    SUMMARY_KEYS,
    buy_and_hold_equity,
    buy_and_hold_metrics,
    max_drawdown_duration,
    metrics,
    monthly_returns,
    periods_per_year,
    simple_returns,
    summarize,
)
from tradewind.performance.summary import BENCHMARK_KEYS

MINUTE = 60_000


def empyrical_metrics(equity: np.ndarray, annualization: float) -> dict[str, float]:
    returns = simple_returns(equity)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ANNUALISED:
            out[name] = float(getattr(empyrical, name)(returns, annualization=annualization))
        for name in PLAIN:
            out[name] = float(getattr(empyrical, name)(returns))
        out["total_return"] = float(empyrical.cum_returns_final(returns))
    return out


def test_summary_equals_empyrical_for_strategy_and_benchmark(candles: Candles) -> None:
    equity = sma_cross_equity(candles.close)
    trades = sma_cross_trades(candles, equity)
    summary = summarize(equity, candles.ts, trades, close=candles.close)
    annualization = periods_per_year(candles.bar_ms)
    assert summary["annualization"] == annualization
    for prefix, curve in (("", equity), ("benchmark_", candles.close)):
        for name, expected in empyrical_metrics(curve, annualization).items():
            got = summary[prefix + name]
            assert isinstance(got, float)
            assert same(got, expected), (prefix + name, got, expected)


def test_summary_has_the_same_keys_in_the_same_order_every_time(btc_perp: Candles) -> None:
    equity = sma_cross_equity(btc_perp.close)
    with_all = summarize(equity, btc_perp.ts, sma_cross_trades(btc_perp, equity), btc_perp.close)
    bare = summarize(equity, btc_perp.ts)
    short = summarize(equity[:1], btc_perp.ts[:1], timeframe_ms=MINUTE)
    assert tuple(with_all) == tuple(bare) == tuple(short) == SUMMARY_KEYS
    assert all(math.isnan(float(bare[key])) for key in (*BENCHMARK_KEYS, "excess_return"))
    assert bare["trade_count"] == 0
    assert bare["exposure_time"] == 0.0
    assert all(isinstance(v, float | int | str) for v in with_all.values())


def test_summary_states_the_run_and_its_annualisation(btc_perp: Candles) -> None:
    summary = summarize(btc_perp.close, btc_perp.ts, close=btc_perp.close)
    assert summary["start"] == "2021-12-31T23:01:00Z"
    assert summary["bars"] == 45_031
    assert summary["timeframe"] == "1m"
    assert summary["bars_per_day"] == 1440.0
    assert summary["annualization"] == 525_600.0
    assert summary["annualization_basis"] == "365 days x 1440 bars per day (a market open 24/7)"
    assert summary["excess_return"] == 0.0  # buy-and-hold against itself
    duration = max_drawdown_duration(btc_perp.close, btc_perp.ts)
    assert summary["max_drawdown_duration_bars"] == duration.bars
    assert summary["max_drawdown_duration_seconds"] == duration.duration.total_seconds()


def test_timestamps_may_be_datetimes_and_the_timeframe_given(btc_perp: Candles) -> None:
    times = pd.to_datetime(btc_perp.ts, unit="ms", utc=True)
    a = summarize(btc_perp.close, times, timeframe_ms=Timeframe.parse("1m"))
    b = summarize(btc_perp.close, btc_perp.ts)
    assert a.keys() == b.keys()
    assert all(same(a[k], b[k]) if isinstance(a[k], float) else a[k] == b[k] for k in a)
    assert summarize(btc_perp.close, btc_perp.ts, timeframe_ms=3_600_000)["annualization"] == 8760


SHORT_CURVES = {
    "one_bar": [100.0],
    "two_bars": [100.0, 101.0],
    "three_bars": [100.0, 99.0, 101.0],
    "four_bars": [100.0, 99.0, 101.0, 98.0],
    "flat": [100.0] * 6,
    "steady_gain": [100.0 * 1.01**i for i in range(6)],
    "wiped_out": [100.0, 120.0, 0.0, 0.0, 0.0],
}


@pytest.mark.parametrize("case", list(SHORT_CURVES))
def test_short_and_degenerate_curves_match_the_public_functions(case: str) -> None:
    equity = np.array(SHORT_CURVES[case])
    times = np.arange(equity.size, dtype=np.int64) * MINUTE
    summary = summarize(equity, times, timeframe_ms=MINUTE)
    returns = simple_returns(equity)
    for name in ANNUALISED:
        assert same(summary[name], getattr(metrics, name)(returns, 525_600.0)), name
    for name in PLAIN:
        assert same(summary[name], getattr(metrics, name)(returns)), name
    for name, expected in empyrical_metrics(equity, 525_600.0).items():
        assert same(summary[name], expected), name


def test_buy_and_hold_scales_the_close(btc_perp: Candles) -> None:
    equity = buy_and_hold_equity(btc_perp.close, 50_000.0)
    assert equity[0] == 50_000.0
    assert equity[-1] == pytest.approx(50_000.0 * btc_perp.close[-1] / btc_perp.close[0])
    bench = buy_and_hold_metrics(btc_perp.close, btc_perp.ts)
    assert bench["initial_equity"] == 1.0
    assert same(bench["sharpe_ratio"], empyrical_metrics(btc_perp.close, 525_600.0)["sharpe_ratio"])


def test_monthly_returns_equal_empyrical_aggregation(btc_perp: Candles) -> None:
    equity = sma_cross_equity(btc_perp.close)
    table = monthly_returns(equity, btc_perp.ts)
    returns = pd.Series(
        simple_returns(equity), index=pd.to_datetime(btc_perp.ts[1:], unit="ms", utc=True)
    )
    expected = empyrical.aggregate_returns(returns, "monthly")
    assert list(table.index) == [2021, 2022]
    assert list(table.columns) == list(range(1, 13))
    got = table.stack().dropna()
    assert list(got.index) == list(expected.index)  # (2021, 12), (2022, 1), (2022, 2)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-9)
    assert table.isna().sum().sum() == 24 - 3


def test_monthly_returns_by_hand() -> None:
    times = pd.to_datetime(
        ["2022-01-30", "2022-01-31", "2022-02-01", "2022-02-28", "2022-04-01"], utc=True
    )
    table = monthly_returns([100.0, 110.0, 99.0, 108.9, 0.0], times)
    assert table.loc[2022, 1] == pytest.approx(0.1)
    assert table.loc[2022, 2] == pytest.approx(-0.01)  # 110 -> 108.9
    assert math.isnan(table.loc[2022, 3])
    assert table.loc[2022, 4] == -1.0
    assert monthly_returns([100.0], times[:1]).shape == (0, 12)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda c: summarize(c.close, c.ts[:-1]), UserError, "has 45030 values but equity"),
        (lambda c: summarize(c.close, c.ts[::-1]), DataError, "strictly increasing"),
        (lambda c: summarize(np.zeros(5), c.ts[:5]), DataError, "positive initial equity"),
        (lambda c: summarize(c.close, c.ts, close=c.close[:10]), UserError, "10 values"),
        (lambda c: summarize(c.close[:1], c.ts[:1]), UserError, "pass timeframe_ms"),
        (lambda c: summarize(c.close, c.ts, close=-c.close), DataError, "close is not positive"),
    ],
)
def test_bad_input_gets_a_specific_error(
    btc_perp: Candles, call: Callable[[Candles], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call(btc_perp)
