"""W1 with vectorbt, run in its own virtualenv (vectorbt needs plotly < 6, which clashes with ours).

Reproduce the golden value kept in tests/acceptance/test_w1_sma_cross.py:

    python3.11 -m venv .bench-venv-vbt
    .bench-venv-vbt/bin/pip install vectorbt "plotly<6"
    .bench-venv-vbt/bin/python benchmarks/peers/vectorbt_w1.py \
        src/tradewind/bundled/recorded/candles/btc-perp-20211231-20220201_1m.csv

Rules: SMA(10/30) cross, long only, all in, 100,000 cash, 0.1% fee per side, fills at the next
bar's open. Prints trade count, final equity and the time of one ``from_signals`` call.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import vectorbt as vbt


def main(path: str) -> None:
    """Run W1 on the candles at ``path`` and print the result and the time taken."""
    frame = pd.read_csv(path, parse_dates=["timestamp"], index_col="timestamp")
    close, open_ = frame["close"], frame["open"]
    fast, slow = close.rolling(10).mean(), close.rolling(30).mean()
    entries = (fast > slow) & (fast.shift(1) <= slow.shift(1))
    exits = (fast < slow) & (fast.shift(1) >= slow.shift(1))
    kwargs = {
        "price": open_.shift(-1),
        "init_cash": 100_000,
        "fees": 0.001,
        "size": np.inf,
        "freq": "1min",
    }
    vbt.Portfolio.from_signals(close, entries, exits, **kwargs)  # compile
    start = time.perf_counter()
    portfolio = vbt.Portfolio.from_signals(close, entries, exits, **kwargs)
    elapsed = time.perf_counter() - start
    trades = portfolio.trades.closed.count()
    print(f"trades={trades} final_equity={portfolio.final_value():.10f} seconds={elapsed:.6f}")


if __name__ == "__main__":
    main(sys.argv[1])
