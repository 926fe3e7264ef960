"""Performance metrics on a 1,000,000-bar equity curve against empyrical-reloaded.

The curve is synthetic, only for scale: one-minute closes made by block-bootstrapping (blocks of a
day, fixed seed) the demeaned log returns of the real BTC-perp month, so prices stay in range,
then traded long/flat on an SMA(10/30) cross paying 0.1 % per position change, which gives an
equity curve with flat stretches and a few ten thousand trades.

Rows (each checked against empyrical to 1e-9 before it is timed):

- ``summarize``: our whole summary (ten return metrics and drawdown duration for the strategy and
  for buy-and-hold, trade statistics, exposure) against empyrical computing just the ten return
  metrics for the same two curves, from the equity curves (``simple_returns`` included);
- ``10 metrics``: our ten public metric functions against empyrical's, one call each, on the
  strategy's returns.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import empyrical
import numpy as np
import pandas as pd

from benchmarks.common import Row, best_time
from tradewind.performance import metrics, simple_returns, summarize
from tradewind.testing.shared_data import shared_data_dir

GROUP = "performance"
MINUTE = 60_000
PER_YEAR = 525_600.0
SEED = 20220201
FEE = 0.001

ANNUALISED = ("annual_return", "annual_volatility", "sharpe_ratio", "sortino_ratio", "calmar_ratio")
PLAIN = (
    "max_drawdown",
    "value_at_risk",
    "conditional_value_at_risk",
    "tail_ratio",
    "stability_of_timeseries",
)


def _real_log_returns() -> np.ndarray:
    root = shared_data_dir()
    if root is None:
        raise RuntimeError(
            "shared real data not found (set TRADEWIND_SHARED_DATA): the benchmark bootstraps "
            "the BTC-perp month"
        )
    close = pd.read_csv(root / "candles" / "btc-perp-20211231-20220201_1m.csv")["close"]
    log_returns = np.diff(np.log(close.to_numpy(np.float64)))
    return log_returns - log_returns.mean()


def synthetic_close(bars: int) -> np.ndarray:
    """Closes from day-long blocks of the real month's demeaned log returns (fixed seed)."""
    source = _real_log_returns()
    block = 1440
    rng = np.random.default_rng(SEED)
    starts = rng.integers(0, source.size - block, size=bars // block + 1)
    steps = (source[starts[:, None] + np.arange(block)]).ravel()[: bars - 1]
    return 40_000.0 * np.exp(np.concatenate(([0.0], np.cumsum(steps))))


def _sma(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(values.size, np.nan)
    sums = np.cumsum(np.insert(values, 0, 0.0))
    out[window - 1 :] = (sums[window:] - sums[:-window]) / window
    return out


def sma_cross_run(close: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
    """Equity and closed trades of a long/flat SMA(10/30) cross, positions held from the next bar."""
    fast, slow = _sma(close, 10), _sma(close, 30)
    pos = np.where(np.isfinite(slow) & (fast > slow), 1.0, 0.0)
    held = np.concatenate(([0.0], pos[:-1]))
    market = np.concatenate(([0.0], close[1:] / close[:-1] - 1.0))
    changed = np.abs(np.diff(np.insert(held, 0, 0.0)))
    equity = 100_000.0 * np.cumprod((1.0 + held * market) * (1.0 - FEE * changed))
    edges = np.diff(np.concatenate(([0.0], held, [0.0])))
    starts = np.flatnonzero(edges > 0)
    stops = np.minimum(np.flatnonzero(edges < 0), held.size - 1)
    trades = pd.DataFrame(
        {
            "symbol": "BTC-PERP",
            "side": "long",
            "entry_time": pd.to_datetime(ts[starts], unit="ms", utc=True).as_unit("ms"),
            "exit_time": pd.to_datetime(ts[stops], unit="ms", utc=True).as_unit("ms"),
            "entry_price": close[starts - 1],
            "exit_price": close[stops],
            "quantity": 1.0,
            "fees": 0.0,
            "pnl": equity[stops] - equity[starts - 1],
        }
    )
    return equity, trades


def _empyrical_metrics(equity: np.ndarray) -> dict[str, float]:
    return _empyrical_on_returns(empyrical.simple_returns(equity))


def _empyrical_on_returns(returns: np.ndarray) -> dict[str, float]:
    out = {
        name: float(getattr(empyrical, name)(returns, annualization=PER_YEAR))
        for name in ANNUALISED
    }
    out |= {name: float(getattr(empyrical, name)(returns)) for name in PLAIN}
    return out


def _ours_metrics(returns: np.ndarray) -> dict[str, float]:
    out = {name: getattr(metrics, name)(returns, PER_YEAR) for name in ANNUALISED}
    out |= {name: getattr(metrics, name)(returns) for name in PLAIN}
    return out


def _check(label: str, ours: dict[str, float], theirs: dict[str, float]) -> None:
    for name, expected in theirs.items():
        got = float(ours[name])
        if not math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-15):
            raise AssertionError(f"{label} {name}: ours {got!r} != empyrical {expected!r}")


def _time(fn: Callable[[], object], quick: bool) -> float:
    return best_time(fn, repeat=3 if quick else 5, min_time=0.2 if quick else 0.5)


def run(quick: bool) -> list[Row]:
    """Check summary and metrics against empyrical on a 1M-bar curve, then time both."""
    bars = 200_000 if quick else 1_000_000
    close = synthetic_close(bars)
    ts = np.arange(bars, dtype=np.int64) * MINUTE + 1_640_995_200_000
    equity, trades = sma_cross_run(close, ts)
    returns = simple_returns(equity)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = summarize(equity, ts, trades, close=close, timeframe_ms=MINUTE)
        theirs_strategy = _empyrical_metrics(equity)
        theirs_benchmark = _empyrical_metrics(close)
        _check("summary", summary, theirs_strategy)  # type: ignore[arg-type]
        _check(
            "summary benchmark",
            {k.removeprefix("benchmark_"): v for k, v in summary.items()},  # type: ignore[misc]
            theirs_benchmark,
        )
        _check("metrics", _ours_metrics(returns), theirs_strategy)
        if summary["trade_count"] != len(trades) or not 0 < float(summary["exposure_time"]) < 1:
            raise AssertionError(f"trade statistics are off: {summary['trade_count']} trades")

        ours_summary = _time(
            lambda: summarize(equity, ts, trades, close=close, timeframe_ms=MINUTE), quick
        )
        peer_summary = _time(lambda: (_empyrical_metrics(equity), _empyrical_metrics(close)), quick)
        ours_metrics = _time(lambda: _ours_metrics(returns), quick)
        peer_metrics = _time(lambda: _empyrical_on_returns(returns), quick)

    label = f"{bars / 1e6:g}M bars"
    return [
        Row(
            GROUP,
            f"summarize, {label}, {len(trades)} trades",
            ours_summary,
            peer_name="empyrical 10 metrics x 2 curves",
            peer=peer_summary,
            note="ours adds trade stats, exposure, drawdown duration",
        ),
        Row(
            GROUP,
            f"10 metric functions, {label}",
            ours_metrics,
            peer_name="empyrical-reloaded 0.7",
            peer=peer_metrics,
            note="one call per metric, equal to 1e-9",
        ),
    ]
