"""``backtest(..., engine="kernel")``: the screening kernel behind the same result shape.

Part of the composition root: it turns a strategy's signals and the run's settings into the
kernel's arrays and its output back into the trades and equity the event engine reports.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from tradewind.bars import BarSeries, FloatArray, IntArray
from tradewind.core.errors import UserError
from tradewind.core.instrument import Instrument
from tradewind.performance.returns import periods_per_year
from tradewind.risk.stake import Stake
from tradewind.sim import kernel
from tradewind.sim.screening import KernelSettings, unsupported_reason
from tradewind.strategies.base import Strategy
from tradewind.venues.sim.fill_model import FillAt, FillModel

TRADE_FRAME_COLUMNS = ["symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price",
                       "quantity", "fees", "pnl", "strategy", "funding", "reason"]  # fmt: skip


def kernel_settings(
    instrument: Instrument, cash: Decimal, stake: Stake, model: FillModel, bars: BarSeries
) -> KernelSettings:
    """The kernel's settings for one symbol, from the same objects the event engine uses."""
    return KernelSettings(
        cash=cash,
        fee=instrument.taker_fee,
        stake_kind=stake.kind.value,
        stake_value=stake.value,
        lot=instrument.amount_step,
        tick=instrument.price_step,
        min_notional=instrument.min_notional,
        fill_at_close=model.fill_at is FillAt.CLOSE,
        slippage_bps=model.slippage_bps,
        annualization=periods_per_year(bars.timeframe.ms),
    )


def run_kernel(
    strategy: Strategy,
    bars: dict[str, BarSeries],
    instruments: dict[str, Instrument],
    cash: Decimal,
    stake: Stake,
    model: FillModel,
    first_bar: dict[str, int],
    *,
    leverage: Decimal = Decimal(1),
    funding: bool = False,
) -> tuple[IntArray, FloatArray, pd.DataFrame]:
    """Run the kernel; return ``(timeline, equity, trades)`` as the event engine would.

    Raises
    ------
    UserError
        Naming what the kernel cannot express (use the event engine for it).
    """
    if len(bars) != 1:
        raise UserError(
            "engine 'kernel' runs one symbol per account; use engine='event' for several"
        )
    ((name, series),) = bars.items()
    instrument = instruments[name]
    arrays = strategy.signals(series).arrays(len(series))
    reason = unsupported_reason(
        instrument,
        shorts=bool(arrays[2].any() or arrays[3].any()),
        hooks=strategy.wants_bar_callback(),
        latency_ms=model.latency_ms,
        max_participation=model.max_participation,
        volatility_slippage=model.volatility_slippage,
        leverage=leverage,
        funding=funding,
    )
    if reason is None and model.book_walk:
        reason = "book-walk fills (the kernel fills from bars only)"
    if reason is not None:
        raise UserError(f"engine 'kernel' cannot run this backtest: {reason}; use engine='event'")
    settings = kernel_settings(instrument, cash, stake, model, series).vector()
    start = first_bar[name]
    equity, table, count = kernel.simulate(
        series.open, series.close, arrays[0], arrays[1], start, settings
    )
    rows = table[:count]
    entry_bars = rows[:, kernel.T_ENTRY_BAR].astype(np.int64)
    exit_bars = rows[:, kernel.T_EXIT_BAR].astype(np.int64)
    # Fills at the next open happen at that bar's open time; fills at a close at the close time.
    offset = series.timeframe.ms if model.fill_at is FillAt.CLOSE else 0
    trades = pd.DataFrame(
        {
            "symbol": [name] * count,
            "side": ["long"] * count,
            "entry_time": pd.to_datetime(series.ts[entry_bars] + offset, unit="ms", utc=True),
            "exit_time": pd.to_datetime(series.ts[exit_bars] + offset, unit="ms", utc=True),
            "entry_price": rows[:, kernel.T_ENTRY_PRICE],
            "exit_price": rows[:, kernel.T_EXIT_PRICE],
            "quantity": rows[:, kernel.T_QTY],
            "fees": rows[:, kernel.T_FEES],
            "pnl": rows[:, kernel.T_PNL],
            "strategy": [strategy.id] * count,
            "funding": np.zeros(count),
            "reason": ["signal"] * count,
        },
        columns=TRADE_FRAME_COLUMNS,
    )
    return series.ts[start:], equity[start:], trades
