"""A paper session with a protective stop and a take-profit, against the exchange simulator with
the real ``ccxt.pro`` client, trades exactly as the backtest of the simulator's source file with
the same flags, and its drift report (which replays with the risk rules the session recorded)
finds no difference.

As in ``test_paper_session.py``: the simulator replays the recorded XRP/ETH minutes as fast as
the session reads them; the backtest reads the same recording over the session's bars, mapped
back to the recording's time, from the same first bar, warm-up included.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import orjson
import pandas as pd
import pytest

from tradewind.backtest.api import backtest
from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.cli.run_options import RunOptions
from tradewind.connectors.client import create_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.exchange_sim import Api, LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.session.drift import drift_report, final_bars_from_exchange, instrument_from_settings
from tradewind.session.paper import PaperConfig, PaperSession

SYMBOL = "XRP/ETH"
PARAMS = {"fast": 5, "slow": 15}
WARMUP = 60
BARS = 200
FLAGS = RunOptions(stop=0.002, take_profit=0.003)
"""``--stop 0.002 --take-profit 0.003``, read as the command line reads them."""


@pytest.mark.slow
async def test_a_paper_session_with_a_stop_and_take_profit_equals_the_backtest(
    shared_data: Path, tmp_path: Path
) -> None:
    risk = FLAGS.risk()
    assert risk is not None
    sim = SimExchange(seed=11, clock=SimClock(speed=math.inf), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    run = tmp_path / "run"
    async with LoopbackServer(sim) as server:
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("sma_cross", PARAMS),
            symbols=(SYMBOL,), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="2", stake="50%"), risk=risk),
            run_dir=run, warmup_bars=WARMUP, max_bars=BARS,
        )  # fmt: skip
        result = await PaperSession(config).run()
        market = sim.market(Api.SPOT, "XRPETH")
        assert market is not None
        timeline = sim.timeline(market)
        assert timeline is not None
        settings = orjson.loads((run / "session.json").read_bytes())
        first_live = settings["first_bar_ms"][SYMBOL]
        offset = timeline.offset_at(first_live)
        client = create_client(ExchangeConfig(rest_url=server.rest_url, rate_limit=False))
        final = await asyncio.to_thread(final_bars_from_exchange, run, client)
    assert result.meta["bars_traded"] == BARS
    assert settings["risk"]["exits"]["stop_pct"] == 0.002
    reasons = result.orders["reason"].astype(str)
    assert reasons.str.startswith("stop").sum() >= 1, "no stop fired: the test proves nothing"
    assert reasons.str.startswith("take_profit").sum() >= 1, "no take-profit fired"
    seen = result.close[SYMBOL]
    shift = pd.Timedelta(milliseconds=offset)
    window = frame[
        (frame["date"] >= seen.index[0] - shift) & (frame["date"] <= seen.index[-1] - shift)
    ]
    assert len(window) == len(seen)
    expected = backtest(
        "sma_cross", window, PARAMS, cash="2", stake="50%", symbol=SYMBOL, timeframe="1m",
        start=pd.Timestamp(first_live - offset, unit="ms", tz="UTC"), risk=FLAGS.risk_settings(),
        instruments={SYMBOL: instrument_from_settings(settings["instruments"][SYMBOL])},
    )  # fmt: skip
    got = result.trades.copy()
    got["entry_time"] -= shift
    got["exit_time"] -= shift
    columns = ["side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "fees",
               "pnl"]  # fmt: skip
    assert len(expected.trades) >= 5, "too few round trips to prove anything"
    pd.testing.assert_frame_equal(
        got[columns].reset_index(drop=True), expected.trades[columns].reset_index(drop=True)
    )
    expected_reasons = expected.orders["reason"].astype(str).tolist()
    assert reasons.tolist() == expected_reasons
    report = drift_report(run, final)
    assert report.ok, report.differences
    assert report.session_trades == report.backtest_trades == len(expected.trades)
