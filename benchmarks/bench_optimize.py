"""W3: SMA-cross parameter search on the real BTC-perp month, against backtesting.py's
``optimize`` and vectorbt in the same run; then every sampler and storage separately.

Every row checks its result first: the 100-pair grid's best pair is re-run on the event engine
(same trade count and equity, or the search raises), vectorbt must make W1's 945 trades on the
(10, 30) pair, and each search must complete the trials it was asked for.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import psycopg

from benchmarks.common import Row
from benchmarks.workloads import MONTH, month
from tradewind.optimize.market import Market, prepare_market
from tradewind.optimize.search import optimize
from tradewind.testing.shared_data import shared_data_dir

ROOT = Path(__file__).resolve().parents[1]
VBT_PYTHON = ROOT / ".bench-venv-vbt" / "bin" / "python"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
PAIRS_100 = {"fast": "2:20:2", "slow": "30:120:10", "short": "false"}
PAIRS_10K = {"fast": "2:101", "slow": "102:201", "short": "false"}
W1_TRADES = 945


def _market() -> Market:
    return prepare_market(month(), symbol="BTC/USD", timeframe="1m", cash=100_000, fee=0.001)


def _timed(market: Market, **kwargs: object) -> tuple[float, int]:
    start = time.perf_counter()
    result = optimize("sma_cross", market, top_n=0, seed=0, **kwargs)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    return elapsed, len(result.trials) + result.failed


def _vectorbt() -> tuple[float | None, str]:
    if not VBT_PYTHON.exists():
        return None, "vectorbt venv missing (make bench creates .bench-venv-vbt)"
    root = shared_data_dir()
    assert root is not None
    out = subprocess.run(
        [str(VBT_PYTHON), str(ROOT / "benchmarks" / "peers" / "vectorbt_w3.py"), str(root / "candles" / MONTH)],
        capture_output=True, text=True, check=True, timeout=600,
    ).stdout  # fmt: skip
    fields = dict(part.split("=") for part in out.split())
    if int(fields["w1_trades"]) != W1_TRADES:
        raise AssertionError(f"vectorbt made {fields['w1_trades']} trades on (10, 30), not 945")
    return int(fields["sets"]) / float(fields["seconds"]), "vectorbt: 945 trades on (10, 30)"


def _bt_strategy() -> type:
    """backtesting.py's SMA cross at module level, so its worker processes can pickle it."""
    from backtesting import Strategy
    from backtesting.lib import crossover

    from tradewind.indicators.overlap import sma

    class BtSmaCross(Strategy):
        fast = 10
        slow = 30

        def init(self) -> None:
            self.f = self.I(sma, self.data.Close, self.fast)
            self.s = self.I(sma, self.data.Close, self.slow)

        def next(self) -> None:
            if crossover(self.f, self.s):
                self.buy()
            elif crossover(self.s, self.f):
                self.position.close()

    BtSmaCross.__qualname__ = "BtSmaCross"
    return BtSmaCross


BtSmaCross = _bt_strategy()


def _backtesting_py(quick: bool) -> float:
    """backtesting.py's ``optimize`` over the same pairs (its own processes on both cores)."""
    from backtesting import Backtest

    frame = month().set_index("date")
    frame.columns = [c.capitalize() for c in frame.columns]
    test = Backtest(frame, BtSmaCross, cash=100_000, commission=0.001, finalize_trades=False)
    slows = range(30, 121, 10) if not quick else range(30, 51, 10)
    sets = len(range(2, 21, 2)) * len(slows)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test.optimize(fast=range(2, 21, 2), slow=slows, maximize="Sharpe Ratio")
    return sets / (time.perf_counter() - start)


def _postgres_ok() -> bool:
    try:
        psycopg.connect(
            "host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=3
        ).close()
    except Exception:
        return False
    return True


def run(quick: bool) -> list[Row]:
    """W3 and the sampler/storage table; see the module docstring."""
    market = _market()
    rows: list[Row] = []
    # Check first: the best of the 100 pairs matches the event engine (raises otherwise).
    checked = optimize("sma_cross", market, sampler="grid", trials=None, space=PAIRS_100,
                       storage="memory", top_n=1)  # fmt: skip
    parity = checked.parity[0]
    assert parity.kernel_trades == parity.event_trades
    assert len(checked.trials) == 100
    elapsed, count = _timed(market, sampler="grid", trials=None, space=PAIRS_100, storage="memory")
    assert count == 100
    vbt_rate, vbt_note = _vectorbt()
    rows.append(Row("optimize", "W3 100 SMA pairs, grid, in memory, sets/s", count / elapsed,
                    "sets/s", "vectorbt", vbt_rate, True, "",
                    f"best {checked.best[0]['params']}: {parity.event_trades} trades on both "
                    f"engines; {vbt_note}"))  # fmt: skip
    rows.append(Row("optimize", "W3 100 SMA pairs vs backtesting.py optimize", count / elapsed,
                    "sets/s", "backtesting.py", _backtesting_py(quick), True, "",
                    "backtesting.py: 2 processes, its own fill rules"))  # fmt: skip
    big = PAIRS_10K if not quick else {"fast": "2:31", "slow": "102:201", "short": "false"}
    elapsed, count = _timed(market, sampler="grid", trials=None, space=big, storage="memory")
    rows.append(Row("optimize", f"grid of {count:,} SMA pairs, in memory, end to end", count / elapsed,
                    "sets/s", target=">= 2,000 sets/s",
                    note="lines once per period, crossings in the kernel, bulk add_trials"))  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        n = 1_000 if not quick else 300
        elapsed, count = _timed(market, sampler="grid", trials=n, space=PAIRS_10K,
                                run_dir=Path(folder) / "grid")  # fmt: skip
        rows.append(Row("optimize", f"grid of {count:,} pairs, SQLite storage", count / elapsed,
                        "sets/s", note="Optuna's RDB writes each trial's rows"))  # fmt: skip
        elapsed, count = _timed(market, sampler="tpe", trials=100, space=PAIRS_10K,
                                run_dir=Path(folder) / "tpe")  # fmt: skip
        rows.append(Row("optimize", "TPE, SQLite storage, batches of 32", count / elapsed,
                        "trials/s"))  # fmt: skip
    samplers = [("tpe", 300 if not quick else 96, ">= 150 trials/s"), ("random", 2_000, ""),
                ("cmaes", 200, ""), ("nsga2", 300, "")]  # fmt: skip
    for sampler, n, target in samplers:
        objectives = ("sharpe", "drawdown") if sampler == "nsga2" else ("sharpe",)
        elapsed, count = _timed(market, sampler=sampler, trials=n, space=PAIRS_10K,
                                storage="memory", objectives=objectives)  # fmt: skip
        assert count == n, (sampler, count)
        rows.append(Row("optimize", f"{sampler}, in memory, {n} trials, batched", count / elapsed,
                        "trials/s", target=target))  # fmt: skip
    if _postgres_ok():
        name = f"bench-{int(time.time())}"
        elapsed, count = _timed(market, sampler="tpe", trials=100, space=PAIRS_10K,
                                storage=POSTGRES, study_name=name)  # fmt: skip
        import optuna

        optuna.delete_study(study_name=name, storage=POSTGRES)
        rows.append(Row("optimize", "TPE, PostgreSQL storage (local)", count / elapsed,
                        "trials/s"))  # fmt: skip
    else:
        rows.append(Row("optimize", "TPE, PostgreSQL storage", 0.0, "trials/s",
                        note="skipped: no PostgreSQL at 127.0.0.1:5432"))  # fmt: skip
    return rows
