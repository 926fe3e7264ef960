"""Perpetual futures end to end on the real XRP perpetual: reversals, leverage, funding, and an
account identity that ties the equity curve to the trades."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest import backtest

SYMBOL = "XRP/USDT:USDT"


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> pd.DataFrame:
    return pd.read_feather(shared_data / "futures" / "XRP_USDT_USDT-5m-futures.feather")


@pytest.fixture(scope="module")
def funding(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_feather(shared_data / "futures" / "XRP_USDT_USDT-8h-funding_rate.feather")
    return frame.rename(columns={"open": "rate"})[["date", "rate"]]


def test_long_short_reversals_with_leverage_and_funding(
    candles: pd.DataFrame, funding: pd.DataFrame
) -> None:
    result = backtest("sma_cross", candles, {"fast": 10, "slow": 30, "short": True}, symbol=SYMBOL,
                      cash=1000, fee=0.0004, leverage=3, funding={SYMBOL: funding})  # fmt: skip
    trades = result.trades
    assert set(trades["side"]) == {"long", "short"}
    # Always in the market after the first entry: each exit is the next entry, at the same time.
    assert (
        trades["entry_time"].iloc[1:].to_numpy() == trades["exit_time"].iloc[:-1].to_numpy()
    ).all()
    assert (trades["funding"] != 0).any()
    # Identity: final equity = cash + closed PnL + the open position's PnL at the last close,
    # less its entry fee and plus the funding it has received so far.
    orders = result.orders[result.orders["status"] == "filled"]
    signed = np.where(orders["side"] == "buy", orders["filled"], -orders["filled"])
    open_qty = signed.sum()
    last = orders.iloc[-1]
    last_close = float(candles["close"].iloc[-1])
    open_pnl = open_qty * (last_close - last["average_price"])
    open_fee = abs(open_qty) * last["average_price"] * 0.0004
    closed = trades["pnl"].sum()
    # Funding on the open position: every event after its entry, at the open of the bar it
    # falls in, while the data lasts.
    dates = pd.DatetimeIndex(candles["date"])
    entry = pd.Timestamp(last["created"]) + pd.Timedelta(minutes=5)
    due = funding[
        (funding["date"] > entry) & (funding["date"] < dates[-1] + pd.Timedelta(minutes=5))
    ]
    marks = candles["open"].to_numpy()[dates.searchsorted(due["date"], side="right") - 1]
    open_funding = float(-(open_qty * marks * due["rate"].to_numpy()).sum())
    final = result.equity.iloc[-1]
    assert final == pytest.approx(1000 + closed + open_pnl - open_fee + open_funding, rel=1e-9)
    assert result.metrics["final_equity"] == pytest.approx(final)


def test_leverage_scales_exposure(candles: pd.DataFrame) -> None:
    one = backtest(
        "sma_cross", candles, {"short": True}, symbol=SYMBOL, cash=1000, fee=0.0004, leverage=1
    )
    three = backtest(
        "sma_cross", candles, {"short": True}, symbol=SYMBOL, cash=1000, fee=0.0004, leverage=3
    )
    first_one, first_three = one.trades.iloc[0], three.trades.iloc[0]
    assert first_three["quantity"] == pytest.approx(
        3 * first_one["quantity"] * (1 + 0.0004) / (1 + 3 * 0.0004), rel=1e-3
    )


def test_liquidation_closes_the_trade_and_loses_the_margin(candles: pd.DataFrame) -> None:
    result = backtest(
        "sma_cross", candles, {"short": True}, symbol=SYMBOL, cash=1000, fee=0.0004, leverage=50
    )
    liquidated = result.trades[result.trades["reason"] == "liquidation"]
    assert len(liquidated) >= 1
    first = liquidated.iloc[0]
    # Margin at 50x is 1/50 of the notional: the trade loses it and its entry fee.
    margin = first["quantity"] * first["entry_price"] / 50
    assert -first["pnl"] == pytest.approx(margin + first["fees"] - first["funding"], rel=1e-6)


def test_leverage_on_spot_is_refused(candles: pd.DataFrame) -> None:
    from tradewind.core.errors import UserError

    with pytest.raises(UserError, match="leverage needs a perpetual market"):
        backtest("sma_cross", candles, symbol="XRP/USDT", leverage=3)
