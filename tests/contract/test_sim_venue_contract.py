"""The simulated venue passes the venue conformance suite, on the real BTC perpetual minutes
traded as a spot market (Binance's fee rule: a buyer pays its fee in base, a seller in quote)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from venue_suite import VenueConformance, VenueHarness

from tradewind.core.instrument import FeeSide, Instrument
from tradewind.core.timeframe import Timeframe
from tradewind.series.bars import BarSeries
from tradewind.venues.sim import FillModel, SimVenue, SimVenuePort

SYMBOL = "BTC/USDT"
START = 100
"""The bar whose close the harness starts at (the venue needs a previous close for a market order's
reference price)."""


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> BarSeries:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=3000)
    frame.index = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return BarSeries.from_frame(frame, SYMBOL, Timeframe(60_000))


class SimHarness(VenueHarness):
    """The simulated venue driven bar by bar, as the backtest runner drives it: a step runs the
    next bar on which something can happen (or the next bar, when nothing can)."""

    def __init__(self, bars: BarSeries) -> None:
        super().__init__()
        self.instrument = Instrument(
            symbol=SYMBOL, base="BTC", quote="USDT", price_step=Decimal("0.5"),
            amount_step=Decimal("0.00001"), min_notional=Decimal("5"), maker_fee=Decimal("0.001"),
            taker_fee=Decimal("0.001"), fee_side=FeeSide.GET,
        )  # fmt: skip
        # The file's volume is in contracts of 1 USD (about 2e6 a minute): a cap of 1e-5 of it lets
        # about 20 BTC trade a minute, so a market buy of 40 BTC fills over several minutes.
        model = FillModel(max_participation=0.00001)
        self.sim = SimVenue(
            {SYMBOL: self.instrument}, {SYMBOL: bars}, {"USDT": Decimal(10_000_000)}, model
        )
        self.venue = SimVenuePort(self.sim)
        self.bars = bars
        self.bar = START
        self.partial_quantity = Decimal(40)
        self.connect()

    def now(self) -> int:
        return int(self.bars.close_time[self.bar])

    def price(self) -> Decimal:
        return self.bars.price(self.bar)

    async def step(self) -> None:
        due = self.venue.next_bar(SYMBOL)
        index = self.bar + 1 if due is None else max(due, self.bar + 1)
        if index >= len(self.bars):
            pytest.fail("the recorded bars ran out before the venue answered")
        if due is not None and due <= index:
            # The runner's order: fills at the bar's open, then the bar is known at its close.
            self.receive(self.venue.process_bar(SYMBOL, due))
        self.bar = index


class TestSimVenue(VenueConformance):
    @pytest.fixture
    def harness(self, bars: BarSeries) -> VenueHarness:
        return SimHarness(bars)
