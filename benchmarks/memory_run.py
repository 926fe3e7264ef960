"""Peak memory of one big backtest, run in its own process: ``python benchmarks/memory_run.py N``.

N symbols, each one year of 1-minute bars block-bootstrapped from the real month's demeaned log
returns (seed = symbol number), one SMA(60/240) cross per symbol sharing one account.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.workloads import bootstrapped
from tradewind.backtest import backtest

YEAR = 365 * 24 * 60


def main(count: int) -> None:
    """Run the backtest and print peak RSS (KiB), candles, trades and seconds."""
    data = {f"S{k:02d}/USD": bootstrapped(YEAR, seed=k) for k in range(count)}
    start = time.perf_counter()
    result = backtest(
        "sma_cross", data, {"fast": 60, "slow": 240}, cash=1_000_000, fee=0.001, stake="4%"
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"peak_kib={peak} candles={count * YEAR} trades={result.metrics['trade_count']} seconds={seconds:.1f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
