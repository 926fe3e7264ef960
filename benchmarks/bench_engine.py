"""Backtest speed: the event engine and the screening kernel on W1 (SMA 10/30 cross, long only,
all in, 0.1% fee, next-open fills), against vectorbt and backtesting.py measured in the same run.

Every row first checks the result it times (W1's 945 trades on the month).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import Row, best_time
from benchmarks.workloads import MONTH, bootstrapped, month
from tradewind.backtest import backtest
from tradewind.backtest.result import BacktestResult
from tradewind.indicators.overlap import sma
from tradewind.sim import layout, sweep
from tradewind.strategies.base import TIE_TOLERANCE, crossed_above, crossed_below
from tradewind.testing.shared_data import shared_data_dir

ROOT = Path(__file__).resolve().parents[1]
VBT_PYTHON = ROOT / ".bench-venv-vbt" / "bin" / "python"
W1_TRADES = 945


def _settings(annualization: float = 525_600.0) -> np.ndarray:
    settings = np.zeros(layout.SETTINGS_SIZE)
    settings[layout.CASH] = 100_000.0
    settings[layout.FEE] = 0.001
    settings[layout.LOT] = 1e-8
    settings[layout.TICK] = 0.5
    settings[layout.ANNUALIZATION] = annualization
    return settings


def _kernel_w1(
    open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, settings: np.ndarray
) -> np.ndarray:
    """End to end: both SMAs, the crossings, the simulation and the metrics."""
    fast, slow = sma(close, 10), sma(close, 30)
    equity, count = sweep.long_only(
        open_, high, low, close, crossed_above(fast, slow), crossed_below(fast, slow), 0, settings
    )
    return sweep.metrics(equity, 0, settings[layout.ANNUALIZATION], count)


def _vectorbt(quick: bool) -> tuple[float | None, str]:
    """vectorbt's W1 time on the month, from its own virtualenv (its plotly pin clashes with ours)."""
    if not VBT_PYTHON.exists():
        return None, "vectorbt venv missing (make bench creates .bench-venv-vbt)"
    root = shared_data_dir()
    assert root is not None
    out = subprocess.run(
        [str(VBT_PYTHON), str(ROOT / "benchmarks" / "peers" / "vectorbt_w1.py"), str(root / "candles" / MONTH)],
        capture_output=True, text=True, check=True, timeout=600,
    ).stdout  # fmt: skip
    fields = dict(part.split("=") for part in out.split())
    if int(fields["trades"]) != W1_TRADES:
        raise AssertionError(f"vectorbt made {fields['trades']} trades, not {W1_TRADES}")
    return float(fields["seconds"]), f"vectorbt final equity {float(fields['final_equity']):.2f}"


def _backtesting_py() -> tuple[float, int]:
    """backtesting.py on W1 with the same rules (its per-bar Python loop), time and trades."""
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    frame = month().set_index("date")
    frame.columns = [c.capitalize() for c in frame.columns]

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, 10)
            self.slow = self.I(sma, self.data.Close, 30)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()

    test = Backtest(frame, SmaCross, cash=100_000, commission=0.001, finalize_trades=False)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # It warns on every order its all-in sizing cannot afford; the count is reported instead.
        warnings.simplefilter("ignore")
        stats = test.run()
    return time.perf_counter() - start, int(stats["# Trades"])


def run(quick: bool) -> list[Row]:
    """W1 through both engines and the peers; see the module docstring."""
    rows: list[Row] = []
    frame = month()
    n = len(frame)
    result = backtest("sma_cross", frame, cash=100_000, fee=0.001, symbol="BTC/USD")
    assert result.metrics["trade_count"] == W1_TRADES, result.metrics["trade_count"]
    event = best_time(lambda: backtest("sma_cross", frame, cash=100_000, fee=0.001, symbol="BTC/USD"),
                      repeat=2 if quick else 3, min_time=0.0)  # fmt: skip
    vbt_seconds, vbt_note = _vectorbt(quick)
    rows.append(Row("engine", "W1 event engine, month (45k), candles/s", n / event, "candles/s",
                    "vectorbt", None if vbt_seconds is None else n / vbt_seconds, True,
                    ">= 1M/s", f"945 trades, Decimal accounting; {vbt_note}"))  # fmt: skip
    bt_seconds, bt_trades = _backtesting_py()
    rows.append(Row("engine", "W1 event engine vs backtesting.py", n / event, "candles/s",
                    "backtesting.py", n / bt_seconds, True, "",
                    f"backtesting.py made {bt_trades} trades (its own fill rules)"))  # fmt: skip
    per_trip = event / W1_TRADES
    rows.append(Row("engine", "W1 event engine: time per round trip (all work / 945)", per_trip, "s",
                    target="<= 20 us", note="upper bound: includes signals, equity and metrics"))  # fmt: skip

    o, h, lo, c = (frame[k].to_numpy() for k in ("open", "high", "low", "close"))
    settings = _settings()
    metrics = _kernel_w1(o, h, lo, c, settings)
    assert int(metrics[7]) == W1_TRADES, metrics
    assert abs(metrics[0] - result.metrics["final_equity"]) <= 1e-6 * metrics[0]
    k_month = best_time(lambda: _kernel_w1(o, h, lo, c, settings))
    rows.append(Row("kernel", "W1 kernel end to end, month, candles/s", n / k_month, "candles/s",
                    "vectorbt", None if vbt_seconds is None else n / vbt_seconds, True, ">= 10M/s",
                    "SMAs + crossings + simulation + metrics"))  # fmt: skip
    big = bootstrapped(200_000 if quick else 1_000_000)
    bo, bh, bl, bc = (big[k].to_numpy() for k in ("open", "high", "low", "close"))
    reference = backtest(
        "sma_cross", big.iloc[:200_000], cash=100_000, fee=0.001, symbol="BTC/USD", engine="event"
    )
    check = _kernel_w1(bo[:200_000], bh[:200_000], bl[:200_000], bc[:200_000], settings)
    assert int(check[7]) == reference.metrics["trade_count"], (
        check[7],
        reference.metrics["trade_count"],
    )
    k_big = best_time(lambda: _kernel_w1(bo, bh, bl, bc, settings))
    rows.append(Row("kernel", f"W1 kernel end to end, {len(big):,} bootstrapped rows", len(big) / k_big,
                    "candles/s", target=">= 50M/s",
                    note="trade count checked against the event engine on 200k rows"))  # fmt: skip
    rows.append(_public_kernel_path(big, vbt_seconds, n))
    rows.append(_sweep(o, h, lo, c, settings, quick))
    rows.append(_first_call())
    return rows


def _public_kernel_path(big: pd.DataFrame, vbt_seconds: float | None, month_rows: int) -> Row:
    """``tradewind.backtest(..., engine="kernel")`` end to end on the bootstrapped rows: reading
    the frame, the tick, the grid, signals, the kernel, the metrics and the result (the data's
    hash and the report's frames are built when read, so not here)."""

    def public() -> BacktestResult:
        return backtest(
            "sma_cross", big, cash=100_000, fee=0.001, symbol="BTC/USD", engine="kernel"
        )

    first = public()
    event = backtest(
        "sma_cross", big.iloc[:200_000], cash=100_000, fee=0.001, symbol="BTC/USD", engine="event"
    )
    head = backtest(
        "sma_cross", big.iloc[:200_000], cash=100_000, fee=0.001, symbol="BTC/USD", engine="kernel"
    )
    assert head.metrics["trade_count"] == event.metrics["trade_count"]
    assert abs(head.metrics["final_equity"] - event.metrics["final_equity"]) <= 1e-6 * abs(
        event.metrics["final_equity"]
    )
    assert first.metrics["trade_count"] > 0
    seconds = best_time(public)
    rows = len(big)
    vbt_rate = None if vbt_seconds is None else month_rows / vbt_seconds
    return Row("kernel", f"tradewind.backtest(engine='kernel') end to end, {rows:,} rows, candles/s",
               rows / seconds, "candles/s", "vectorbt (month)", vbt_rate, True, ">= 40M/s",
               "the public call; checked against the event engine on 200k rows")  # fmt: skip


def _sweep(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, settings: np.ndarray, quick: bool
) -> Row:
    """A grid of SMA pairs in one call: each SMA computed once, crossings made inside the kernel."""
    grid = [(f, s) for f in range(2, 60) for s in range(f + 5, f + 200) if (f, s) != (10, 30)]
    pairs = [(10, 30), *grid][: 1_000 if quick else 10_000]
    start = time.perf_counter()
    periods = sorted({p for pair in pairs for p in pair})
    column = {p: k for k, p in enumerate(periods)}
    lines = np.empty((len(c), len(periods)))
    for p in periods:
        lines[:, column[p]] = sma(c, p)
    fast = np.array([column[f] for f, _ in pairs])
    slow = np.array([column[s] for _, s in pairs])
    table = sweep.simulate_crossings(o, h, lo, c, lines, fast, slow, 0, settings, TIE_TOLERANCE)
    elapsed = time.perf_counter() - start
    assert int(table[0, 7]) == W1_TRADES  # the first set is W1 itself
    return Row("kernel", f"sweep of {len(pairs):,} SMA pairs on the month, sets/s",
               len(pairs) / elapsed, "sets/s", target=">= 2,000 sets/s",
               note="all SMAs + crossings + simulation + metrics, 2-core prange")  # fmt: skip


def _first_call() -> Row:
    """Time the first kernel call in a fresh process, with the on-disk compilation cache warm."""
    code = (
        "import time; t=time.perf_counter();"
        "import numpy as np; from tradewind.sim import layout, sweep;"
        "s=np.zeros(layout.SETTINGS_SIZE); s[0]=1e5; s[1]=0.001; s[6]=1e-8; s[7]=0.5; s[9]=525600;"
        "o=np.linspace(100,200,1000); e=np.zeros(1000,bool); e[5]=True; x=np.zeros(1000,bool); x[50]=True;"
        "q,n=sweep.long_only(o,o,o,o,e,x,0,s); sweep.metrics(q,0,525600.0,n);"
        "print(time.perf_counter()-t)"
    )
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    seconds = float(done.stdout)
    return Row("kernel", "first call in a fresh process (warm disk cache), incl. imports", seconds,
               "s", target="< 1 s", note="vectorbt's cold call: 4-18 s (the issue's figure)")  # fmt: skip
