"""The primary's process killed mid-stream: a paper session reads ETH/BTC 5m at 300x (a bar a
wall second) from a primary simulator running in a process of its own and a secondary in this
one, both on one replay clock and one recording anchor (the same bar at the same open time);
SIGKILL takes the primary away for good (its sockets reset, its port refuses). The secondary
takes over within ``max(2 x push interval, 5 s)`` of the primary's last message, no bar is
missing or doubled across the switch, every bar the session took from either venue is the same
bar, and the session's trades equal the backtest of the bars it used."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sourcekit import BAR_MS, SYMBOL, Churn, bars_frame, eth_btc_venue, wait_until

from tradewind.backtest.api import backtest
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.connectors.client import create_async_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.source_config import SourceConfig, SourcesConfig
from tradewind.data.session_recording import read_table
from tradewind.exchange_sim import LoopbackServer, SimClock
from tradewind.exchange_sim.clock import wall_ms
from tradewind.exchange_sim.multi_venue import VenueSpec
from tradewind.session.paper import PaperConfig, PaperSession, SessionStatus

SPEED = 300.0


def _start_primary(root: Path, clock: SimClock, anchor_ms: int) -> tuple[subprocess.Popen[str],
                                                                         str]:  # fmt: skip
    """Start the primary's process on ``clock`` and ``anchor_ms``; return it and its REST URL."""
    script = Path(__file__).with_name("venue_process.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(script.parent), *sys.path])}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, str(script), str(root), "--seed", "1", "--speed", str(SPEED),
         "--wall-ms", str(wall_ms()), "--replay-ms", str(clock()), "--anchor-ms", str(anchor_ms)],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"the primary's process ended before serving (exit {process.poll()})"
    return process, json.loads(line)["rest_url"]


def _source(name: str, rest_url: str) -> SourceConfig:
    return SourceConfig(name=name, exchange=ExchangeConfig(rest_url=rest_url, rate_limit=False,
                                                           timeout_ms=15_000))  # fmt: skip


@pytest.mark.slow
async def test_primary_killed_mid_stream_fails_over_without_a_missing_bar(
    shared_data: Path, tmp_path: Path
) -> None:
    # Arrange: one replay clock and one anchor for both venues; the primary in its own process.
    clock = SimClock(speed=SPEED)
    anchor_ms = clock()
    primary, primary_url = await asyncio.to_thread(_start_primary, shared_data, clock, anchor_ms)
    secondary = LoopbackServer(eth_btc_venue(VenueSpec("binance2", "binance", 0, seed=2),
                                             shared_data, clock, anchor_ms=anchor_ms))  # fmt: skip
    await secondary.start_async()
    alerts: list[str] = []

    def update(status: SessionStatus) -> None:
        if status.alerts and (not alerts or status.alerts[-1] != alerts[-1]):
            alerts.append(status.alerts[-1])

    # At 300x two venues' books walk a candle a second, up to a candle's range apart: the
    # divergence threshold is set far above that, so that only the kill matters here.
    sources = SourcesConfig(candles=[_source("binance", primary_url),
                                     _source("binance2", secondary.rest_url)],
                            divergence_bps=Decimal(500))  # fmt: skip
    run_dir = tmp_path / "run"
    session = PaperSession(
        PaperConfig(
            exchange=sources.candles[0].exchange, sources=sources, strategies=[Churn()],
            symbols=(SYMBOL,), timeframe="5m", run_dir=run_dir, warmup_bars=30, max_bars=30,
            spec=BacktestSpec(account=Account(cash="1", stake="50%")),
        ),
        on_update=update,
    )  # fmt: skip
    try:
        running = asyncio.create_task(session.run())

        # Act: once 8 bars are traded, SIGKILL the primary's process.
        await wait_until(lambda: session.status.bars >= 8 or running.done(), 120, "8 bars")
        primary.send_signal(signal.SIGKILL)
        killed_ms = wall_ms()
        primary.wait(10)
        result = await asyncio.wait_for(running, 180)
        rest = create_async_client(ExchangeConfig(rest_url=secondary.rest_url, rate_limit=False))
        try:
            served = await rest.fetch_ohlcv(SYMBOL, "5m", since=int(session.driver.bars[SYMBOL]  # type: ignore[union-attr]
                                                                    .ts[0]), limit=1000)  # fmt: skip
        finally:
            await rest.close()
    finally:
        if primary.poll() is None:
            primary.kill()
            primary.wait(10)
        await secondary.stop_async()

    # Assert: one switch, away from the killed primary, within 5 s of its last message.
    assert result.meta["bars_traded"] == 30
    journal = read_table(run_dir, "journal")
    payloads = [json.loads(text) for text in journal["payload"]]
    switches = [p for p in payloads if p.get("source_event") == "SourceSwitched"]
    assert len(switches) == 1, switches
    switch = switches[0]
    assert (switch["previous"], switch["active"]) == ("binance", "binance2"), switch
    assert sources.failover_after_s == 5.0
    assert switch["silent_s"] <= 5.0, switch
    assert switch["received_ms"] - killed_ms <= 5_000, (switch, killed_ms)
    assert any(a.startswith("candles: binance -> binance2") for a in alerts), alerts
    # No bar missing or doubled, the killed primary's bars then the secondary's (marked).
    driver = session.driver
    assert driver is not None
    series = driver.bars[SYMBOL]
    opens = [int(t) for t in series.ts]
    assert all(b - a == BAR_MS for a, b in itertools.pairwise(opens)), opens
    live = read_table(run_dir, "bars")
    live = live[live["source"] == "stream"]
    venues = live["venue"].tolist()
    assert venues == sorted(venues), venues  # binance first, then binance2 to the end
    assert set(venues) == {"binance", "binance2"}
    assert live["secondary"].tolist() == [v == "binance2" for v in venues]
    # Both processes served the same bar at each open time: the session's bars, the killed
    # primary's among them, are the secondary's.
    by_open = {int(r[0]): r[1:6] for r in served}
    for k, ts in enumerate(opens):
        assert [float(series.open[k]), float(series.high[k]), float(series.low[k]),
                float(series.close[k]), float(series.volume[k])] == by_open[ts], ts  # fmt: skip
    # Its trades are the backtest's over the bars it used (warm-up included), from its first bar.
    start = pd.Timestamp(opens[driver.first_bar[SYMBOL]], unit="ms", tz="UTC")
    expected = backtest(
        Churn(), bars_frame(series), cash="1", stake="50%", symbol=SYMBOL, timeframe="5m",
        start=start, instruments=session.instruments,
    ).trades  # fmt: skip
    columns = ["side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "fees",
               "pnl"]  # fmt: skip
    assert len(result.trades) >= 10, "too few round trips to prove anything"
    pd.testing.assert_frame_equal(
        result.trades[columns].reset_index(drop=True), expected[columns].reset_index(drop=True)
    )
