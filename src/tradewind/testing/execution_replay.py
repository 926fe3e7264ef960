"""Run parent orders on the looped real recordings: the bundled Bybit XRPUSDT ob500 stream and the
Binance BTCUSDT quotes and trades, each looped end to end (timestamps shifted by the recording's
length plus one step, so time keeps going forward) to make runs longer than the few seconds
recorded.

The books go into a :class:`tradewind.venues.sim.book_venue.BookVenue` (its rules, replenishment
included, are stated there); a :class:`tradewind.execution.parent.ParentEngine` drives the parent
through a real :class:`tradewind.execution.order_manager.OrderManager`; the result is measured by
:func:`tradewind.execution.tca.measure`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import numpy as np

from tradewind.book.readers.bybit import read_bybit_orderbook
from tradewind.book.readers.trades import (
    decode_binance_quotes_parquet,
    decode_binance_trades_parquet,
)
from tradewind.core.events import FundingPaid, PositionLiquidated, VenueEvent
from tradewind.core.instrument import Instrument
from tradewind.core.orders import ClientIdFactory
from tradewind.core.records import BookSide, Side
from tradewind.execution.algos import AlgoSpec
from tradewind.execution.order_manager import OrderManager
from tradewind.execution.parent import MarketView, Parent, ParentEngine
from tradewind.execution.tca import MarketTape, TcaRecord, measure
from tradewind.testing.shared_data import shared_data_dir
from tradewind.venues.sim.book_venue import BookVenue, Levels

XRPUSDT = Instrument(
    symbol="XRPUSDT", base="XRP", quote="USDT", exchange="bybit", price_step=Decimal("0.0001"),
    amount_step=Decimal("1"), min_notional=Decimal("5"), maker_fee=Decimal("0.0002"),
    taker_fee=Decimal("0.00055"),
)  # fmt: skip
"""Bybit's XRPUSDT linear perpetual rules (tick, lot, minimum notional, base fee rates)."""

BTCUSDT = Instrument(
    symbol="BTCUSDT", base="BTC", quote="USDT", exchange="binance", price_step=Decimal("0.01"),
    amount_step=Decimal("0.00001"), min_notional=Decimal("5"), maker_fee=Decimal("0.001"),
    taker_fee=Decimal("0.001"),
)  # fmt: skip
"""Binance's BTCUSDT spot rules (tick, lot, minimum notional, base fee rates)."""


@dataclass(frozen=True, slots=True)
class Tick:
    """One step of a replay: a book (best first), and the public trade printed at it if any."""

    ts: int
    bids: Levels
    asks: Levels
    trade: tuple[Decimal, Decimal, Side] | None = None


def _d(value: float) -> Decimal:
    return Decimal(repr(float(value)))


@cache
def _bybit_messages() -> tuple[tuple[int, Levels, Levels], ...]:
    root = shared_data_dir()
    assert root is not None, "the bundled recordings are missing"
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    out = []
    starts = True  # the next level opens a message
    for delta in read_bybit_orderbook(root / "orderbook" / "bybit-xrpusdt-ob500.data.zip"):
        if delta.is_snapshot and starts:
            bids.clear()
            asks.clear()
        starts = delta.is_last
        side = bids if delta.side is BookSide.BID else asks
        if delta.size == 0:
            side.pop(delta.price, None)
        else:
            side[delta.price] = delta.size
        if delta.is_last:
            out.append((
                delta.ts,
                sorted(bids.items(), key=lambda kv: -kv[0])[:50],
                sorted(asks.items())[:50],
            ))  # fmt: skip
    return tuple(out)


def bybit_ticks(loops: int) -> Iterator[Tick]:
    """The Bybit XRPUSDT ob500 books, best 50 levels a side, looped ``loops`` times."""
    messages = _bybit_messages()
    span = messages[-1][0] - messages[0][0] + 100
    for k in range(loops):
        for ts, bids, asks in messages:
            yield Tick(ts + k * span, bids, asks)


@cache
def _binance() -> tuple[tuple[int, Levels, Levels, tuple[Decimal, Decimal, Side] | None], ...]:
    root = shared_data_dir()
    assert root is not None, "the bundled recordings are missing"
    quotes = decode_binance_quotes_parquet(root / "trades" / "binance-btcusdt-quotes.parquet")
    trades = decode_binance_trades_parquet(root / "trades" / "binance-btcusdt-trades.parquet")
    events: list[tuple[int, int, int]] = [(int(t), 0, i) for i, t in enumerate(quotes.ts)]
    events += [(int(t), 1, i) for i, t in enumerate(trades.ts)]
    events.sort()
    out = []
    book: tuple[Levels, Levels] | None = None
    for ts, kind, i in events:
        if kind == 0:
            book = ([(_d(quotes.bid[i]), _d(quotes.bid_size[i]))],
                    [(_d(quotes.ask[i]), _d(quotes.ask_size[i]))])  # fmt: skip
            out.append((ts, book[0], book[1], None))
        elif book is not None:
            side = Side.BUY if trades.side[i] > 0 else Side.SELL
            out.append((ts, book[0], book[1], (_d(trades.price[i]), _d(trades.amount[i]), side)))
    return tuple(out)


def binance_ticks(loops: int) -> Iterator[Tick]:
    """The Binance BTCUSDT best bid/ask with its trades, in time order, looped ``loops`` times."""
    messages = _binance()
    span = messages[-1][0] - messages[0][0] + 100
    for k in range(loops):
        for ts, bids, asks, trade in messages:
            yield Tick(ts + k * span, bids, asks, trade)


def candle_ticks(first: int, count: int, cap: Decimal = Decimal("0.1")) -> Iterator[Tick]:
    """Bars ``first .. first + count`` of the bundled BTC-perp 1m month as ticks, by the candle
    rules: one tick at each bar's close, the book one tick either side of the close with
    ``cap`` (the participation cap) of the bar's base volume on each side, and the bar's volume
    printed as one trade at the close (the aggressor by the bar's direction)."""
    root = shared_data_dir()
    assert root is not None, "the bundled recordings are missing"
    bars = _perp_bars()
    for i in range(first, min(first + count, len(bars[0]))):
        ts, open_, close, quote_volume = (int(bars[0][i]), bars[1][i], bars[2][i], bars[3][i])
        price = _d(round(close, 1))
        size = (_d(quote_volume) / price * cap).quantize(Decimal("0.001"))
        tick = Decimal("0.1")
        aggressor = Side.BUY if close >= open_ else Side.SELL
        base = (_d(quote_volume) / price).quantize(Decimal("0.001"))
        yield Tick(ts + 60_000, [(price - tick, size)], [(price + tick, size)],
                   (price, base, aggressor) if base > 0 else None)  # fmt: skip


XRPETH = Instrument(
    symbol="XRPETH", base="XRP", quote="ETH", exchange="sim", price_step=Decimal("0.00000001"),
    amount_step=Decimal("1"), min_notional=Decimal("0.001"), maker_fee=Decimal("0.001"),
    taker_fee=Decimal("0.001"),
)  # fmt: skip
"""The exchange simulator's XRPETH spot listing (its tick, lot and minimum notional; Binance's
base fee)."""


def sim_flow_ticks(count: int, *, seed: int = 7, first_candle: int = 0) -> Iterator[Tick]:
    """``count`` steps of the exchange simulator's candle flow over the bundled XRP/ETH minutes
    (:class:`tradewind.exchange_sim.candle_flow.CandleFlow`, seeded: eight steps a
    candle, ten levels a side, the walk's trade at each step), from candle ``first_candle``.
    Every step replaces the whole book, so what our fills took is back at the next step (about
    7.5 s later)."""
    import itertools

    import pandas as pd

    from tradewind.exchange_sim.candle_flow import CandleFlow
    from tradewind.exchange_sim.served_candles import GridCandles
    from tradewind.exchange_sim.tables import KlineTable

    root = shared_data_dir()
    assert root is not None, "the bundled recordings are missing"
    frame = pd.read_feather(root / "candles" / "XRP_ETH-1m.feather")
    tick = XRPETH.price_step
    table = GridCandles.from_table(KlineTable.from_frame(frame, "1m"), tick)
    flow = CandleFlow("XRPETH", table, tick, XRPETH.amount_step, seed=seed)
    start = int(table.open_ms[first_candle]) - flow.origin_ms
    for step in itertools.islice(flow.steps_from(start), count):
        trade = None
        if step.trades:
            last = step.trades[-1]
            trade = (last.price, last.qty, Side.SELL if last.buyer_maker else Side.BUY)
        yield Tick(flow.origin_ms + step.offset_ms, sorted(step.bids.items(), reverse=True),
                   sorted(step.asks.items()), trade)  # fmt: skip


@cache
def _perp_bars() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import pandas as pd

    root = shared_data_dir()
    assert root is not None, "the bundled recordings are missing"
    frame = pd.read_csv(root / "candles" / "btc-perp-20211231-20220201_1m.csv")
    stamps = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_localize(None)
    ts = stamps.to_numpy(dtype="datetime64[ms]").astype(np.int64)
    return (ts, frame["open"].to_numpy(float), frame["close"].to_numpy(float),
            frame["volume"].to_numpy(float))  # fmt: skip


def perp_history() -> tuple[np.ndarray, np.ndarray]:
    """Open times (ms) and quote volumes of the bundled BTC-perp 1m month."""
    bars = _perp_bars()
    return bars[0], bars[3]


BTCPERP = Instrument(
    symbol="BTC-PERP", base="BTC", quote="USD", exchange="candles", price_step=Decimal("0.1"),
    amount_step=Decimal("0.001"), min_notional=Decimal("5"), maker_fee=Decimal("0.0002"),
    taker_fee=Decimal("0.0005"),
)  # fmt: skip
"""The bundled 1m month's BTC perpetual (tick 0.1, lot 0.001)."""


@dataclass(slots=True)
class ReplayResult:
    """A parent run on a replay: the parent, the engine, the venue and its cost."""

    parent: Parent
    engine: ParentEngine
    venue: BookVenue
    tca: TcaRecord
    children_sent: int


def run_parent(
    ticks: Iterator[Tick],
    instrument: Instrument,
    side: Side,
    quantity: Decimal,
    spec: AlgoSpec,
    *,
    start_after: int = 1,
    replenish_ms: int = 0,
    parent_id: str = "p1",
    observe: Callable[[ParentEngine, Parent, BookVenue], None] | None = None,
    mark_ms: int = 0,
) -> ReplayResult:
    """Start a parent after ``start_after`` ticks and run it until it ends or the ticks do;
    ``observe`` is called after every tick the parent saw (tests check invariants there).
    ``mark_ms``: an unfilled remainder is valued at the mid that long after the start (or at the
    end, when later), so that algorithms of different lengths are compared at one horizon."""
    symbol = instrument.symbol
    venue = BookVenue({symbol: instrument}, replenish_ms=replenish_ms)
    manager = OrderManager(venue, ClientIdFactory("replay", session="s1"), {symbol: instrument},
                           lambda *_: None)  # fmt: skip
    engine = ParentEngine(manager, {symbol: instrument}, lambda *_: None)

    def on_events(events: list[VenueEvent]) -> None:
        for event in events:
            if not isinstance(event, FundingPaid | PositionLiquidated):  # none on a spot book
                engine.apply(event, venue.now)

    venue.subscribe(on_events)
    mid_ts: list[int] = []
    mids: list[float] = []
    trade_ts: list[int] = []
    prices: list[float] = []
    vols: list[float] = []
    volume = Decimal(0)
    parent: Parent | None = None
    for n, tick in enumerate(ticks):
        venue.on_book(symbol, tick.ts, tick.bids, tick.asks)
        if tick.trade is not None:
            price, size, aggressor = tick.trade
            volume += size
            trade_ts.append(tick.ts)
            prices.append(float(price))
            vols.append(float(size))
            venue.on_trade(symbol, tick.ts, price, size, aggressor)
        bid, ask = tick.bids[0][0], tick.asks[0][0]
        mid_ts.append(tick.ts)
        mids.append(float((bid + ask) / 2))
        market = MarketView(tick.ts, bid, ask, volume)
        if parent is None:
            if n + 1 >= start_after:
                parent = engine.create(parent_id, strategy_id="replay", symbol=symbol, side=side,
                                       quantity=quantity, spec=spec, market=market)  # fmt: skip
            continue
        if not parent.is_working:
            if tick.ts >= parent.created_ts + mark_ms:
                break
            continue
        engine.on_market(symbol, market)
        if observe is not None:
            observe(engine, parent, venue)
    assert parent is not None, "the replay ended before the parent started"
    if parent.is_working:
        engine.cancel(parent.parent_id, "replay ended", mid_ts[-1])
    orders = [manager.orders[c] for c in parent.children]
    tape = MarketTape(np.array(mid_ts, np.int64), np.array(mids), np.array(trade_ts, np.int64),
                      np.array(prices), np.array(vols))  # fmt: skip
    record = measure(
        execution_id=parent.parent_id, kind="parent", strategy_id="replay",
        venue=instrument.exchange, algo=spec.algo.value, instrument=instrument, side=side,
        quantity=parent.quantity, fills=[f for o in orders for f in o.fills],
        arrival_mid=float(parent.arrival_mid), start_ts=parent.created_ts,
        end_ts=parent.ended_ts or mid_ts[-1], tape=tape,
        final_ts=parent.created_ts + mark_ms if mark_ms else None,
    )  # fmt: skip
    return ReplayResult(parent, engine, venue, record, len(parent.children))
