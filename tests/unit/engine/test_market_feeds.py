"""Trades and order books fed to the engine: on_trade and on_book hooks, and market orders that
walk the book, on the real Binance BTCUSDT trades and quotes and the real Bybit XRPUSDT book."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.book.book import OrderBook
from tradewind.book.readers.bybit import decode_bybit_orderbook
from tradewind.book.readers.trades import (
    decode_binance_quotes_parquet,
    decode_binance_trades_parquet,
)
from tradewind.book.tape import TradeTape
from tradewind.core.errors import UserError
from tradewind.core.instrument import FeeSide, Instrument
from tradewind.core.intents import IntentAction
from tradewind.core.records import Side, Trade
from tradewind.engine.bus import MessageBus
from tradewind.execution.parent import Parent
from tradewind.strategies import Param, Strategy, StrategyContext

BTC = "BTC/USDT"
XRP = "XRP/USDT"


def _second_bars(ts: np.ndarray, price: np.ndarray, amount: np.ndarray) -> pd.DataFrame:
    """One-second candles from real prints (trades, or book mids with zero volume)."""
    frame = pd.DataFrame(
        {"price": price, "amount": amount}, index=pd.to_datetime(ts, unit="ms", utc=True)
    )
    bars = (
        frame.resample("1s")
        .agg({"price": ["first", "max", "min", "last"], "amount": "sum"})
        .dropna()
    )
    bars.columns = ["open", "high", "low", "close", "volume"]
    return bars


@pytest.fixture(scope="module")
def btc(shared_data: Path) -> tuple[TradeTape, pd.DataFrame]:
    tape = decode_binance_trades_parquet(
        shared_data / "trades" / "binance-btcusdt-trades.parquet", symbol=BTC
    )
    return tape, _second_bars(tape.ts, tape.price, tape.amount)


def _spot(symbol: str, tick: str, lot: str) -> dict[str, Instrument]:
    base, quote = symbol.split("/")
    return {symbol: Instrument(symbol=symbol, base=base, quote=quote, price_step=Decimal(tick),
                               amount_step=Decimal(lot), fee_side=FeeSide.QUOTE)}  # fmt: skip


class WhaleFollower(Strategy):
    """Buy after a large aggressive buy; sell ``hold_s`` seconds later by a timer."""

    name = "whale_follower"
    size = Param(0.5)
    hold_s = Param(5)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.seen: list[int] = []
        self.whales: list[int] = []

    def on_trade(self, ctx: StrategyContext, trade: Trade) -> None:
        assert ctx.ts == trade.ts
        self.seen.append(trade.ts)
        if (
            trade.side is Side.BUY
            and float(trade.amount) >= self.size
            and ctx.position(trade.symbol) == 0
        ):
            self.whales.append(trade.ts)
            ctx.emit(trade.symbol, IntentAction.ENTER_LONG, reason="whale")
            ctx.set_timer(trade.ts + self.hold_s * 1000, trade.symbol)

    def on_timer(self, ctx: StrategyContext, name: str) -> None:
        if ctx.position(name) > 0:
            ctx.emit(name, IntentAction.EXIT_LONG, reason="timer")


def test_on_trade_sees_every_trade_in_order_and_acts_at_the_next_bar(
    btc: tuple[TradeTape, pd.DataFrame],
) -> None:
    tape, bars = btc
    strategy = WhaleFollower(size=0.5)
    result = backtest(strategy, {BTC: bars}, cash=10_000, fee=0.001, stake="1000",
                      instruments=_spot(BTC, "0.01", "0.000001"), trades={BTC: tape})  # fmt: skip
    assert strategy.seen == tape.ts.tolist()
    assert len(result.trades) >= 3
    opens = bars.index.as_unit("ms").asi8
    for entry in result.trades["entry_time"]:
        # The first whale print before this entry: the order it made fills at the next bar open.
        whale = max(w for w in strategy.whales if w <= entry.value // 1_000_000)
        assert entry.value // 1_000_000 == opens[np.searchsorted(opens, whale, side="left")]


class BookWatcher(Strategy):
    """Records the top of the book at every update."""

    name = "book_watcher"

    def __init__(self) -> None:
        super().__init__()
        self.tops: list[tuple[int, float, float]] = []

    def on_book(self, ctx: StrategyContext, book: OrderBook) -> None:
        self.tops.append((ctx.ts, book.best_bid(), book.best_ask()))


def test_on_book_sees_each_quote_as_the_live_book(
    btc: tuple[TradeTape, pd.DataFrame], shared_data: Path
) -> None:
    _, bars = btc
    quotes = decode_binance_quotes_parquet(
        shared_data / "trades" / "binance-btcusdt-quotes.parquet", symbol=BTC
    )
    watcher = BookWatcher()
    backtest(watcher, {BTC: bars}, instruments=_spot(BTC, "0.01", "0.000001"), books={BTC: quotes})
    assert watcher.tops == list(
        zip(quotes.ts.tolist(), quotes.bid.tolist(), quotes.ask.tolist(), strict=True)
    )


class BuyOnce(Strategy):
    """Buys at market at the first book update after ``after_ms``."""

    name = "buy_once"
    after_ms = Param(2_000)

    def on_book(self, ctx: StrategyContext, book: OrderBook) -> None:
        if not hasattr(self, "start"):
            self.start = ctx.ts
        if (
            ctx.ts >= self.start + self.after_ms
            and ctx.position(XRP) == 0
            and not hasattr(self, "sent")
        ):
            self.sent = ctx.ts
            ctx.emit(XRP, IntentAction.ENTER_LONG, reason="walk")


def test_market_orders_walk_the_real_book(shared_data: Path) -> None:
    stream = decode_bybit_orderbook(
        shared_data / "orderbook" / "bybit-xrpusdt-ob500.data.zip", symbol=XRP
    )
    # Candles from the book's own mid, one a second (real prices; no traded volume recorded).
    mids, book = [], OrderBook(XRP)
    for i in range(stream.message_count):
        book.apply_message(stream, i)
        mids.append(book.mid())
    bars = _second_bars(stream.msg_ts, np.array(mids), np.zeros(len(mids)))
    buyer = BuyOnce()
    spend = 200_000.0  # USDT, deep enough to walk many ask levels
    result = backtest(buyer, {XRP: bars}, cash=1_000_000, fee=0.0, stake=str(spend),
                      instruments=_spot(XRP, "0.0001", "0.1"), books={XRP: stream}, book_walk=True)  # fmt: skip
    orders = result.orders
    assert len(orders) == 1
    fill_time = int(pd.Timestamp(orders["created"].iloc[0]).value // 1_000_000)
    opens = bars.index.as_unit("ms").asi8
    fill_bar_open = opens[np.searchsorted(opens, fill_time, side="left")]
    # Rebuild the asks independently, with a dict, from every message up to the fill.
    asks: dict[float, float] = {}
    for i in range(stream.message_count):
        if stream.msg_ts[i] > fill_bar_open:
            break
        if stream.msg_snapshot[i]:
            asks.clear()
        for k in range(stream.msg_start[i], stream.msg_end[i]):
            if stream.level_side[k] == 1:
                if stream.level_size[k] == 0:
                    asks.pop(stream.level_price[k], None)
                else:
                    asks[stream.level_price[k]] = stream.level_size[k]
    left, bought = spend, 0.0
    for price in sorted(asks):
        take = min(asks[price], left / price)
        bought += take
        left -= take * price
        if left <= 1e-9:
            break
    expected_vwap = spend / bought
    average = orders["average_price"].iloc[0]
    assert average == pytest.approx(expected_vwap, abs=0.0001)  # within one tick, rounded up
    assert average >= expected_vwap - 1e-12
    assert (
        average > bars["open"].loc[pd.Timestamp(fill_bar_open, unit="ms", tz="UTC")]
    )  # it cost more than the mid


def test_feeds_for_unknown_symbols_and_book_walk_without_books_are_refused(
    btc: tuple[TradeTape, pd.DataFrame],
) -> None:
    tape, bars = btc
    with pytest.raises(UserError, match="trades given for ETH/USDT"):
        backtest(WhaleFollower(), {BTC: bars}, trades={"ETH/USDT": tape})
    with pytest.raises(UserError, match="book_walk needs books"):
        backtest("sma_cross", {BTC: bars}, book_walk=True)


def test_parents_read_the_fed_book_and_their_children_fill_by_the_bars(
    btc: tuple[TradeTape, pd.DataFrame], shared_data: Path
) -> None:
    tape, bars = btc
    quotes = decode_binance_quotes_parquet(
        shared_data / "trades" / "binance-btcusdt-quotes.parquet", symbol=BTC
    )
    bus = MessageBus()
    parents: list[Parent] = []
    bus.subscribe("parent.created", lambda _topic, parent: parents.append(parent))
    result = backtest(WhaleFollower(size=0.5), {BTC: bars}, cash=10_000, fee=0.001, stake="1000",
                      instruments=_spot(BTC, "0.01", "0.000001"), trades={BTC: tape},
                      books={BTC: quotes}, bus=bus, execution="market:guard_bps=5")  # fmt: skip
    assert len(parents) >= 3
    for parent in parents:
        # The arrival is the book's mid at the decision (not a bar's close), and the guard caps
        # the child at 5 bps from it.
        k = int(np.searchsorted(quotes.ts, parent.created_ts, side="right")) - 1
        mid = (Decimal(repr(float(quotes.bid[k]))) + Decimal(repr(float(quotes.ask[k])))) / 2
        assert parent.arrival_mid == mid
    filled = result.orders[result.orders["filled"] > 0]
    assert len(filled) >= 3
    for row in filled.itertuples():
        parent = next(p for p in parents if row.client_id.startswith(f"{p.parent_id}-"))
        cap = float(parent.arrival_mid) * (1 + 5e-4 if row.side == "buy" else 1 - 5e-4)
        assert (row.average_price <= cap) if row.side == "buy" else (row.average_price >= cap)


def test_auto_reads_the_fed_book_to_choose(
    btc: tuple[TradeTape, pd.DataFrame], shared_data: Path
) -> None:
    tape, bars = btc
    quotes = decode_binance_quotes_parquet(
        shared_data / "trades" / "binance-btcusdt-quotes.parquet", symbol=BTC
    )
    bus = MessageBus()
    parents: list[Parent] = []
    bus.subscribe("parent.created", lambda _topic, parent: parents.append(parent))
    backtest(WhaleFollower(size=0.5), {BTC: bars}, cash=10_000, fee=0.001, stake="1000",
             instruments=_spot(BTC, "0.01", "0.000001"), trades={BTC: tape}, books={BTC: quotes},
             bus=bus, execution="auto:guard_bps=5")  # fmt: skip
    # The real top of book varies enough for the policy to pick more than one rule here.
    assert len({p.chosen_by.split(":")[0] for p in parents}) >= 2
    for parent in parents:
        k = int(np.searchsorted(quotes.ts, parent.created_ts, side="right")) - 1
        depth = float(quotes.ask_size[k] if parent.side is Side.BUY else quotes.bid_size[k])
        spread = (float(quotes.ask[k]) - float(quotes.bid[k])) / float(parent.arrival_mid) * 1e4
        if spread <= 2 and float(parent.quantity) <= depth:  # the top level takes it at once
            assert parent.chosen_by.startswith("rule 2")
            assert parent.spec.algo.value == "market"
        else:
            assert not parent.chosen_by.startswith("rule 2")
