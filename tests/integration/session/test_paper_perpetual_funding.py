"""A paper session on a perpetual pays the funding its mark-price stream announces, as the backtest
of the same bars with that funding does.

The exchange simulator replays the recorded USDT-M XRPUSDT 5-minute candles and 8-hour funding
rates as fast as the session reads them; the real ``ccxt.pro`` client streams the candles and
``markPrice@1s`` (mark, funding rate, next funding time). The session learns each settlement
when the stream moves to the next funding time, and charges it in the bar it falls in. The
backtest reads the simulator's source file over the session's bars (mapped back to the
recording's time) with the funding series the session recorded, from the same first bar.
"""

from __future__ import annotations

import math
from pathlib import Path

import orjson
import pandas as pd
import pytest

from tradewind.backtest.api import backtest
from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.connectors.config import ExchangeConfig
from tradewind.exchange_sim import Api, LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.session.drift import drift_report, instrument_from_settings
from tradewind.session.paper import PaperConfig, PaperSession

SYMBOL = "XRP/USDT:USDT"
PARAMS = {"fast": 10, "slow": 30}
BARS = 300


@pytest.mark.slow
async def test_paper_perpetual_pays_the_recorded_funding_as_the_backtest(
    shared_data: Path, tmp_path: Path
) -> None:
    futures = shared_data / "futures"
    frame = pd.read_feather(futures / "XRP_USDT_USDT-5m-futures.feather")
    sim = SimExchange(seed=11, clock=SimClock(speed=math.inf), history=0.5)
    sim.add_listing(
        shared_listings()["usdm:XRPUSDT"], klines={"5m": frame},
        funding=pd.read_feather(futures / "XRP_USDT_USDT-8h-funding_rate.feather"),
    )  # fmt: skip
    run = tmp_path / "run"
    async with LoopbackServer(sim) as server:
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("sma_cross", PARAMS),
            symbols=(SYMBOL,), timeframe="5m",
            spec=BacktestSpec(account=Account(cash="1000", stake="50%")),
            run_dir=run, warmup_bars=60, max_bars=BARS,
        )  # fmt: skip
        result = await PaperSession(config).run()
        market = sim.market(Api.USDM, "XRPUSDT")
        assert market is not None
        timeline = sim.timeline(market)
        assert timeline is not None
        settings = orjson.loads((run / "session.json").read_bytes())
        first_live = settings["first_bar_ms"][SYMBOL]
    assert result.meta["bars_traded"] == BARS
    trades = result.trades
    assert len(trades) >= 5, "too few round trips to prove anything"
    # The funding the session learnt: one settlement per 8 hours of its span, at the grid times.
    recorded = orjson.loads((run / "funding.json").read_bytes())[SYMBOL]
    seen = result.close[SYMBOL]
    live = seen.index[seen.index >= pd.Timestamp(first_live, unit="ms", tz="UTC")]
    assert len(recorded) >= int((live[-1] - live[0]).total_seconds() // (8 * 3600))
    assert all(ts % (8 * 3600 * 1000) == 0 for ts, _, _ in recorded)
    paid = trades["funding"].abs().sum()
    assert paid > 0, "no trade held a position over a funding time: the window proves nothing"

    # The backtest of the source file's rows the session saw (the replay loops the recording, so
    # each bar maps back to the recording by the offset the simulator published for it), in the
    # session's time, with the funding the session recorded.
    rows = frame.set_index("date")
    opens = [int(t.value // 1_000_000) for t in seen.index]
    source = [pd.Timestamp(t - timeline.offset_at(t), unit="ms", tz="UTC") for t in opens]
    window = rows.loc[source].reset_index(drop=True)
    window.insert(0, "date", seen.index)
    funding = pd.DataFrame({
        "date": pd.to_datetime([e[0] for e in recorded], unit="ms", utc=True),
        "rate": [e[1] for e in recorded], "mark": [e[2] for e in recorded],
    })  # fmt: skip
    expected = backtest(
        "sma_cross", window, PARAMS, cash="1000", stake="50%", symbol=SYMBOL, timeframe="5m",
        start=pd.Timestamp(first_live, unit="ms", tz="UTC"), funding={SYMBOL: funding},
        instruments={SYMBOL: instrument_from_settings(settings["instruments"][SYMBOL])},
    ).trades  # fmt: skip
    columns = ["side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "fees",
               "funding", "pnl"]  # fmt: skip
    pd.testing.assert_frame_equal(
        trades[columns].reset_index(drop=True), expected[columns].reset_index(drop=True)
    )
    assert (expected["funding"] != 0).sum() == (trades["funding"] != 0).sum()
    # The drift report replays the recorded funding too: no differences.
    report = drift_report(run)
    assert report.ok, report.differences
