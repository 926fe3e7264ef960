"""Event-engine paths measured separately: bars/s with no trades, the cost of one order round
trip on a trade-heavy run, a per-bar Python hook against backtesting.py's per-bar loop, and peak
memory of a 20-symbol, 1-year, 1-minute backtest (in a fresh process)."""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from pathlib import Path

from benchmarks.common import Row, best_time
from benchmarks.workloads import month
from tradewind.backtest import backtest
from tradewind.core.intents import IntentAction
from tradewind.indicators.overlap import sma
from tradewind.series.bars import BarSeries
from tradewind.strategies import Param, Signals, Strategy, StrategyContext
from tradewind.strategies.base import crossed_above

ROOT = Path(__file__).resolve().parents[1]


class Never(Strategy):
    """Computes an SMA cross and never acts on it: the cost of bars alone."""

    name = "bench_never"

    def signals(self, bars: BarSeries) -> Signals:
        crossed_above(sma(bars.close, 10), sma(bars.close, 30))
        return Signals()


class HookCross(Strategy):
    """SMA(10/30) cross decided in a per-bar hook, as backtesting.py strategies are written."""

    name = "bench_hook_cross"
    fast = Param(10)
    slow = Param(30)

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if i < self.slow:
            return
        # The hook sees bars 0..i only: the two averages at i and i - 1 from the last closes.
        window = bars.close[i - self.slow : i + 1]
        fast = sma(window[-self.fast - 1 :], self.fast)[-2:]
        slow = sma(window, self.slow)[-2:]
        held = ctx.position(bars.symbol)
        if held == 0 and fast[1] > slow[1] and fast[0] <= slow[0]:
            ctx.emit(bars.symbol, IntentAction.ENTER_LONG)
        elif held > 0 and fast[1] < slow[1] and fast[0] >= slow[0]:
            ctx.emit(bars.symbol, IntentAction.EXIT_LONG)


def _backtesting_py_hook() -> float:
    from backtesting import Backtest
    from backtesting import Strategy as BtStrategy

    frame = month().set_index("date")
    frame.columns = [c.capitalize() for c in frame.columns]

    class Cross(BtStrategy):
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, 10)
            self.slow = self.I(sma, self.data.Close, 30)

        def next(self) -> None:
            f, s = self.fast, self.slow
            if not self.position and f[-1] > s[-1] and f[-2] <= s[-2]:
                self.buy()
            elif self.position and f[-1] < s[-1] and f[-2] >= s[-2]:
                self.position.close()

    test = Backtest(frame, Cross, cash=100_000, commission=0.001, finalize_trades=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        test.run()
        return time.perf_counter() - start


def run(quick: bool) -> list[Row]:
    """See the module docstring."""
    frame = month()
    n = len(frame)
    rows = []
    none = backtest(Never, frame, fee=0.001, symbol="BTC/USD")
    assert none.metrics["trade_count"] == 0
    idle = best_time(
        lambda: backtest(Never, frame, fee=0.001, symbol="BTC/USD"), repeat=3, min_time=0.0
    )
    rows.append(Row("engine paths", "event engine, no trades (indicators, signals, equity, metrics)",
                    n / idle, "candles/s", note="the per-bar cost without orders"))  # fmt: skip
    heavy = backtest("sma_cross", frame, {"fast": 2, "slow": 3}, fee=0.001, symbol="BTC/USD")
    trips = heavy.metrics["trade_count"]
    assert trips > 5_000, trips
    busy = best_time(lambda: backtest("sma_cross", frame, {"fast": 2, "slow": 3}, fee=0.001, symbol="BTC/USD"),
                     repeat=2, min_time=0.0)  # fmt: skip
    rows.append(Row("engine paths", f"order round trip, trade-heavy run ({trips:,} round trips)",
                    (busy - idle) / (2 * trips), "s", target="<= 20 us",
                    note="(run time - no-trade time) / orders: submit, fill, gate, portfolio"))  # fmt: skip
    hooked = backtest(HookCross, frame, fee=0.001, symbol="BTC/USD")
    assert hooked.metrics["trade_count"] == 945
    ours = best_time(
        lambda: backtest(HookCross, frame, fee=0.001, symbol="BTC/USD"), repeat=2, min_time=0.0
    )
    theirs = _backtesting_py_hook()
    rows.append(Row("engine paths", "per-bar Python hook, W1 logic, candles/s", n / ours, "candles/s",
                    "backtesting.py", n / theirs, True, ">= 2x backtesting.py", "945 trades checked"))  # fmt: skip
    rows.append(_memory(quick))
    return rows


def _memory(quick: bool) -> Row:
    symbols = 4 if quick else 20
    script = ROOT / "benchmarks" / "memory_run.py"
    done = subprocess.run([sys.executable, str(script), str(symbols)], capture_output=True, text=True,
                          check=True, cwd=ROOT, timeout=3600)  # fmt: skip
    fields = dict(part.split("=") for part in done.stdout.split())
    peak_gib = float(fields["peak_kib"]) / 2**20
    candles = int(fields["candles"])
    return Row("engine paths", f"{symbols} symbols x 1 year of 1m bars ({candles:,} candles): peak RSS",
               peak_gib, "GiB", target="< 2 GiB",
               note=f"{fields['trades']} trades in {float(fields['seconds']):.0f} s; block-bootstrapped "
                    "from the real month, fixed seeds")  # fmt: skip
