"""The screening kernel makes the same trades as the event engine: every built-in strategy, every
real candle file, each stake rule and fill mode; and both agree with a plain per-bar loop.

A mismatch names the first differing trade.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.bootstrap import backtest
from tradewind.engine.result import BacktestResult
from tradewind.testing.shared_data import candle_files

# Short look-backs so that every file, even the 100-bar one, gives enough trades to compare.
STRATEGIES = {
    "sma_cross": {"fast": 3, "slow": 8},
    "ema_cross": {"fast": 3, "slow": 9},
    "macd_adx_trend": {"fast": 4, "slow": 10, "signal": 3, "adx_period": 5, "adx_min": 10.0},
    "bb_rsi_meanrev": {
        "bb_period": 10,
        "bb_dev": 1.0,
        "rsi_period": 5,
        "rsi_low": 45.0,
        "rsi_high": 55.0,
    },
    "donchian_breakout": {"entry_period": 5, "exit_period": 3},
    "supertrend_follow": {"period": 4, "multiplier": 1.0},
}
STAKES = ["all", "40%", "amount"]
FILLS = ["next_open", "close"]
FILES = candle_files()


def _load(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        frame = pd.read_csv(path)
        frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
        return frame
    return pd.read_feather(path)


def _first_difference(event: BacktestResult, kernel: BacktestResult) -> str:
    columns = ["entry_time", "exit_time", "entry_price", "exit_price", "quantity"]
    for k, (a, b) in enumerate(itertools.zip_longest(event.trades[columns].itertuples(index=False),
                                                     kernel.trades[columns].itertuples(index=False))):  # fmt: skip
        if a is None or b is None or a[:2] != b[:2] or not np.allclose(a[2:], b[2:], rtol=1e-9):
            return f"first differing trade #{k}: event {a} vs kernel {b}"
    return "no differing trade"


@pytest.mark.parametrize(
    ("strategy", "index"), list(itertools.product(STRATEGIES, range(len(FILES))))
)
def test_kernel_trades_equal_event_engine(strategy: str, index: int, shared_data: Path) -> None:
    path = FILES[index]
    frame = _load(path)
    params = STRATEGIES[strategy]
    rotation = (list(STRATEGIES).index(strategy) + index) % (len(STAKES) * len(FILLS))
    stake = STAKES[rotation % len(STAKES)]
    fill = FILLS[rotation // len(STAKES)]
    cash = 10.0
    if stake == "amount":
        stake = "3"  # a fixed quote amount per entry, below the cash
    runs = {
        engine: backtest(
            strategy,
            frame,
            params,
            cash=cash,
            fee=0.001,
            stake=stake,
            fill=fill,
            engine=engine,
            symbol="X/Q",
            slippage_bps=2.0,
        )
        for engine in ("event", "kernel")
    }
    event, kernel = runs["event"], runs["kernel"]
    # At least 20 trades per run; the 100-bar 1h futures file cannot hold that many round trips
    # of any sensible strategy, so it must give one per 25 bars instead.
    wanted = min(20, len(frame) // 25)
    assert len(event.trades) >= wanted, (
        f"{strategy} on {path.name}: only {len(event.trades)} trades"
    )
    assert len(event.trades) == len(kernel.trades), _first_difference(event, kernel)
    assert (
        event.trades["entry_time"].to_numpy() == kernel.trades["entry_time"].to_numpy()
    ).all(), _first_difference(event, kernel)
    assert (event.trades["exit_time"].to_numpy() == kernel.trades["exit_time"].to_numpy()).all(), (
        _first_difference(event, kernel)
    )
    assert kernel.metrics["final_equity"] == pytest.approx(event.metrics["final_equity"], rel=1e-6)
    np.testing.assert_allclose(kernel.equity.to_numpy(), event.equity.to_numpy(), rtol=1e-6)


def _reference_sma_cross(
    frame: pd.DataFrame, fast: int, slow: int, cash: float, fee: float
) -> tuple[int, float]:
    """SMA cross, all in, next open, written bar by bar with nothing shared with either engine."""
    close, open_ = frame["close"].to_numpy(), frame["open"].to_numpy()
    qty, trades = 0.0, 0
    previous = None
    for i in range(len(close)):
        now = None
        if i >= slow - 1:
            now = (close[i - fast + 1 : i + 1].mean(), close[i - slow + 1 : i + 1].mean())
        if now and previous and i + 1 < len(close):
            above = now[0] - now[1] > 1e-12 * max(abs(now[0]), abs(now[1]))
            below = now[1] - now[0] > 1e-12 * max(abs(now[0]), abs(now[1]))
            was_above = previous[0] - previous[1] > 1e-12 * max(abs(previous[0]), abs(previous[1]))
            was_below = previous[1] - previous[0] > 1e-12 * max(abs(previous[0]), abs(previous[1]))
            if qty == 0 and above and not was_above:
                price = open_[i + 1]
                qty = math.floor(cash / (price * (1 + fee)) / 1e-8 + 1e-9) * 1e-8
                cash -= qty * price * (1 + fee)
            elif qty > 0 and below and not was_below:
                cash += qty * open_[i + 1] * (1 - fee)
                qty, trades = 0.0, trades + 1
        previous = now
    return trades, cash + qty * close[-1]


@pytest.mark.parametrize("index", range(len(FILES)))
def test_both_engines_agree_with_a_plain_loop(index: int, shared_data: Path) -> None:
    frame = _load(FILES[index])
    # Cash large enough that the 1e-8 lot is negligible: the float loop cannot floor exactly as
    # the engine's Decimal does, and a tiny account magnifies every lot of difference.
    trades, equity = _reference_sma_cross(frame, 3, 8, 100_000.0, 0.001)
    for engine in ("event", "kernel"):
        result = backtest("sma_cross", frame, {"fast": 3, "slow": 8}, cash=100_000, fee=0.001,
                          engine=engine, symbol="X/Q")  # fmt: skip
        assert result.metrics["trade_count"] == trades
        # 1e-5: the float loop floors quantities to the lot in binary, the engines in Decimal; over
        # thousands of compounding trades the odd lot adds up to about a millionth.
        assert result.metrics["final_equity"] == pytest.approx(equity, rel=1e-5)
