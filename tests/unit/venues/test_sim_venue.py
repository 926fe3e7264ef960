"""The simulated venue on real bars: fill prices, triggers, funds, filters, latency, participation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.core.events import (
    OrderAccepted,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
)
from tradewind.core.instrument import FeeSide, Instrument
from tradewind.core.orders import Order, OrderType, TimeInForce
from tradewind.core.records import Side
from tradewind.core.timeframe import Timeframe
from tradewind.series.bars import BarSeries
from tradewind.venues.sim import FillModel, SimVenue
from tradewind.venues.sim.fill_model import FillAt

SYMBOL = "BTC/USD"


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> BarSeries:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=3000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return BarSeries.from_frame(frame, SYMBOL, Timeframe.parse("1m"))


def _instrument(**kw: object) -> Instrument:
    base = {"symbol": SYMBOL, "base": "BTC", "quote": "USD", "price_step": Decimal("0.5"),
            "amount_step": Decimal("0.00000001"), "fee_side": FeeSide.QUOTE,
            "maker_fee": Decimal("0.0002"), "taker_fee": Decimal("0.0005")}  # fmt: skip
    base.update(kw)
    return Instrument(**base)  # type: ignore[arg-type]


def _venue(bars: BarSeries, usd: str = "100000", btc: str = "0", **model: object) -> SimVenue:
    balances = {"USD": Decimal(usd), "BTC": Decimal(btc)}
    return SimVenue({SYMBOL: _instrument()}, {SYMBOL: bars}, balances, FillModel(**model))  # type: ignore[arg-type]


def _close_time(bars: BarSeries, i: int) -> int:
    return int(bars.ts[i]) + bars.timeframe.ms


def _run_until_done(venue: SimVenue) -> list[object]:
    events: list[object] = []
    while (j := venue.next_bar(SYMBOL)) is not None:
        events += venue.process_bar(SYMBOL, j)
    return events


def test_market_buy_fills_at_next_open_with_taker_fee(bars: BarSeries) -> None:
    venue = _venue(bars)
    order = Order("a", SYMBOL, Side.BUY, OrderType.MARKET, Decimal("0.5"))
    assert isinstance(venue.submit(order, _close_time(bars, 10))[0], OrderAccepted)
    assert venue.next_bar(SYMBOL) == 11
    (event,) = venue.process_bar(SYMBOL, 11)
    assert isinstance(event, OrderFilled)
    price = Decimal(repr(float(bars.open[11])))
    assert event.fill.price == price
    assert event.fill.fee == price * Decimal("0.5") * Decimal("0.0005")
    assert venue.balance("BTC") == Decimal("0.5")
    assert venue.balance("USD") == Decimal(100000) - price * Decimal("0.5") - event.fill.fee


def test_fill_at_close_trades_at_the_signal_bar(bars: BarSeries) -> None:
    venue = _venue(bars, fill_at=FillAt.CLOSE)
    events = venue.submit(
        Order("a", SYMBOL, Side.BUY, OrderType.MARKET, Decimal("0.1")), _close_time(bars, 10)
    )
    fill = next(e for e in events if isinstance(e, OrderFilled)).fill
    assert fill.price == Decimal(repr(float(bars.close[10])))


def test_limit_buy_rests_until_the_low_reaches_it_and_is_a_maker(bars: BarSeries) -> None:
    venue = _venue(bars)
    i = 100
    level = float(np.min(bars.low[i + 1 : i + 400])) + 0.5  # reached somewhere in the next 400 bars
    limit = Decimal(repr(level))
    venue.submit(
        Order("a", SYMBOL, Side.BUY, OrderType.LIMIT, Decimal("1"), price=limit),
        _close_time(bars, i),
    )
    expected = i + 1 + int(np.flatnonzero(bars.low[i + 1 :] <= level)[0])
    assert venue.next_bar(SYMBOL) == expected
    (event,) = venue.process_bar(SYMBOL, expected)
    assert isinstance(event, OrderFilled)
    opened_below = float(bars.open[expected]) <= level
    assert event.fill.price == (
        Decimal(repr(float(bars.open[expected]))) if opened_below else limit
    )
    assert event.fill.liquidity.value == "maker"
    assert event.fill.fee == event.fill.price * Decimal("0.0002")


def test_post_only_that_would_take_is_rejected_with_binance_message(bars: BarSeries) -> None:
    venue = _venue(bars)
    above = Decimal(repr(float(bars.close[10]))) + Decimal("100")
    order = Order("a", SYMBOL, Side.BUY, OrderType.LIMIT, Decimal("1"), price=above, post_only=True)
    (event,) = venue.submit(order, _close_time(bars, 10))
    assert isinstance(event, OrderRejected)
    assert event.reason == "Order would immediately match and take."


def test_sell_stop_triggers_on_the_low_and_fills_at_trigger_or_gap_open(bars: BarSeries) -> None:
    venue = _venue(bars, btc="1")
    i = 200
    level = float(bars.close[i]) - 150.0
    order = Order(
        "s",
        SYMBOL,
        Side.SELL,
        OrderType.STOP_MARKET,
        Decimal("1"),
        trigger_price=Decimal(repr(level)),
    )
    venue.submit(order, _close_time(bars, i))
    expected = i + 1 + int(np.flatnonzero(bars.low[i + 1 :] <= level)[0])
    events = venue.process_bar(SYMBOL, venue.next_bar(SYMBOL) or -1)
    assert isinstance(events[0], OrderTriggered)
    fill = events[1]
    assert isinstance(fill, OrderFilled)
    gap = float(bars.open[expected]) <= level
    assert float(fill.fill.price) == (float(bars.open[expected]) if gap else level)


def test_insufficient_funds_are_rejected_with_binance_message(bars: BarSeries) -> None:
    venue = _venue(bars, usd="100")
    venue.submit(
        Order("a", SYMBOL, Side.BUY, OrderType.MARKET, Decimal("1")), _close_time(bars, 10)
    )
    (event,) = venue.process_bar(SYMBOL, 11)
    assert isinstance(event, OrderExpired)
    assert event.reason == "Account has insufficient balance for requested action."
    assert venue.balance("USD") == Decimal("100")


def test_quote_amount_order_buys_what_the_cash_pays_for_fee_included(bars: BarSeries) -> None:
    venue = _venue(bars, usd="1000")
    order = Order(
        "a", SYMBOL, Side.BUY, OrderType.MARKET, Decimal("0"), quote_quantity=Decimal("1000")
    )
    venue.submit(order, _close_time(bars, 10))
    (event,) = venue.process_bar(SYMBOL, 11)
    assert isinstance(event, OrderFilled)
    price = event.fill.price
    assert event.order_quantity == event.fill.quantity
    assert event.fill.quantity * price * Decimal("1.0005") <= Decimal(1000)
    assert (event.fill.quantity + Decimal("0.00000001")) * price * Decimal("1.0005") > Decimal(1000)
    assert venue.balance("USD") >= 0


def test_latency_delays_the_fill_to_the_first_bar_opening_after_it(bars: BarSeries) -> None:
    venue = _venue(bars, latency_ms=90_000)  # 1.5 bars of 1 minute
    venue.submit(
        Order("a", SYMBOL, Side.BUY, OrderType.MARKET, Decimal("0.1")), _close_time(bars, 10)
    )
    assert venue.next_bar(SYMBOL) == 13  # bar 11 opened at the submit time, bar 12 half a bar later


def test_participation_cap_splits_a_large_order_over_bars(bars: BarSeries) -> None:
    # The BTC-perp file counts volume in USD; the venue counts base units, so convert at the close.
    base_volume = bars.volume / bars.close
    bars = BarSeries(
        SYMBOL, bars.timeframe, bars.ts, bars.open, bars.high, bars.low, bars.close, base_volume
    )
    venue = _venue(bars, usd="100000000", max_participation=0.1)
    volume = float(bars.volume[11])
    quantity = Decimal(repr(round(volume * 0.25, 8)))
    venue.submit(Order("a", SYMBOL, Side.BUY, OrderType.MARKET, quantity), _close_time(bars, 10))
    fills = [e for e in _run_until_done(venue) if isinstance(e, OrderFilled)]
    assert len(fills) >= 2
    assert float(fills[0].fill.quantity) <= volume * 0.1 + 1e-8
    assert sum(f.fill.quantity for f in fills) == quantity


def test_ioc_limit_that_does_not_fill_on_its_first_bar_expires(bars: BarSeries) -> None:
    venue = _venue(bars)
    # Reached later in the data, never on the first bar the order is live in (bar 11).
    later = int(np.flatnonzero(bars.low[12:] < float(bars.low[11]))[0]) + 12
    price = Decimal(repr(float(bars.low[later])))
    order = Order("a", SYMBOL, Side.BUY, OrderType.LIMIT, Decimal("1"), price=price,
                  time_in_force=TimeInForce.IOC)  # fmt: skip
    venue.submit(order, _close_time(bars, 10))
    # Only its first bar can fill an IOC: it expires there, not at the later bar that reaches it.
    assert venue.next_bar(SYMBOL) == 11
    assert [type(e) for e in venue.process_bar(SYMBOL, 11)] == [OrderExpired]
    assert venue.next_bar(SYMBOL) is None
    near = Decimal(repr(float(bars.open[11])))
    ioc = Order(
        "b",
        SYMBOL,
        Side.BUY,
        OrderType.LIMIT,
        Decimal("1"),
        price=near,
        time_in_force=TimeInForce.IOC,
    )
    venue.submit(ioc, _close_time(bars, 10))
    events = venue.process_bar(SYMBOL, 11)
    assert any(isinstance(e, OrderFilled) for e in events)
    assert not any(isinstance(e, OrderExpired) for e in events)
