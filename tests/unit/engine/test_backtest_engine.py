"""The event engine end to end on real data: hooks, several symbols sharing capital, stakes,
date ranges, accounting identities and user errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.core.errors import UserError
from tradewind.core.instrument import FeeSide, Instrument
from tradewind.core.intents import IntentAction
from tradewind.engine.bus import MessageBus, Recorder
from tradewind.indicators.overlap import sma
from tradewind.series.bars import BarSeries
from tradewind.strategies import Strategy, StrategyContext
from tradewind.strategies.base import crossed_above, crossed_below
from tradewind.strategies.params import Param


@pytest.fixture(scope="module")
def month(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=8000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


@pytest.fixture(scope="module")
def alts(shared_data: Path) -> dict[str, pd.DataFrame]:
    return {
        f"{name}/BTC": pd.read_feather(shared_data / "candles" / f"{name}_BTC-5m.feather")
        for name in ("ETH", "LTC", "ADA")
    }


class HookCross(Strategy):
    """SMA cross written as a per-bar hook, to compare the hook path with the signal path."""

    name = "hook_cross"
    fast = Param(10)
    slow = Param(30)

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        seen = bars.close[: i + 1]  # only what is known at this close
        if i < self.slow:
            return
        fast, slow = sma(seen, self.fast), sma(seen, self.slow)
        up = crossed_above(fast[-2:], slow[-2:])[-1]
        down = crossed_below(fast[-2:], slow[-2:])[-1]
        held = ctx.position(bars.symbol)
        if held == 0 and up:
            ctx.emit(bars.symbol, IntentAction.ENTER_LONG, reason="hook up")
        elif held > 0 and down:
            ctx.emit(bars.symbol, IntentAction.EXIT_LONG, reason="hook down")


def test_per_bar_hook_gives_the_same_trades_as_vectorised_signals(month: pd.DataFrame) -> None:
    vectorised = backtest("sma_cross", month, fee=0.001, symbol="BTC/USD")
    hooked = backtest(HookCross, month, fee=0.001, symbol="BTC/USD")
    assert len(vectorised.trades) > 100
    columns = ["entry_time", "exit_time", "entry_price", "exit_price", "quantity", "pnl"]
    pd.testing.assert_frame_equal(vectorised.trades[columns], hooked.trades[columns])


def test_equity_identity_and_fees(month: pd.DataFrame) -> None:
    result = backtest("sma_cross", month, cash=50_000, fee=0.002, symbol="BTC/USD")
    pnl = result.trades["pnl"].sum()
    # Flat at the end or not, equity = cash + realised PnL + open position's mark.
    last_close = float(month["close"].iloc[-1])
    open_qty = (
        result.orders.query("side == 'buy'")["filled"].sum()
        - result.orders.query("side == 'sell'")["filled"].sum()
    )
    open_cost = 0.0
    if open_qty > 0:
        last_buy = result.orders.query("side == 'buy'").iloc[-1]
        open_cost = last_buy["filled"] * last_buy["average_price"] * 1.002
    expected = 50_000 + pnl + open_qty * last_close - open_cost
    assert result.equity.iloc[-1] == pytest.approx(expected, rel=1e-9)
    notional = (result.trades["entry_price"] + result.trades["exit_price"]) * result.trades[
        "quantity"
    ]
    assert result.trades["fees"].to_numpy() == pytest.approx(
        (notional * 0.002).to_numpy(), rel=1e-9
    )


def test_several_symbols_share_one_account(alts: dict[str, pd.DataFrame]) -> None:
    result = backtest("sma_cross", alts, cash=1, fee=0.001, stake="30%")
    assert set(result.trades["symbol"]) == set(alts)
    assert result.meta["account_currency"] == "BTC"
    # Three symbols at 30% of equity each: at most 90% is ever committed, so no entry is refused.
    assert result.denials.empty or not result.denials["reason"].str.contains("exceeds").any()
    assert (result.equity > 0).all()


def test_stake_all_lets_only_one_symbol_in_at_a_time(alts: dict[str, pd.DataFrame]) -> None:
    # Binance's minimum order on BTC markets (0.001 BTC) keeps the dust left after an all-in
    # entry from opening a second, microscopic position.
    instruments = {
        symbol: Instrument(
            symbol=symbol, base=symbol.split("/")[0], quote="BTC", price_step=Decimal("0.00000001"),
            amount_step=Decimal("0.001"), min_notional=Decimal("0.001"), fee_side=FeeSide.QUOTE,
        )
        for symbol in alts
    }  # fmt: skip
    result = backtest("sma_cross", alts, cash=1, fee=0.001, stake="all", instruments=instruments)
    held = []
    for row in result.trades.itertuples():
        held.append((row.entry_time, 1))
        held.append((row.exit_time, -1))
    held.sort()
    assert max(np.cumsum([d for _, d in held])) == 1
    assert result.denials["reason"].str.startswith("stake").any()


def test_from_date_keeps_history_for_warmup_but_trades_only_after(month: pd.DataFrame) -> None:
    start = month["date"].iloc[3000]
    result = backtest("sma_cross", month, fee=0.001, symbol="BTC/USD", start=start.isoformat())
    assert (result.trades["entry_time"] > start).all()
    assert result.equity.index[0] == start
    full = backtest("sma_cross", month, fee=0.001, symbol="BTC/USD")
    later = full.trades[full.trades["entry_time"] > start + pd.Timedelta(minutes=60)]
    # After the first trade, the two runs make the same decisions (signals come from all history).
    assert set(later["entry_time"]).issubset(set(result.trades["entry_time"]))


def test_fixed_stake_amount(month: pd.DataFrame) -> None:
    result = backtest("sma_cross", month, fee=0.001, symbol="BTC/USD", stake="1000")
    cost = result.trades["entry_price"] * result.trades["quantity"] * 1.001
    assert (cost <= 1000 + 1e-9).all()
    assert (cost > 999).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stake": "lots"}, "invalid stake 'lots'"),
        ({"fee": 0.5 + 0.6}, "fee must be a fraction"),
        ({"fill": "midpoint"}, "fill must be 'next_open' or 'close'"),
        ({"engine": "warp"}, "unknown engine .warp.: use .event. or .kernel."),
        (
            {"engine": "kernel", "params": {"short": True}},
            "cannot run this backtest: short signals",
        ),
        ({"cash": -5}, "cash must be positive"),
        ({"params": {"fsat": 3}}, "did you mean 'fast'"),
    ],
)
def test_user_mistakes_get_clear_errors(
    month: pd.DataFrame, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(UserError, match=message):
        backtest("sma_cross", month, symbol="BTC/USD", **kwargs)  # type: ignore[arg-type]


def test_decimal_accounting_has_no_float_drift(month: pd.DataFrame) -> None:
    result = backtest("sma_cross", month, fee=0.001, symbol="BTC/USD", cash="100000")
    assert isinstance(result.meta["cash"], str)
    assert Decimal(result.meta["cash"]) == Decimal(100000)


def test_several_strategies_on_several_symbols_share_one_account(
    alts: dict[str, pd.DataFrame],
) -> None:
    from tradewind.strategies import get_strategy

    strategies = [
        get_strategy("sma_cross")(fast=5, slow=20),
        get_strategy("ema_cross")(fast=8, slow=21),
    ]
    result = backtest(strategies, alts, cash=1, fee=0.001, stake="15%")
    by_strategy = result.trades.groupby("strategy")["symbol"].agg(set)
    assert set(by_strategy.index) == {"sma_cross(fast=5, slow=20)", "ema_cross(fast=8, slow=21)"}
    assert all(symbols == set(alts) for symbols in by_strategy)
    # Positions of both strategies in one symbol can be open at once: each has its own book.
    assert result.meta["strategy"] == "sma_cross, ema_cross"
    assert (result.equity > 0).all()
    with pytest.raises(UserError, match="the same strategy twice"):
        backtest([strategies[0], get_strategy("sma_cross")(fast=5, slow=20)], alts)
    with pytest.raises(UserError, match="runs one strategy"):
        backtest(strategies, alts, engine="kernel")


def test_symbols_on_different_timeframes_merge_in_time_order(shared_data: Path) -> None:
    one_minute = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    five_minute = pd.read_feather(shared_data / "candles" / "XRP_ETH-5m.feather")
    # The same market on two timeframes, as two symbols of one account (quoted in ETH).
    data = {"XRP/ETH": one_minute, "XRPX/ETH": five_minute}
    bus, recorder = MessageBus(), Recorder()
    bus.subscribe("order.filled", recorder)
    result = backtest("sma_cross", data, cash=10, fee=0.001, stake="40%", bus=bus)
    assert set(result.trades["symbol"]) == {"XRP/ETH", "XRPX/ETH"}
    stamps = [fill.fill.ts for _, fill in recorder.messages]
    assert stamps == sorted(stamps)  # fills of both timeframes interleave in time order
    five = result.trades[result.trades["symbol"] == "XRPX/ETH"]
    assert (five["entry_time"].dt.minute % 5 == 0).all()  # 5m bars fill on their own opens
