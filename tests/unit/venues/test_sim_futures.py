"""Linear perpetuals on the simulated venue, on the real XRP perpetual: margin, reduce-only,
funding and liquidation, each against arithmetic written out here."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.core.errors import UserError
from tradewind.core.events import FundingPaid, OrderExpired, OrderFilled, PositionLiquidated
from tradewind.core.instrument import FeeSide, Instrument, MarketType
from tradewind.core.orders import Order, OrderType
from tradewind.core.records import Side
from tradewind.core.timeframe import Timeframe
from tradewind.series.bars import BarSeries
from tradewind.series.funding import FundingSeries
from tradewind.venues.sim import FillModel, SimVenue

SYMBOL = "XRP/USDT:USDT"
FEE = Decimal("0.0004")


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> BarSeries:
    frame = pd.read_feather(shared_data / "futures" / "XRP_USDT_USDT-5m-futures.feather")
    return BarSeries.from_frame(frame, SYMBOL, Timeframe.parse("5m"))


@pytest.fixture(scope="module")
def funding(shared_data: Path) -> FundingSeries:
    frame = pd.read_feather(shared_data / "futures" / "XRP_USDT_USDT-8h-funding_rate.feather")
    ts = pd.DatetimeIndex(frame["date"]).as_unit("ms").asi8
    return FundingSeries(np.asarray(ts, dtype=np.int64), frame["open"].to_numpy())


def _perp() -> Instrument:
    return Instrument(symbol=SYMBOL, base="XRP", quote="USDT", settle="USDT", market_type=MarketType.SWAP,
                      price_step=Decimal("0.0001"), amount_step=Decimal("0.1"), maker_fee=FEE, taker_fee=FEE,
                      fee_side=FeeSide.QUOTE)  # fmt: skip


def _venue(bars: BarSeries, leverage: str = "5", funding: FundingSeries | None = None) -> SimVenue:
    return SimVenue({SYMBOL: _perp()}, {SYMBOL: bars}, {"USDT": Decimal(1000)}, FillModel(),
                    leverage={SYMBOL: Decimal(leverage)},
                    funding=None if funding is None else {SYMBOL: funding})  # fmt: skip


def _at_close(bars: BarSeries, i: int) -> int:
    return int(bars.ts[i]) + bars.timeframe.ms


def _market(cid: str, side: Side, qty: str, *, reduce_only: bool = False) -> Order:
    return Order(cid, SYMBOL, side, OrderType.MARKET, Decimal(qty), reduce_only=reduce_only)


def _open(venue: SimVenue, bars: BarSeries, i: int, side: Side, qty: str) -> OrderFilled:
    venue.submit(_market(f"o{i}", side, qty), _at_close(bars, i))
    (fill,) = [e for e in venue.process_bar(SYMBOL, i + 1) if isinstance(e, OrderFilled)]
    return fill


def test_opening_locks_initial_margin_and_charges_the_fee(bars: BarSeries) -> None:
    venue = _venue(bars, leverage="5")
    fill = _open(venue, bars, 10, Side.SELL, "1000")
    price = fill.fill.price
    margin = Decimal(1000) * price / 5  # 1000 XRP at 1/5 of the notional
    fee = Decimal(1000) * price * FEE
    assert venue.margin.positions[SYMBOL].quantity == Decimal(-1000)
    assert venue.margin.positions[SYMBOL].margin == margin
    assert venue.balance("USDT") == Decimal(1000) - fee - margin


def test_closing_realises_pnl_and_releases_margin(bars: BarSeries) -> None:
    venue = _venue(bars)
    entry = _open(venue, bars, 10, Side.BUY, "500").fill
    venue.submit(_market("x", Side.SELL, "500", reduce_only=True), _at_close(bars, 40))
    (exit_,) = [e for e in venue.process_bar(SYMBOL, 41) if isinstance(e, OrderFilled)]
    pnl = (exit_.fill.price - entry.price) * 500
    assert venue.balance("USDT") == Decimal(1000) - entry.fee - exit_.fill.fee + pnl
    assert not venue.margin.positions[SYMBOL].is_open


def test_margin_and_reduce_only_refusals_use_binance_messages(bars: BarSeries) -> None:
    venue = _venue(bars, leverage="2")
    venue.submit(_market("big", Side.BUY, "10000"), _at_close(bars, 10))  # ~12,000 USDT notional
    (event,) = venue.process_bar(SYMBOL, 11)
    assert isinstance(event, OrderExpired)
    assert event.reason == "Margin is insufficient."
    venue.submit(_market("ro", Side.SELL, "10", reduce_only=True), _at_close(bars, 12))
    (event,) = venue.process_bar(SYMBOL, 13)
    assert isinstance(event, OrderExpired)
    assert event.reason == "ReduceOnly Order is rejected."


def test_funding_is_charged_at_each_funding_time_on_the_position_held(
    bars: BarSeries, funding: FundingSeries
) -> None:
    venue = _venue(bars, funding=funding)
    start = int(np.searchsorted(bars.ts, funding.ts[0])) - 20  # open a long before the first event
    _open(venue, bars, start, Side.BUY, "300")
    paid: list[FundingPaid] = []
    while (j := venue.next_bar(SYMBOL)) is not None and len(paid) < 3:
        paid += [e for e in venue.process_bar(SYMBOL, j) if isinstance(e, FundingPaid)]
    assert [p.ts for p in paid] == funding.ts[:3].tolist()
    for event, k in zip(paid, range(3), strict=True):
        bar = int(np.searchsorted(bars.ts, funding.ts[k], side="right")) - 1
        mark = Decimal(repr(float(bars.open[bar])))
        assert event.amount == -(Decimal(300) * mark * Decimal(repr(float(funding.rate[k]))))


def test_liquidation_loses_the_isolated_margin(bars: BarSeries) -> None:
    venue = _venue(bars, leverage="50")
    fill = _open(venue, bars, 10, Side.BUY, "1000").fill
    entry = float(fill.price)
    level = entry * (1 - 1 / 50) / (1 - 0.004)
    assert venue.margin.liquidation_price(SYMBOL) == pytest.approx(level, rel=1e-12)
    expected_bar = 11 + int(np.flatnonzero(bars.low[11:] <= level)[0])
    margin = venue.margin.positions[SYMBOL].margin
    assert venue.next_bar(SYMBOL) == expected_bar
    events = venue.process_bar(SYMBOL, expected_bar)
    (liquidated,) = [e for e in events if isinstance(e, PositionLiquidated)]
    assert liquidated.margin_lost == margin
    assert liquidated.quantity == Decimal(1000)
    assert venue.balance("USDT") == Decimal(1000) - fill.fee - margin


def test_inverse_contracts_are_refused_clearly(bars: BarSeries) -> None:
    inverse = Instrument(symbol=SYMBOL, base="XRP", quote="USD", settle="XRP", market_type=MarketType.SWAP,
                         linear=False, price_step=Decimal("0.0001"), amount_step=Decimal(1))  # fmt: skip
    with pytest.raises(UserError, match="inverse contracts are not simulated yet"):
        SimVenue({SYMBOL: inverse}, {SYMBOL: bars}, {"XRP": Decimal(1)})


def test_funding_learnt_as_it_happens_is_charged_as_if_known_upfront(
    bars: BarSeries, funding: FundingSeries
) -> None:
    """Paper trading: an open-ended venue told each funding event before the bar it falls in
    has closed charges what a venue given the whole series charges, in the same bar."""
    first = int(np.searchsorted(bars.ts, funding.ts[0], side="right")) - 1
    start, stop = first - 20, first + 5
    known = _venue(bars.head(stop + 1), funding=FundingSeries(funding.ts[:1], funding.rate[:1]))
    paper = SimVenue({SYMBOL: _perp()}, {SYMBOL: bars.head(first)}, {"USDT": Decimal(1000)},
                     FillModel(), leverage={SYMBOL: Decimal(5)}, open_ended=True)  # fmt: skip
    mark = float(bars.open[first])
    paper.add_funding(SYMBOL, int(funding.ts[0]), float(funding.rate[0]), mark)
    paid = {}
    for name, venue in (("known", known), ("paper", paper)):
        _open(venue, bars, start, Side.BUY, "300")
        if name == "paper":
            assert venue.next_bar(SYMBOL) is None or venue.next_bar(SYMBOL) > first  # not known yet
            venue.extend(SYMBOL, bars.head(stop + 1))
        assert venue.next_bar(SYMBOL) == first
        paid[name] = [e for e in venue.process_bar(SYMBOL, first) if isinstance(e, FundingPaid)]
    assert paid["paper"] == paid["known"]
    assert len(paid["paper"]) == 1
    with pytest.raises(UserError, match="not after the last one"):
        paper.add_funding(SYMBOL, int(funding.ts[0]), 0.0001, mark)
    with pytest.raises(UserError, match="only an open-ended venue"):
        known.add_funding(SYMBOL, int(funding.ts[1]), 0.0001, mark)
