"""A paper session against the exchange simulator trades exactly as the backtest over the
simulator's source file.

The simulator replays the recorded XRP/ETH minutes as fast as the session reads them, from the middle of
the recording; the real ``ccxt.pro`` client streams them; the session warms up over REST, trades
live bars, and stops after ``max_bars``. The backtest reads the same recording file (the session's
bars mapped back to the recording's time with the offset the simulator publishes), from the same
first bar, warm-up included, with the instruments the session read from the exchange.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
from pathlib import Path

import orjson
import pandas as pd
import pytest

from tradewind.backtest.api import backtest
from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.connectors.client import create_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.data.session_recording import read_table
from tradewind.exchange_sim import Api, LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.session.drift import (
    drift_report,
    final_bars_from_exchange,
    instrument_from_settings,
)
from tradewind.session.paper import PaperConfig, PaperSession

SYMBOL = "XRP/ETH"
PARAMS = {"fast": 5, "slow": 15}
WARMUP = 60
BARS = 150


@pytest.mark.slow
async def test_paper_session_equals_the_backtest_of_the_source_file(
    shared_data: Path, tmp_path: Path
) -> None:
    sim = SimExchange(seed=11, clock=SimClock(speed=math.inf), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    async with LoopbackServer(sim) as server:
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("sma_cross", PARAMS),
            symbols=(SYMBOL,), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="2", stake="50%")),
            run_dir=tmp_path / "run", warmup_bars=WARMUP, max_bars=BARS,
        )  # fmt: skip
        result = await PaperSession(config).run()
        market = sim.market(Api.SPOT, "XRPETH")
        assert market is not None
        timeline = sim.timeline(market)
        assert timeline is not None
        settings = orjson.loads((tmp_path / "run" / "session.json").read_bytes())
        first_live = settings["first_bar_ms"][SYMBOL]
        offset = timeline.offset_at(first_live)
        client = create_client(ExchangeConfig(rest_url=server.rest_url, rate_limit=False))
        final = await asyncio.to_thread(final_bars_from_exchange, tmp_path / "run", client)
    assert result.meta["bars_traded"] == BARS
    session_trades = result.trades
    assert len(session_trades) >= 5, "too few round trips to prove anything"
    # The backtest of the source file over the same bars (the recording has gaps: its own rows
    # between the session's first and last bar, mapped back to recording time).
    seen = result.close[SYMBOL]
    shift = pd.Timedelta(milliseconds=offset)
    first_seen, last_seen = seen.index[0] - shift, seen.index[-1] - shift
    window = frame[(frame["date"] >= first_seen) & (frame["date"] <= last_seen)]
    assert len(window) == len(seen)
    start = pd.Timestamp(first_live - offset, unit="ms", tz="UTC")
    expected = backtest(
        "sma_cross", window, PARAMS, cash="2", stake="50%", symbol=SYMBOL, timeframe="1m",
        start=start, instruments={SYMBOL: instrument_from_settings(settings["instruments"][SYMBOL])},
    ).trades  # fmt: skip
    got = session_trades.copy()
    got["entry_time"] -= shift
    got["exit_time"] -= shift
    columns = ["side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "fees",
               "pnl"]  # fmt: skip
    pd.testing.assert_frame_equal(
        got[columns].reset_index(drop=True), expected[columns].reset_index(drop=True)
    )
    assert (tmp_path / "run" / "result.json").exists()
    assert (tmp_path / "run" / "recording" / "bars").is_dir()
    # The journal: the strategy's signal values at every traded bar, every order and its fills.
    journal = read_table(tmp_path / "run", "journal")
    signals = journal[journal["kind"] == "signal"]
    assert len(signals) == BARS
    assert signals["symbol"].unique().tolist() == [SYMBOL]
    values = [orjson.loads(p) for p in signals["payload"]]
    assert sum(v["entry_long"] for v in values) >= len(session_trades)
    fills = journal[journal["kind"] == "fill"]
    assert len(fills) == int((result.orders["filled"] > 0).sum()) >= 2 * len(session_trades)
    _drift_finds_what_it_should(tmp_path / "run", final[SYMBOL], session_trades, tmp_path)


def _drift_finds_what_it_should(
    run: Path, final: pd.DataFrame, trades: pd.DataFrame, tmp_path: Path
) -> None:
    """Against the exchange's own history the drift report is empty; against final bars that
    differ where a trade was decided, it lists the trade's differences with that bar as cause."""
    clean = drift_report(run, {SYMBOL: final})
    assert clean.ok, clean.differences
    assert clean.session_trades == clean.backtest_trades == len(trades)
    # The bar whose close decided the second trade's entry closes lower than announced: the
    # replay's signal (and so its trades) changes there.
    entry = trades["entry_time"].iloc[1]
    decided = entry - pd.Timedelta(minutes=1)
    changed = final.copy()
    row = changed.index[changed["date"] == decided][0]
    changed.loc[row, ["low", "close"]] = changed.loc[row, "close"] * 0.9
    report = drift_report(run, {SYMBOL: changed})
    assert not report.ok
    when = decided.strftime("%Y-%m-%d %H:%M")
    assert any(e.cause == "bar differs from the exchange's" and when in e.describe()
               for e in report.evidence)  # fmt: skip
    assert all("unexplained" not in d.cause for d in report.differences)
    assert any(when in d.cause for d in report.differences)
    # A bar the exchange lists that the session never received is named as missing.
    dropped = final.drop(index=row + 3)
    gap = drift_report(run, {SYMBOL: dropped})
    assert any(e.cause == "bar not in the exchange's history" for e in gap.evidence)
    # The command: exit 0 and "no differences" against the recording, 3 against changed bars.
    ok = _cli("drift", str(run), "--offline")
    assert ok.returncode == 0, ok.stderr
    assert "no differences" in ok.stdout
    changed.to_feather(tmp_path / "final.feather")
    bad = _cli("drift", str(run), "--data", str(tmp_path / "final.feather"),
               "--json", str(tmp_path / "drift.json"))  # fmt: skip
    assert bad.returncode == 3, bad.stderr
    assert "differences" in bad.stdout
    assert orjson.loads((tmp_path / "drift.json").read_bytes())["ok"] is False


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradewind.cli.main", *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
