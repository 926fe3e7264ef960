"""W3 with vectorbt, run in its own virtualenv: the 100 SMA pairs (fast 2..20 step 2, slow 30..120
step 10) on the real BTC-perp month in one broadcast ``from_signals`` call.

    .bench-venv-vbt/bin/python benchmarks/peers/vectorbt_w3.py \
        src/tradewind/bundled/recorded/candles/btc-perp-20211231-20220201_1m.csv

Rules as W1 (long only, all in, 100,000 cash, 0.1% fee, fills at the next open). Prints the number
of sets, the trade count of the (10, 30) pair (W1: 945) and the seconds of the whole sweep.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import vectorbt as vbt


def sweep(close: pd.Series, open_: pd.Series) -> vbt.Portfolio:
    """Every pair's signals as columns, one portfolio simulation for all of them."""
    pairs = [(f, s) for f in range(2, 21, 2) for s in range(30, 121, 10)]
    averages = {p: close.rolling(p).mean() for p in {x for pair in pairs for x in pair}}
    entries, exits = {}, {}
    for f, s in pairs:
        fast, slow = averages[f], averages[s]
        entries[(f, s)] = (fast > slow) & (fast.shift(1) <= slow.shift(1))
        exits[(f, s)] = (fast < slow) & (fast.shift(1) >= slow.shift(1))
    entry_frame = pd.DataFrame(entries)
    exit_frame = pd.DataFrame(exits)
    price = pd.concat([open_.shift(-1)] * len(pairs), axis=1, keys=entry_frame.columns)
    return vbt.Portfolio.from_signals(
        close, entry_frame, exit_frame, price=price, init_cash=100_000, fees=0.001,
        size=np.inf, freq="1min",
    )  # fmt: skip


def main(path: str) -> None:
    """Run the sweep at ``path`` twice (the first compiles) and print the second's time."""
    frame = pd.read_csv(path, parse_dates=["timestamp"], index_col="timestamp")
    close, open_ = frame["close"], frame["open"]
    sweep(close, open_)
    start = time.perf_counter()
    portfolio = sweep(close, open_)
    elapsed = time.perf_counter() - start
    counts = portfolio.trades.closed.count()
    print(f"sets={len(counts)} w1_trades={int(counts[(10, 30)])} seconds={elapsed:.6f}")


if __name__ == "__main__":
    main(sys.argv[1])
