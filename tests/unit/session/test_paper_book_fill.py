"""A paper session with the ``book`` fill model: market orders walk the L2 book fed to the
session, as it stood when the order reached the venue, and the session's fills equal a backtest
given the same bars and the same book messages.

The bundled book recordings are seconds long, so the book here is built from the recorded ETH/BTC
5-minute candles: at each bar's open a snapshot of five levels a side around the open (thin
enough that an order walks several), and mid-bar a delta that empties the best ask and adds a
level behind it (so a fill that read the book after its moment would get another price)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest.api import prepare, run
from tradewind.backtest.spec import Account, BacktestSpec, Feeds, Window
from tradewind.book.stream import NO_ID, DecodedBookStream
from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.series.bars import BarSeries
from tradewind.session.driver import PaperDriver
from tradewind.strategies.builtin import SmaCross
from tradewind.venues.sim import FillModel

WARMUP = 300
LIVE = 700
SYMBOL = "ETH/BTC"
STEP_BPS = 2e-4  # level spacing, a fraction of the price
LEVEL_SIZE = 4.0  # ETH per level: a 50% stake of 1 BTC (~15 ETH) walks four levels


def _frame() -> pd.DataFrame:
    path = bundled_recorded_dir() / "candles" / "ETH_BTC-5m.feather"
    return pd.read_feather(path).iloc[: WARMUP + LIVE].reset_index(drop=True)


def _book(bars: BarSeries) -> DecodedBookStream:
    ts, snapshot, start, end = [], [], [], []
    side: list[int] = []
    price: list[float] = []
    size: list[float] = []

    def message(at: int, is_snapshot: bool, levels: list[tuple[int, float, float]]) -> None:
        ts.append(at)
        snapshot.append(is_snapshot)
        start.append(len(price))
        for s, p, q in levels:
            side.append(s)
            price.append(p)
            size.append(q)
        end.append(len(price))

    for i in range(len(bars)):
        open_ = float(bars.open[i])
        asks = [(1, open_ * (1 + STEP_BPS * k), LEVEL_SIZE) for k in range(1, 6)]
        bids = [(0, open_ * (1 - STEP_BPS * k), LEVEL_SIZE) for k in range(1, 6)]
        message(int(bars.ts[i]), True, bids + asks)
        best_ask = asks[0][1]
        message(int(bars.ts[i]) + 150_000, False,
                [(1, best_ask, 0.0), (1, open_ * (1 + STEP_BPS * 6), LEVEL_SIZE)])  # fmt: skip
    m = len(ts)
    none = np.full(m, NO_ID, dtype=np.int64)
    return DecodedBookStream(
        symbol=SYMBOL, msg_ts=np.array(ts, dtype=np.int64), msg_snapshot=np.array(snapshot),
        msg_first_id=none, msg_last_id=none.copy(), msg_prev_id=none.copy(), msg_seq=none.copy(),
        msg_start=np.array(start, dtype=np.int64), msg_end=np.array(end, dtype=np.int64),
        level_side=np.array(side, dtype=np.int8), level_price=np.array(price),
        level_size=np.array(size),
    )  # fmt: skip


def test_market_orders_walk_the_fed_book_as_the_backtest_does() -> None:
    frame = _frame()
    full = BarSeries.from_frame(frame, SYMBOL, Timeframe.parse("5m"))
    book = _book(full)
    spec = BacktestSpec(account=Account(cash=1, stake="50%"), fill=FillModel(book_walk=True))
    strategy = {"fast": 5, "slow": 20}

    # The session: bars and book messages as they arrive, every message up to a bar's close
    # before that bar.
    driver = PaperDriver(prepare({SYMBOL: frame.iloc[:WARMUP]}, spec), [SmaCross(**strategy)])
    fed = 0
    for i in range(WARMUP, WARMUP + LIVE):
        close = int(full.ts[i]) + full.timeframe.ms
        while fed < book.message_count and book.msg_ts[fed] <= close:
            driver.add_book(SYMBOL, book, fed)
            fed += 1
        driver.add(SYMBOL, full.bar(i))
        driver.flush()
    paper = driver.result()

    first = frame["date"].iloc[WARMUP]
    backtest = run(
        "sma_cross",
        prepare(
            {SYMBOL: frame},
            replace(spec, window=Window(start=first), feeds=Feeds(books={SYMBOL: book})),
        ),
        strategy,
    )
    columns = ["side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "fees",
               "pnl"]  # fmt: skip
    assert len(backtest.trades) >= 5, "too few trades: the comparison proves little"
    pd.testing.assert_frame_equal(
        paper.trades[columns].reset_index(drop=True),
        backtest.trades[columns].reset_index(drop=True),
    )
    # The fills walked the book: each entry cost more than the open it filled at (four levels
    # deep, not the open plus nothing), and matches the snapshot's VWAP at that open.
    opens = frame.set_index("date")["open"]
    for _, trade in paper.trades.iterrows():
        at_open = float(opens.loc[trade["entry_time"]])
        assert trade["entry_price"] > at_open * (1 + STEP_BPS)


def test_a_book_message_older_than_the_last_is_refused() -> None:
    frame = _frame()
    full = BarSeries.from_frame(frame, SYMBOL, Timeframe.parse("5m"))
    book = _book(full)
    spec = BacktestSpec(account=Account(cash=1, stake="50%"), fill=FillModel(book_walk=True))
    driver = PaperDriver(prepare({SYMBOL: frame.iloc[:WARMUP]}, spec), [SmaCross()])
    driver.add_book(SYMBOL, book, 3)
    with pytest.raises(UserError, match="older than the last"):
        driver.add_book(SYMBOL, book, 2)
    with pytest.raises(UserError, match="not traded"):
        driver.add_book("LTC/BTC", book, 4)
