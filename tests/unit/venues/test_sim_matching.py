"""The simulator's matching engine on the real Bybit XRPUSDT book: liquidity consumption, replay
moves, price-time priority, trade-through fills, self-trade prevention, OCO legs, liquidation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradewind.book.readers.bybit import decode_bybit_orderbook
from tradewind.exchange_sim.accounts import KeyRing
from tradewind.exchange_sim.candle_flow import CandleFlow
from tradewind.exchange_sim.engine import LiveMarket, MatchingEngine
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.ledgers import positions_of
from tradewind.exchange_sim.listings import Api, Listing
from tradewind.exchange_sim.order_params import parse_order
from tradewind.exchange_sim.orders import OrderStore
from tradewind.exchange_sim.replay import (
    RecordedBook,
    ReplayStep,
    ReplayTrade,
    book_from_depth_stream,
)
from tradewind.exchange_sim.served_candles import GridCandles
from tradewind.exchange_sim.tables import KlineTable

D = Decimal
SPOT = Listing(
    symbol="XRPUSDT", base="XRP", quote="USDT", tick_size=D("0.0001"), step_size=D("0.1")
)


class Recorder:
    """A sink that keeps what the engine sent."""

    def __init__(self) -> None:
        self.diffs: list[Any] = []
        self.trades: list[Any] = []
        self.orders: list[tuple[int, str, str]] = []

    def order_update(self, order: Any, exec_type: str, fill: Any) -> None:
        self.orders.append((order.order_id, exec_type, order.status))

    def account_update(self, account: Any, futures: bool, symbols: set[str]) -> None:
        pass

    def public_trade(
        self,
        market: Any,
        trade_id: int,
        price: D,
        qty: D,
        buyer_maker: bool,
        time_ms: int | None = None,
    ) -> None:
        self.trades.append((price, qty, buyer_maker))

    def depth_diff(self, market: Any, diff: Any) -> None:
        self.diffs.append(diff)


@pytest.fixture(scope="module")
def recording(shared_data: Path) -> RecordedBook:
    stream = decode_bybit_orderbook(shared_data / "orderbook" / "bybit-xrpusdt-ob500.data.zip")
    return book_from_depth_stream(stream, SPOT.tick_size, SPOT.step_size)


@pytest.fixture
def setup(recording: RecordedBook) -> tuple[MatchingEngine, LiveMarket, KeyRing, Recorder]:
    clock = iter(range(1_700_000_000_000, 1_800_000_000_000, 10))
    sink = Recorder()
    engine = MatchingEngine(lambda: next(clock), OrderStore(), sink)
    keys = KeyRing()
    engine.accounts = keys.accounts
    market = engine.add_market(SPOT, futures=False)
    engine.apply_step(market, recording.steps[0])
    return engine, market, keys, sink


def _account(keys: KeyRing, name: str) -> Any:
    return keys.create(name, balances={"USDT": D(100_000), "XRP": D(50_000)}).account


def _order(engine: MatchingEngine, market: LiveMarket, account: Any, **params: str) -> Any:
    req = parse_order(params, market.listing, futures=market.futures,
                      best_opposite=market.best_opposite(params["side"] == "BUY"))  # fmt: skip
    return engine.place(account, market, req)


def test_taker_consumes_replayed_levels_and_ids_stay_continuous(setup: Any) -> None:
    engine, market, keys, sink = setup
    best = market.book.asks.best()
    top = market.book.asks.replay[best]
    order = _order(
        engine, market, _account(keys, "a"), side="BUY", type="MARKET", quantity=str(top + 1)
    )
    assert order.status == "FILLED"
    assert next(f["price"] for f in order.fills) == str(best)
    assert market.book.asks.best() > best  # the best level was taken whole
    for prev, nxt in zip(sink.diffs, sink.diffs[1:], strict=False):
        assert nxt[0] == prev[1] + 1  # U follows the previous u
        assert nxt[2] == prev[1]  # pu


def test_consumed_liquidity_returns_when_the_replay_touches_the_level(
    setup: Any, recording: RecordedBook
) -> None:
    engine, market, _keys, _ = setup
    later = next(s for s in recording.steps[1:] if s.asks)
    price, recorded = next(iter(later.asks.items()))
    if price not in market.book.asks.replay or recorded == 0:
        pytest.skip("the first touched ask level is not resting in the snapshot")
    market.book.take_replay(False, price, market.book.asks.replay[price])
    assert market.book.asks.published(price) == 0
    engine.apply_step(market, ReplayStep(1, {}, {price: recorded}))
    assert market.book.asks.published(price) == recorded


def test_price_time_priority_replay_first_then_oldest(setup: Any) -> None:
    engine, market, keys, _ = setup
    bid = market.book.bids.best()
    ahead = market.book.bids.replay[bid]
    first = _order(
        engine,
        market,
        _account(keys, "first"),
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="100",
        price=str(bid),
    )
    second = _order(
        engine,
        market,
        _account(keys, "second"),
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="100",
        price=str(bid),
    )
    _order(engine, market, _account(keys, "seller"), side="SELL", type="LIMIT", timeInForce="IOC",
           quantity=str(ahead + 50), price=str(bid))  # fmt: skip
    assert first.filled == 50
    assert first.status == "PARTIALLY_FILLED"
    assert second.filled == 0
    assert market.book.bids.replay.get(bid, 0) == 0


def test_replayed_trades_fill_resting_orders_after_the_queue_ahead(setup: Any) -> None:
    engine, market, keys, _ = setup
    bid = market.book.bids.best()
    ahead = market.book.bids.replay[bid]
    buyer = _account(keys, "b")
    at_bid = _order(
        engine,
        market,
        buyer,
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="100",
        price=str(bid),
    )
    engine.apply_step(market, ReplayStep(1, trades=[ReplayTrade(bid, ahead, True)]))
    assert at_bid.filled == 0  # the trade only used up the queue ahead
    engine.apply_step(market, ReplayStep(2, trades=[ReplayTrade(bid, D(30), True)]))
    assert at_bid.filled == 30
    engine.apply_step(market, ReplayStep(3, trades=[ReplayTrade(bid - D("0.001"), D(500), True)]))
    assert at_bid.status == "FILLED"  # a trade through the price fills it


def test_replay_crossing_a_resting_order_fills_it_as_maker(setup: Any) -> None:
    engine, market, keys, _ = setup
    ask = market.book.asks.best()
    buyer = _account(keys, "b")
    resting = _order(engine, market, buyer, side="BUY", type="LIMIT", timeInForce="GTC", quantity="10",
                     price=str(ask - 2 * SPOT.tick_size))  # fmt: skip
    assert resting.status == "NEW"
    engine.apply_step(market, ReplayStep(1, {}, {ask - 3 * SPOT.tick_size: D(40)}))
    assert resting.status == "FILLED"
    assert D(resting.fills[0]["price"]) == ask - 2 * SPOT.tick_size
    assert resting.fills[0]["isMaker"] is True
    assert market.book.asks.published(ask - 3 * SPOT.tick_size) == 30


def test_self_trade_expires_the_resting_order(setup: Any) -> None:
    engine, market, keys, _sink = setup
    me = _account(keys, "me")
    ask = market.book.asks.best()
    above = ask + SPOT.tick_size
    mine = _order(
        engine,
        market,
        me,
        side="SELL",
        type="LIMIT",
        timeInForce="GTC",
        quantity="10",
        price=str(above),
    )
    sweep = market.book.asks.replay[ask] + market.book.asks.replay.get(above, D(0)) + 10
    taker = _order(
        engine,
        market,
        me,
        side="BUY",
        type="LIMIT",
        timeInForce="IOC",
        quantity=str(sweep),
        price=str(above),
    )
    assert mine.status == "EXPIRED_IN_MATCH"
    assert mine.filled == 0
    assert taker.filled == sweep - 10
    assert me.balance("XRP").locked == 0


def test_oco_fill_expires_the_other_leg_and_keeps_balances_exact(setup: Any) -> None:
    engine, market, keys, _ = setup
    seller = _account(keys, "s")
    ask = market.book.asks.best()
    reservation = seller.lock("XRP", D(100))
    reservation.holders = 2
    list_id = engine.store.next_list_id()
    legs: list[Any] = []
    engine.store.lists[list_id] = legs
    for params in (
        {"side": "SELL", "type": "LIMIT_MAKER", "quantity": "100", "price": str(ask)},
        {"side": "SELL", "type": "STOP_LOSS_LIMIT", "timeInForce": "GTC", "quantity": "100",
         "price": "1.5", "stopPrice": "1.6"},
    ):  # fmt: skip
        req = parse_order(params, SPOT, futures=False, best_opposite=None)
        legs.append(engine.place(seller, market, req, list_id=list_id, reservation=reservation))
    buyer = _account(keys, "b")
    ahead = market.book.asks.replay[ask]
    _order(
        engine,
        market,
        buyer,
        side="BUY",
        type="LIMIT",
        timeInForce="IOC",
        quantity=str(ahead + 100),
        price=str(ask),
    )
    assert legs[0].status == "FILLED"
    assert legs[1].status == "EXPIRED"
    assert seller.balance("XRP").locked == 0
    assert seller.balance("XRP").free == D(50_000) - 100
    assert seller.balance("USDT").free == D(100_000) + ask * 100 * (1 - D("0.001"))


def test_insufficient_balance_refused_before_anything_changes(setup: Any) -> None:
    engine, market, keys, _ = setup
    poor = keys.create("poor", balances={"USDT": D(10)}).account
    with pytest.raises(BinanceError, match="insufficient balance"):
        _order(
            engine,
            market,
            poor,
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="100",
            price="1.9",
        )
    assert poor.balance("USDT").free == 10
    assert poor.balance("USDT").locked == 0


def test_isolated_long_is_liquidated_when_the_candle_flow_falls(shared_data: Path) -> None:
    import pandas as pd

    frame = pd.read_feather(shared_data / "futures" / "XRP_USDT_USDT-5m-futures.feather")
    perp = Listing(symbol="XRPUSDT", base="XRP", quote="USDT", api=Api.USDM,
                   tick_size=D("0.0001"), step_size=D("0.1"))  # fmt: skip
    flow = CandleFlow(
        "XRPUSDT",
        GridCandles.from_table(KlineTable.from_frame(frame, "5m"), perp.tick_size),
        perp.tick_size,
        perp.step_size,
        seed=1,
    )
    now = iter(range(1_700_000_000_000, 1_900_000_000_000, 1000))
    engine = MatchingEngine(lambda: next(now), OrderStore(), Recorder())
    keys = KeyRing()
    engine.accounts = keys.accounts
    market = engine.add_market(perp, futures=True)
    steps = iter(flow)
    engine.apply_step(market, next(steps))
    trader = keys.create("t", futures_wallet=D(100)).account
    from tradewind.exchange_sim.futures import set_leverage, set_margin_type

    set_margin_type(trader, "XRPUSDT", "ISOLATED")
    set_leverage(trader, "XRPUSDT", 125)
    _order(engine, market, trader, side="BUY", type="MARKET", quantity="1000")
    pos = positions_of(trader)["XRPUSDT"]
    assert pos.qty == 1000
    for _ in range(20_000):
        engine.apply_step(market, next(steps))
        if pos.qty == 0:
            break
    assert pos.qty == 0
    assert engine.liquidations == 1
    assert trader.futures_wallet >= 0
    liquidation = [o for o in engine.store.by_id.values() if o.type == "LIQUIDATION"]
    assert liquidation[0].client_id.startswith("autoclose-")
