"""The drift report names order latency as the cause, from the journal's order times.

A paper session against the exchange simulator (the real ``ccxt.pro`` client) whose orders
reach the paper venue 2 s after they are sent (the session's latency setting): each entry and
exit fills a bar later than at once. Replayed assuming no latency, the report lists exactly
those differences: every session trade paired with the replay's trade of the same signal (none
missing, none extra), each difference caused by the late order the journal records; replayed
with the session's own latency it lists none.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import orjson
import pandas as pd
import pytest

from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.connectors.config import ExchangeConfig
from tradewind.data.session_recording import read_table
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.session.drift import drift_report
from tradewind.session.paper import PaperConfig, PaperSession
from tradewind.venues.sim.fill_model import FillModel

SYMBOL = "XRP/ETH"
LATENCY_MS = 2_000


@pytest.mark.slow
async def test_drift_names_ack_latency_for_each_late_trade(
    shared_data: Path, tmp_path: Path
) -> None:
    sim = SimExchange(seed=11, clock=SimClock(speed=math.inf), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    run = tmp_path / "run"
    async with LoopbackServer(sim) as server:
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("sma_cross", {"fast": 5, "slow": 15}),
            symbols=(SYMBOL,), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="2", stake="50%"),
                              fill=FillModel(latency_ms=LATENCY_MS)),
            run_dir=run, warmup_bars=60, max_bars=120,
        )  # fmt: skip
        result = await PaperSession(config).run()
    trades = result.trades
    assert len(trades) >= 3, "too few round trips to prove anything"
    # The journal holds the evidence: each order's send time and when it reached the venue.
    journal = read_table(run, "journal")
    payloads = [orjson.loads(p) for p in journal["payload"]]
    moments = [int(d.value // 1_000_000) for d in journal["date"]]
    sent = {p["client_id"]: at for p, at in zip(payloads, moments, strict=True)
            if p.get("event") == "order.submitted"}  # fmt: skip
    reached = {p["client_id"]: p["reached_ms"] for p in payloads
               if p.get("event") == "order.accepted"}  # fmt: skip
    assert reached
    assert all(reached[c] - sent[c] == LATENCY_MS for c in reached)
    sent_for_fill = {p["fill"]["ts"]: sent[p["fill"]["client_id"]] for p in payloads
                     if p.get("event") == "order.filled"}  # fmt: skip
    # What to expect: an order fills a bar later than at once exactly where a bar opened at its
    # send time (the recording has gaps: where none did, both fill at the next bar).
    opens = {int(t.value // 1_000_000) for t in result.close[SYMBOL].index}
    expected = set()
    for trade in trades.itertuples():
        for what, moment in (("entry_time", trade.entry_time), ("exit_time", trade.exit_time)):
            at = sent_for_fill[int(moment.value // 1_000_000)]
            if at in opens:
                expected.add((what, trade.entry_time.isoformat(), at))
    assert expected, "no order moved: the window proves nothing"

    # With the session's own latency the replay agrees: the latency is the whole difference.
    assert drift_report(run, latency_ms=None).ok
    report = drift_report(run, latency_ms=0)
    assert not report.ok
    assert report.session_trades == report.backtest_trades == len(trades)
    late = [e for e in report.evidence if e.cause == "latency"]
    assert {e.bar_ms for e in late} == set(sent_for_fill.values())
    assert all("2.0 s after it was sent" in e.detail for e in late)
    moved = {(d.what, d.entry_time, int(pd.Timestamp(d.backtest).value // 1_000_000))
             for d in report.differences if d.what.endswith("_time")}  # fmt: skip
    assert moved == expected, report.differences
    # Every difference (prices and fees too) is on a trade with a moved fill, and names the
    # late order behind it.
    affected = {entry for _, entry, _ in expected}
    assert {d.entry_time for d in report.differences} == affected
    assert not [d for d in report.differences if d.what in ("missing", "extra")]
    for d in report.differences:
        assert d.cause.startswith("latency at "), d
    for d in report.differences:
        if d.what.endswith("_time"):
            when = pd.Timestamp(d.backtest).strftime("%Y-%m-%d %H:%M")
            assert f"latency at {when} UTC" in d.cause, d
    # The command says the same and exits 3.
    bad = subprocess.run(
        [sys.executable, "-m", "tradewind.cli.main", "drift", str(run), "--offline",
         "--latency-ms", "0"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert bad.returncode == 3, bad.stderr
    assert "latency" in bad.stdout
