"""Soak: a paper session trading 20 BTC-quoted markets (5-minute bars replayed at 100x by the
exchange simulator in its own process, sma_cross on each) for ``TRADEWIND_SOAK_SECONDS``; memory,
task count and event-loop lag are sampled, and no bar may be traded twice or skipped.

Runs only when ``TRADEWIND_SOAK_SECONDS`` is set (``make soak`` runs an hour). The numbers are
printed (``-s``) and written to ``$TRADEWIND_SOAK_REPORT`` when set. The simulator runs in a child
process, as a real exchange would be elsewhere, so the resident memory measured is the session's
own. Six of the markets are the real BTC-quoted recordings; the other fourteen replay those same
real candles under other names (a scale test: more streams, no invented prices). The session holds
every bar it has seen (the risk rules and the drift report read them; sma_cross's signals are
streamed, four flags a bar), so memory grows with the bars: well under 1 MiB per 10 minutes for
20 markets of 5m bars at 100x.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.connectors.config import ExchangeConfig
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings, shared_listings
from tradewind.session.paper import PaperConfig, PaperSession
from tradewind.testing.soak import lag_ms, rss_mib, slope_mib_per_10min

SECONDS = float(os.environ.get("TRADEWIND_SOAK_SECONDS", "0"))
REAL = ("ETH", "LTC", "ADA", "XLM", "TRX", "ETC")
COPIES = tuple(f"{REAL[k % len(REAL)]}{k // len(REAL) + 2}" for k in range(14))
SYMBOLS = tuple(f"{base}/BTC" for base in REAL + COPIES)


def _serve(root: str, urls: Connection, stop: Event) -> None:
    """The simulator's process: every real BTC market plus the renamed copies, at 100x."""
    sim = list_shared_recordings(SimExchange(seed=4, clock=SimClock(speed=100.0)), Path(root))
    listings = shared_listings()
    for name in COPIES:
        real = name.rstrip("0123456789")
        listing = replace(listings[f"spot:{real}BTC"], symbol=f"{name}BTC", base=name)
        frame = pd.read_feather(Path(root) / "candles" / f"{real}_BTC-5m.feather")
        sim.add_listing(listing, klines={"5m": frame})
    with LoopbackServer(sim) as server:
        urls.send(server.rest_url)
        stop.wait()


@pytest.mark.slow
@pytest.mark.timeout(int(SECONDS) + 600)
@pytest.mark.skipif(SECONDS <= 0, reason="set TRADEWIND_SOAK_SECONDS to run the paper soak")
async def test_paper_session_soak_is_flat(shared_data: Path, tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    stop = context.Event()
    simulator = context.Process(target=_serve, args=(str(shared_data), send, stop), daemon=True)
    simulator.start()
    lags: list[float] = []
    rss: list[tuple[float, float]] = []
    tasks: list[int] = []
    try:
        assert receive.poll(120), "the simulator's process did not start"
        rest_url = receive.recv()
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("sma_cross", {"fast": 5, "slow": 15}), symbols=SYMBOLS,
            timeframe="5m", spec=BacktestSpec(account=Account(cash="1", stake="5%")),
            run_dir=tmp_path / "run", warmup_bars=100,
        )  # fmt: skip
        session = PaperSession(config)
        runner = asyncio.ensure_future(session.run())
        while session.status.phase != "trading":
            assert not runner.done(), runner.result()
            await asyncio.sleep(0.1)
        started = time.monotonic()
        next_sample = started
        while (now := time.monotonic()) - started < SECONDS:
            if now >= next_sample:
                rss.append((now - started, rss_mib()))
                tasks.append(len(asyncio.all_tasks()))
                next_sample += 10.0
            before = time.monotonic()
            await asyncio.sleep(0.1)
            lags.append(time.monotonic() - before - 0.1)
            assert not runner.done(), runner.result()
        session.stop("soak done")
        result = await runner
    finally:
        stop.set()
        simulator.join(30)
        if simulator.is_alive():
            simulator.kill()
    driver = session.driver
    assert driver is not None
    closes = {s: np.diff(driver.bars[s].ts) for s in SYMBOLS}
    slope = slope_mib_per_10min(rss, SECONDS)
    report = {
        "seconds": SECONDS,
        "symbols": len(SYMBOLS),
        "replay_speed": 100,
        "instants_traded": session.status.bars,
        "orders": len(result.orders),
        "trades": len(result.trades),
        "rss_mib_first_last": [round(rss[0][1], 1), round(rss[-1][1], 1)],
        "rss_slope_mib_per_10min": round(slope, 3),
        "tasks_min_max": [min(tasks), max(tasks)],
        "loop_lag_ms_p50_p99_max": lag_ms(lags),
    }
    print(json.dumps(report))
    if os.environ.get("TRADEWIND_SOAK_REPORT"):
        Path(os.environ["TRADEWIND_SOAK_REPORT"]).write_text(json.dumps(report, indent=2))
    assert session.status.bars > 0
    for symbol, steps in closes.items():
        assert (steps > 0).all(), f"{symbol}: a bar held twice or out of order"
    assert max(tasks) - min(tasks) <= 2 * len(SYMBOLS)
    if SECONDS >= 600:
        assert slope < 1.0
