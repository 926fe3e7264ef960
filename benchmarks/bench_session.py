"""A paper session's decision path: a closed bar in, the decision, the order at the paper venue.

Measured in process on the paper driver (no network): for each closed instant, the time from
handing the driver its bar(s) to the orders being at the simulated venue (``add`` + ``flush``).
Targets (issue "Paper trading"): p99 <= 200 us for one strategy on one symbol; <= 5 ms for 20
symbols x 3 strategies closing on the same instant. The 20 symbols are the recorded 5-minute
files under 20 names (real prices, repeated). The result is checked: the one-symbol run's trades
equal the backtest's over the same bars from the same first bar.

The built-ins used here have signal streams: the driver feeds each closed bar to them instead of
recomputing their signals over every bar held (``tradewind.session.signal_tape``); the one-symbol
check below proves the trades unchanged. The instants where an order is sent carry the Node's
order path (risk gate, sizing in Decimal, the venue) on top, and set the one-symbol p99.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from benchmarks.common import Row
from tradewind.backtest import api
from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec, Window
from tradewind.core.timeframe import Timeframe
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.series.bars import BarSeries
from tradewind.session.driver import PaperDriver

WARMUP = 300
FILES = ("ETH_BTC", "LTC_BTC", "ADA_BTC", "ETC_BTC", "TRX_BTC", "XLM_BTC", "XRP_ETH")
STRATEGIES = ("sma_cross", "bb_rsi_meanrev", "macd_adx_trend")


def _frames(count: int, live: int) -> dict[str, pd.DataFrame]:
    out = {}
    for k in range(count):
        name = FILES[k % len(FILES)]
        frame = pd.read_feather(bundled_recorded_dir() / "candles" / f"{name}-5m.feather")
        out[f"S{k:02d}/BTC"] = frame.iloc[: WARMUP + live].reset_index(drop=True)
    return out


def _latencies(frames: dict[str, pd.DataFrame], strategies: list[str], live: int,
               spec: BacktestSpec) -> tuple[np.ndarray, PaperDriver]:  # fmt: skip
    warm = {n: f.iloc[:WARMUP] for n, f in frames.items()}
    instances = [s for name in strategies for s in strategies_from(name, None)]
    driver = PaperDriver(api.prepare(warm, spec), instances)
    series = {n: BarSeries.from_frame(f, n, Timeframe.parse("5m")) for n, f in frames.items()}
    out = np.empty(live)
    for j, i in enumerate(range(WARMUP, WARMUP + live)):
        bars = [(n, s.bar(i)) for n, s in series.items()]
        start = time.perf_counter()
        for name, bar in bars:
            driver.add(name, bar)
        driver.flush()
        out[j] = time.perf_counter() - start
    return out, driver


def run(quick: bool) -> list[Row]:
    """Closed bar -> order latency, one symbol and 20 x 3; p50 and p99."""
    live = 200 if quick else 700
    spec = BacktestSpec(account=Account(cash=1, stake="20%"))
    one = _frames(1, live)
    times, driver = _latencies(one, ["sma_cross"], live, spec)
    # The check: the session's trades are the backtest's over the same bars.
    first = next(iter(one.values()))["date"].iloc[WARMUP]
    expected = run_backtest(one, spec, first)
    got = driver.result().trades
    if len(got) != len(expected) or not np.allclose(got["pnl"], expected["pnl"]):
        raise AssertionError("the paper driver's trades differ from the backtest's")
    many, session = _latencies(_frames(20, live // 4), list(STRATEGIES), live // 4, spec)
    if driver.recomputes or len(session.streamed) != len(session.node.bindings):
        raise AssertionError(
            "a built-in's signals were recomputed: the benchmark measures the wrong path"
        )
    # The p99s move with other work on the machine: the 1-minute load average goes with them.
    load = f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    note = f"{live} bars after {WARMUP} of warm-up; signals streamed bar by bar; {load}"
    return [
        Row("session", "bar -> order, 1 symbol x 1 strategy, p50", float(np.median(times)),
            target="", note=note),
        Row("session", "bar -> order, 1 symbol x 1 strategy, p99",
            float(np.quantile(times, 0.99)), target="<= 200 us", note=note),
        Row("session", "bar -> orders, 20 symbols x 3 strategies, p50",
            float(np.median(many)), target="", note=f"{live // 4} instants; {load}"),
        Row("session", "bar -> orders, 20 symbols x 3 strategies, p99",
            float(np.quantile(many, 0.99)), target="<= 5 ms", note=f"{live // 4} instants; {load}"),
    ]  # fmt: skip


def run_backtest(
    frames: dict[str, pd.DataFrame], spec: BacktestSpec, first: object
) -> pd.DataFrame:
    """The backtest over the same bars from the session's first traded bar."""
    prepared = api.prepare(frames, replace(spec, window=Window(start=first)))
    return api.run("sma_cross", prepared, None).trades
