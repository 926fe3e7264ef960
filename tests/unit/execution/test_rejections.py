"""Engine-caused rejections stop the run with a named error; the user's are results.

One test per reason of the table in :mod:`tradewind.execution.rejections`, with the venue's own
messages, and both outcomes end to end on real data.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.core.instrument import FeeSide, Instrument
from tradewind.core.orders import Order, OrderType
from tradewind.core.records import Side
from tradewind.execution.rejections import (
    Cause,
    EngineRejectionError,
    RejectionReason,
    Sizing,
    cause_of,
    check_rejection,
    reason_of,
    sizing_of,
)
from tradewind.venues.sim.margin import MARGIN_INSUFFICIENT
from tradewind.venues.sim.venue import INSUFFICIENT

D = Decimal
MESSAGES = {
    RejectionReason.LOT_SIZE: "Filter failure: LOT_SIZE",
    RejectionReason.PRICE_FILTER: "Filter failure: PRICE_FILTER",
    RejectionReason.MIN_NOTIONAL: "Filter failure: NOTIONAL",
    RejectionReason.PERCENT_PRICE: "Filter failure: PERCENT_PRICE",
    RejectionReason.BALANCE: INSUFFICIENT,
}


def _order(sizing: Sizing) -> Order:
    if sizing is Sizing.EXIT:
        return Order("x", "ETH/BTC", Side.SELL, OrderType.STOP_MARKET, D("1.5"),
                     trigger_price=D("0.05"), reduce_only=True)  # fmt: skip
    if sizing is Sizing.QUOTE_ENTRY:
        return Order("q", "ETH/BTC", Side.BUY, OrderType.MARKET, D(0), quote_quantity=D(1))
    if sizing is Sizing.USER_PRICE_ENTRY:
        return Order("l", "ETH/BTC", Side.BUY, OrderType.LIMIT, D(2), price=D("0.05"))
    return Order("s", "ETH/BTC", Side.BUY, OrderType.MARKET, D(2))


@pytest.mark.parametrize("reason", list(MESSAGES))
def test_exit_refused_for_any_filter_or_balance_is_the_engines_fault(
    reason: RejectionReason,
) -> None:
    order = _order(Sizing.EXIT)
    assert sizing_of(order) is Sizing.EXIT
    assert reason_of(MESSAGES[reason]) is reason
    assert cause_of(order, MESSAGES[reason]) is Cause.ENGINE
    with pytest.raises(EngineRejectionError, match=MESSAGES[reason]):
        check_rejection(order, MESSAGES[reason])


def test_margin_shortfall_on_an_exit_is_the_engines_fault() -> None:
    assert reason_of(MARGIN_INSUFFICIENT) is RejectionReason.BALANCE
    assert cause_of(_order(Sizing.EXIT), MARGIN_INSUFFICIENT) is Cause.ENGINE


@pytest.mark.parametrize(
    ("sizing", "reason", "cause"),
    [
        (Sizing.SIZED_ENTRY, RejectionReason.LOT_SIZE, Cause.ENGINE),
        (Sizing.SIZED_ENTRY, RejectionReason.PRICE_FILTER, Cause.ENGINE),
        (Sizing.SIZED_ENTRY, RejectionReason.MIN_NOTIONAL, Cause.ENGINE),
        (Sizing.SIZED_ENTRY, RejectionReason.PERCENT_PRICE, Cause.ENGINE),
        (Sizing.SIZED_ENTRY, RejectionReason.BALANCE, Cause.USER),  # too little cash
        (Sizing.USER_PRICE_ENTRY, RejectionReason.LOT_SIZE, Cause.ENGINE),
        (Sizing.USER_PRICE_ENTRY, RejectionReason.PRICE_FILTER, Cause.USER),  # the user's price
        (Sizing.USER_PRICE_ENTRY, RejectionReason.MIN_NOTIONAL, Cause.USER),
        (Sizing.USER_PRICE_ENTRY, RejectionReason.PERCENT_PRICE, Cause.USER),
        (Sizing.USER_PRICE_ENTRY, RejectionReason.BALANCE, Cause.USER),
        (Sizing.QUOTE_ENTRY, RejectionReason.LOT_SIZE, Cause.USER),  # the stake buys < 1 lot
        (Sizing.QUOTE_ENTRY, RejectionReason.PRICE_FILTER, Cause.ENGINE),
        (Sizing.QUOTE_ENTRY, RejectionReason.MIN_NOTIONAL, Cause.USER),
        (Sizing.QUOTE_ENTRY, RejectionReason.PERCENT_PRICE, Cause.ENGINE),
        (Sizing.QUOTE_ENTRY, RejectionReason.BALANCE, Cause.USER),
    ],
)
def test_entry_rejections_by_who_sized_the_order(
    sizing: Sizing, reason: RejectionReason, cause: Cause
) -> None:
    order = _order(sizing)
    assert sizing_of(order) is sizing
    assert cause_of(order, MESSAGES[reason]) is cause
    if cause is Cause.USER:
        check_rejection(order, MESSAGES[reason])  # a result, not an error


def test_other_refusals_are_not_the_engines() -> None:
    for message in ("No more market data: the backtest has ended.", "Order would immediately "
                    "match and take.", ""):  # fmt: skip
        assert reason_of(message) is RejectionReason.OTHER
        assert cause_of(_order(Sizing.EXIT), message) is Cause.USER


@pytest.fixture(scope="module")
def eth_btc(shared_data: Path) -> pd.DataFrame:
    return pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather").head(1500)


def test_an_exit_the_venue_refuses_stops_the_run(eth_btc: pd.DataFrame) -> None:
    # A minimum order of 1 ETH; the first entry buys 1.0005 ETH and receives 0.9995 (the fee is
    # taken in ETH): its exit is below the minimum, LOT_SIZE on an order the engine sized.
    first = backtest("sma_cross", eth_btc, symbol="ETH/BTC", cash=1)
    price = first.trades["entry_price"].iloc[0]
    instrument = Instrument(symbol="ETH/BTC", base="ETH", quote="BTC", price_step=D("1e-8"),
                            amount_step=D("1e-4"), min_amount=D(1), fee_side=FeeSide.GET)  # fmt: skip

    with pytest.raises(EngineRejectionError, match="LOT_SIZE"):
        backtest("sma_cross", eth_btc, symbol="ETH/BTC", cash=round(1.0005 * price, 8),
                 instruments={"ETH/BTC": instrument})  # fmt: skip


def test_a_stake_below_the_minimum_is_the_users_and_gives_a_result(eth_btc: pd.DataFrame) -> None:
    instrument = Instrument(symbol="ETH/BTC", base="ETH", quote="BTC", price_step=D("1e-8"),
                            amount_step=D("1e-4"), min_amount=D(1), fee_side=FeeSide.GET)  # fmt: skip

    result = backtest("sma_cross", eth_btc, symbol="ETH/BTC", cash="0.01",
                      instruments={"ETH/BTC": instrument})  # fmt: skip

    assert len(result.trades) == 0
    assert (result.orders["status"] == "expired").all()
    assert len(result.orders) > 0
