"""A paper session with the ``book`` fill model against the exchange simulator: its market orders
walk the live L2 book (the simulator's depth stream through the real ``ccxt.pro`` client), and the
drift report, replaying the books the session recorded, finds no difference.

The simulator serves each candle as a walk with a book of a few thin levels around the trade
(:mod:`tradewind.exchange_sim.candle_flow`), so an entry of half the account walks several levels
and fills away from the bar's open.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.book.book import OrderBook
from tradewind.connectors.config import ExchangeConfig
from tradewind.data.session_recording import read_table
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.session.drift import drift_report
from tradewind.session.paper import PaperConfig, PaperSession
from tradewind.session.paper_books import recorded_books
from tradewind.venues.sim import FillModel

SYMBOL = "XRP/ETH"
PARAMS = {"fast": 5, "slow": 15}
WARMUP = 60
BARS = 150


@pytest.mark.slow
async def test_a_paper_session_walks_the_live_book_and_its_drift_replays_it(
    shared_data: Path, tmp_path: Path
) -> None:
    # Arrange: the recorded XRP/ETH minutes, replayed as fast as the session reads them.
    sim = SimExchange(seed=11, clock=SimClock(speed=math.inf), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    run_dir = tmp_path / "run"

    # Act
    async with LoopbackServer(sim) as server:
        config = PaperConfig(
            exchange=ExchangeConfig(rest_url=server.rest_url, rate_limit=False, timeout_ms=15_000),
            strategies=strategies_from("sma_cross", PARAMS),
            symbols=(SYMBOL,), timeframe="1m",
            spec=BacktestSpec(account=Account(cash="2", stake="50%"),
                              fill=FillModel(book_walk=True)),
            run_dir=run_dir, warmup_bars=WARMUP, max_bars=BARS,
        )  # fmt: skip
        result = await PaperSession(config).run()

    # Assert: it traded, on books it recorded.
    trades = result.trades
    assert result.meta["bars_traded"] == BARS
    assert len(trades) >= 5, "too few round trips to prove anything"
    settings = orjson.loads((run_dir / "session.json").read_bytes())
    assert settings["fill"]["book_walk"] is True
    books = recorded_books(run_dir)[SYMBOL]
    assert books.message_count >= BARS, "fewer book snapshots than bars"
    # The fills walked the book: each entry beyond the best level of the book in force when it
    # reached the venue (latency 0: the last snapshot at or before its bar's open), within the
    # levels shown, and away from the open a next_open fill would take.
    opens = read_table(run_dir, "bars").drop_duplicates("date").set_index("date")["open"]
    for _, trade in trades.iterrows():
        at = int(pd.Timestamp(trade["entry_time"]).value // 1_000_000)
        shown = OrderBook(SYMBOL)
        shown.apply_message(books, int(np.searchsorted(books.msg_ts, at, side="right")) - 1)
        levels, _ = shown.asks() if trade["side"] == "long" else shown.bids()
        best, worst = sorted((float(levels[0]), float(levels[-1])))
        price = float(trade["entry_price"])
        assert best < price <= worst or math.isclose(price, worst), (trade, best, worst)
        assert not math.isclose(price, float(opens.loc[trade["entry_time"]]), rel_tol=1e-9)

    # The drift report replays the recorded books: no difference.
    clean = drift_report(run_dir)
    assert clean.ok, clean.differences
    assert clean.session_trades == clean.backtest_trades == len(trades)

    # Without the books the replay fills at the opens, and the report says so.
    plain = tmp_path / "plain"
    shutil.copytree(run_dir, plain)
    settings["fill"]["book_walk"] = False
    (plain / "session.json").write_bytes(orjson.dumps(settings))
    differs = drift_report(plain)
    assert any(d.what == "entry_price" for d in differs.differences), differs.differences
