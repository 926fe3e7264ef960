"""The ``book`` fill model's live side: the feed's book becomes snapshots fed to the paper driver
(and recorded), and a ``[[sources.books]]`` book reaches ``on_book`` through the driver only,
once per change, not also through the direct path the other sessions use."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from tradewind.backtest.api import prepare
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.book.book import OrderBook
from tradewind.connectors.source_config import SourcesConfig
from tradewind.core.market_events import BookUpdated
from tradewind.core.records import Bar
from tradewind.core.timeframe import Timeframe
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.data.session_recording import SessionRecorder
from tradewind.series.bars import BarSeries
from tradewind.session.driver import PaperDriver
from tradewind.session.market_needs import MarketNeeds
from tradewind.session.paper_books import BookTape, recorded_books
from tradewind.strategies.base import StrategyContext
from tradewind.strategies.builtin import SmaCross
from tradewind.venues.sim import FillModel

SYMBOL = "ETH/BTC"
WARMUP = 300


class Watching(SmaCross):
    """sma_cross that notes every book it is shown (best ask, the engine's time)."""

    name = "sma_cross_watching"
    seen: ClassVar[list[tuple[float, int]]] = []

    def on_book(self, ctx: StrategyContext, book: OrderBook) -> None:
        Watching.seen.append((book.best_ask(), ctx.ts))


class BookSource:
    """The stand-in for a ``[[sources.books]]`` source set at the network's edge: its queue of
    book updates and the active venue's local book."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[object] = asyncio.Queue()
        self.local = OrderBook(SYMBOL)

    def book(self, symbol: str) -> OrderBook:
        assert symbol == SYMBOL
        return self.local

    def show(self, ts: int, bid: float, ask: float) -> None:
        sides = np.array([0, 0, 1, 1], dtype=np.int8)
        prices = np.array([bid, bid * 0.999, ask, ask * 1.001])
        self.local.apply_snapshot(sides, prices, np.full(4, 2.0), ts=ts, last_id=ts)
        self.events.put_nowait(BookUpdated(SYMBOL, ts, Decimal(str(bid)), Decimal(str(ask)),
                                           False, ts, ts + 5))  # fmt: skip


def _driver() -> tuple[PaperDriver, pd.DataFrame]:
    frame = pd.read_feather(bundled_recorded_dir() / "candles" / "ETH_BTC-5m.feather")
    spec = BacktestSpec(account=Account(cash=1, stake="50%"), fill=FillModel(book_walk=True))
    Watching.seen = []
    driver = PaperDriver(prepare({SYMBOL: frame.iloc[:WARMUP]}, spec), [Watching()])
    return driver, frame


def _needs(source: BookSource) -> MarketNeeds:
    # A config with candles alone opens no set; the stand-in is put where a books set goes.
    exchange = {"rest_url": "http://127.0.0.1:1", "rate_limit": False}
    config = SourcesConfig.model_validate({"candles": [{"name": "a", "exchange": exchange}]})
    needs = MarketNeeds(config, (SYMBOL,))
    needs.sets["books"] = source  # type: ignore[assignment]
    return needs


async def test_a_book_source_reaches_on_book_once_through_the_driver(tmp_path: Path) -> None:
    # Arrange: three book changes within the first live bar, one repeated (the top unchanged).
    driver, frame = _driver()
    recorder = SessionRecorder(tmp_path)
    tape = BookTape(driver, recorder)
    source = BookSource()
    needs = _needs(source)
    needs.book_hook = tape.on_update  # as the session sets it with the book fill
    open_ms = int(frame["date"].iloc[WARMUP].value // 1_000_000)
    asks = [0.0301, 0.0302, 0.0302, 0.0303]
    for k, ask in enumerate(asks):
        source.show(open_ms + 1_000 * (k + 1), ask - 0.0001, ask)
        needs.drain(driver.node, _nothing, _nothing)

    # Assert: nothing reaches on_book before the driver's step puts it in time order.
    assert Watching.seen == []
    driver.add(SYMBOL, _bar(frame, WARMUP))
    driver.flush()

    # Each change once (the repeat is not fed), at its own exchange time, from the driver.
    assert tape.fed == 3
    assert Watching.seen == [(0.0301, open_ms + 1_000), (0.0302, open_ms + 2_000),
                             (0.0303, open_ms + 4_000)]  # fmt: skip
    assert needs.books == 4
    await recorder.close()
    replayed = recorded_books(tmp_path)[SYMBOL]
    assert replayed.message_count == 3
    assert replayed.msg_ts.tolist() == [open_ms + 1_000, open_ms + 2_000, open_ms + 4_000]
    last = OrderBook(SYMBOL)
    last.apply_message(replayed, 2)
    assert last.to_dict() == source.local.to_dict()


async def test_without_the_book_fill_on_book_is_called_directly(tmp_path: Path) -> None:
    driver, frame = _driver()
    source = BookSource()
    needs = _needs(source)
    open_ms = int(frame["date"].iloc[WARMUP].value // 1_000_000)
    source.show(open_ms + 1_000, 0.0300, 0.0301)
    needs.drain(driver.node, _nothing, _nothing)
    assert Watching.seen == [(0.0301, open_ms + 1_000)]


async def test_a_resync_snapshot_dated_before_the_last_is_fed_at_the_last_time(
    tmp_path: Path,
) -> None:
    driver, _ = _driver()
    recorder = SessionRecorder(tmp_path)
    tape = BookTape(driver, recorder)
    source = BookSource()
    source.show(2_000, 0.0300, 0.0301)
    tape.on_update(source.events.get_nowait(), source.local)  # type: ignore[arg-type]
    source.show(1_500, 0.0300, 0.0302)  # an earlier exchange time: the driver would refuse it
    tape.on_update(source.events.get_nowait(), source.local)  # type: ignore[arg-type]
    await recorder.close()
    assert tape.fed == 2
    assert recorded_books(tmp_path)[SYMBOL].msg_ts.tolist() == [2_000, 2_000]


def _nothing(event: object) -> None:
    raise AssertionError(f"only book updates were queued, got {event!r}")


def _bar(frame: pd.DataFrame, i: int) -> Bar:
    return BarSeries.from_frame(frame.iloc[: i + 1], SYMBOL, Timeframe.parse("5m")).bar(i)
