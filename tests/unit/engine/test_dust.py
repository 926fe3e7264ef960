"""Exits sell whole lots; what is left is dust, kept, valued and reported (sim.lots).

ETH/BTC imported with the defaults charges a buy's fee in the ETH received (Binance spot's fee
side), so every position is ``bought x 0.999`` ETH, not a whole number of 1e-8 lots. Selling the
position as it stood was refused ("Filter failure: LOT_SIZE") for all but one exit.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.backtest.inputs import bar_series, on_price_grid
from tradewind.backtest.kernel import funding_arrays, kernel_settings
from tradewind.core.events import OrderExpired, OrderRejected
from tradewind.core.instrument import FeeSide, Instrument, MarketType
from tradewind.core.orders import ClientIdFactory
from tradewind.data.grid import infer_price_step
from tradewind.data.meta import MetaOverrides, imported_meta
from tradewind.engine.bus import MessageBus
from tradewind.engine.node import Binding, Node
from tradewind.engine.portfolio import Portfolio
from tradewind.engine.runner import BacktestRunner
from tradewind.risk.gate import StakeGate
from tradewind.risk.stake import Stake
from tradewind.sim import kernel, sweep
from tradewind.sim.lots import exit_quantity, sellable_lots, sellable_quantity
from tradewind.strategies.registry import load_strategy
from tradewind.venues.sim import FillModel, SimVenue, SimVenuePort

D = Decimal


@pytest.fixture(scope="module")
def eth_btc(shared_data: Path) -> tuple[pd.DataFrame, Instrument]:
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    prices = [frame[c] for c in ("open", "high", "low", "close")]
    meta = imported_meta(
        symbol="ETH/BTC", exchange="binance", source="test", overrides=MetaOverrides(),
        market_type=MarketType.SPOT, inferred_price_step=infer_price_step(*prices),
    )  # fmt: skip
    assert meta.instrument.fee_side is FeeSide.GET  # the import default this is about
    return frame, meta.instrument


def test_eth_btc_exits_are_never_refused_and_the_ledger_adds_up(
    eth_btc: tuple[pd.DataFrame, Instrument],
) -> None:
    frame, instrument = eth_btc
    bars = {"ETH/BTC": bar_series(frame, "ETH/BTC", "5m")}
    instruments = {"ETH/BTC": instrument}
    on_price_grid(bars, instruments)
    starting = {"BTC": D(1)}
    sim = SimVenue(instruments, bars, starting)
    venue = SimVenuePort(sim)  # the Node talks to the venue port
    portfolio = Portfolio(instruments, cash=dict(starting))
    strategy = load_strategy("sma_cross")()
    arrays = strategy.signals(bars["ETH/BTC"]).arrays(len(frame))
    refused: list[object] = []
    bus = MessageBus()
    bus.subscribe("order.rejected", lambda _t, e: refused.append(e))
    bus.subscribe("order.expired", lambda _t, e: refused.append(e))
    node = Node(
        bindings=[Binding(strategy, strategy.id, bars["ETH/BTC"], *arrays)],
        gate=StakeGate(Stake.parse("all"), instruments), venue=venue, portfolio=portfolio,
        instruments=instruments, ids=ClientIdFactory("t"), bus=bus,
    )  # fmt: skip

    BacktestRunner(node, venue).run()

    assert not [e for e in refused if isinstance(e, OrderRejected | OrderExpired)]
    assert len(portfolio.trades) >= 100
    for asset in ("BTC", "ETH"):
        moved = sum((e.amount for e in portfolio.ledger if e.asset == asset), D(0))
        assert starting.get(asset, D(0)) + moved == portfolio.cash[asset] == sim.balances[asset]
    # Flat at the end or not, the ETH balance is the position plus the dust, exactly.
    position = portfolio.position(strategy.id, "ETH/BTC")
    assert sim.balances["ETH"] == position.quantity + position.dust
    assert 0 < position.dust < instrument.amount_step
    # Every exit sold whole lots.
    sells = [f.fill for f in portfolio.fills if f.fill.side.value == "sell"]
    assert all(f.quantity % instrument.amount_step == 0 for f in sells)


def test_dust_is_reported_valued_and_equal_in_both_engines(
    eth_btc: tuple[pd.DataFrame, Instrument],
) -> None:
    frame, instrument = eth_btc
    runs = {
        engine: backtest(
            "sma_cross",
            frame,
            cash=1,
            symbol="ETH/BTC",
            timeframe="5m",
            instruments={"ETH/BTC": instrument},
            engine=engine,
        )
        for engine in ("event", "kernel")
    }
    event, kernel = runs["event"], runs["kernel"]

    assert (event.orders["status"] == "filled").all()
    assert len(event.trades) == len(kernel.trades) >= 100
    assert event.health is not None
    assert kernel.health is not None
    dust = event.health.dust["ETH/BTC"]
    assert dust["asset"] == "ETH"
    assert 0 < dust["quantity"] < 1e-8
    assert dust["value"] == pytest.approx(dust["quantity"] * frame["close"].iloc[-1])
    assert kernel.health.dust["ETH/BTC"]["quantity"] == pytest.approx(dust["quantity"], rel=1e-3)
    assert kernel.metrics["final_equity"] == pytest.approx(event.metrics["final_equity"], rel=1e-9)


@pytest.mark.parametrize(
    ("held", "fee", "sold"),
    [
        ("10.37019669", "0", "10.37019669"),  # whole lots: all of it
        ("10.36916647331", "0", "10.36916647"),  # a buy's fee in base left 0.00000000331
        ("1.001", "0.001", "1"),  # the sell's fee in base comes out of the holding
        ("1.00099999", "0.001", "0.99999999"),
        ("0.000000009", "0", "0"),  # dust: nothing to sell
    ],
)
def test_sellable_quantity_in_decimal_and_float_agree(held: str, fee: str, sold: str) -> None:
    lot = D("0.00000001")
    assert sellable_quantity(D(held), lot, D(fee)) == D(sold)
    assert sellable_lots(float(held), float(lot), float(fee)) * float(lot) == pytest.approx(
        float(sold), abs=1e-12
    )


def test_exits_of_perpetuals_and_shorts_close_the_whole_position() -> None:
    perp = Instrument(symbol="X/U:U", base="X", quote="U", settle="U",
                      market_type=MarketType.SWAP, price_step=D("0.1"), amount_step=D("0.001"))  # fmt: skip
    assert exit_quantity(perp, D("-1.234")) == D("1.234")
    spot = Instrument(symbol="X/U", base="X", quote="U", price_step=D("0.1"),
                      amount_step=D("0.001"), fee_side=FeeSide.BASE)  # fmt: skip
    assert exit_quantity(spot, D("1.2349")) == D("1.233")  # 1.233 x 1.001 <= 1.2349


@pytest.mark.parametrize("side", list(FeeSide))
def test_both_engines_charge_fees_in_the_instruments_currency_alike(
    side: FeeSide, eth_btc: tuple[pd.DataFrame, Instrument]
) -> None:
    frame, instrument = eth_btc
    chosen = replace(instrument, fee_side=side)
    runs = {
        engine: backtest(
            "sma_cross",
            frame,
            {"fast": 3, "slow": 8},
            cash=1,
            stake="40%",
            fill="close",
            slippage_bps=2.0,
            symbol="ETH/BTC",
            timeframe="5m",
            instruments={"ETH/BTC": chosen},
            engine=engine,
        )
        for engine in ("event", "kernel")
    }
    event, kernel = runs["event"], runs["kernel"]

    assert len(event.trades) == len(kernel.trades) >= 400
    for column in ("entry_price", "exit_price", "quantity", "fees", "pnl"):
        assert np.allclose(event.trades[column], kernel.trades[column], rtol=1e-9, atol=1e-15)
    assert np.allclose(event.equity.to_numpy(), kernel.equity.to_numpy(), rtol=1e-12)


def test_the_sweep_kernel_equals_the_backtest_kernel_with_fees_in_base(
    eth_btc: tuple[pd.DataFrame, Instrument],
) -> None:
    frame, instrument = eth_btc
    bars = {"ETH/BTC": bar_series(frame, "ETH/BTC", "5m")}
    on_price_grid(bars, {"ETH/BTC": instrument})
    series = bars["ETH/BTC"]
    model = FillModel(slippage_bps=2.0)
    settings = kernel_settings(instrument, D(1), Stake.parse("40%"), model, series).vector()
    entry, exit_, enter_short, exit_short = (
        load_strategy("sma_cross")(fast=3, slow=8).signals(series).arrays(len(series))
    )
    none = funding_arrays(series, None)

    swept, swept_count = sweep.long_only(
        series.open, series.high, series.low, series.close, entry, exit_, 0, settings
    )
    full, _, full_count, dust, _ = kernel.simulate(
        series.open, series.high, series.low, series.close, series.ts,
        (entry, exit_, enter_short, exit_short), 0, settings, kernel.no_risk(), none,
    )  # fmt: skip

    assert swept_count == full_count >= 400
    np.testing.assert_array_equal(swept, full)
    assert 0 <= dust < 1e-8


@pytest.mark.parametrize(
    "risk",
    [
        {"sizing": {"model": "fixed_fraction", "fraction": 0.5},
         "exits": {"stop_pct": 0.01, "take_profit_pct": 0.02}},
        {"sizing": {"model": "volatility", "target": 0.01},
         "exits": {"max_bars": 5, "breakeven_trigger": 0.005, "trailing_pct": 0.01}},
    ],
)  # fmt: skip
def test_risk_rules_on_fees_in_base_run_alike_on_both_engines(
    risk: dict[str, object], eth_btc: tuple[pd.DataFrame, Instrument]
) -> None:
    frame, instrument = eth_btc
    runs = {
        engine: backtest(
            "sma_cross",
            frame,
            {"fast": 3, "slow": 8},
            cash=1,
            symbol="ETH/BTC",
            timeframe="5m",
            instruments={"ETH/BTC": instrument},
            risk=risk,
            slippage_bps=2.0,
            engine=engine,
        )
        for engine in ("event", "kernel")
    }
    event, kernel = runs["event"], runs["kernel"]

    assert (event.trades["reason"] != "signal").sum() >= 50
    columns = ["entry_time", "exit_time", "reason"]
    assert (event.trades[columns].to_numpy() == kernel.trades[columns].to_numpy()).all()
    for column in ("entry_price", "exit_price", "quantity", "fees", "pnl"):
        assert np.allclose(event.trades[column], kernel.trades[column], rtol=1e-9, atol=1e-15)
    assert np.allclose(event.equity.to_numpy(), kernel.equity.to_numpy(), rtol=1e-12)
