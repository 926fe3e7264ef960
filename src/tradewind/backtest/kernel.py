"""``backtest(..., engine="kernel")``: the screening kernel behind the same result shape.

Part of the composition root: it turns a strategy's signals and the run's settings into the
kernel's arrays and its output back into the trades and equity the event engine reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.core.errors import UserError
from tradewind.core.instrument import FeeSide, Instrument
from tradewind.core.records import Side
from tradewind.indicators.volatility import atr
from tradewind.performance.returns import periods_per_year
from tradewind.risk.config import RiskConfig
from tradewind.risk.stake import Stake
from tradewind.series.bars import BarSeries, FloatArray, IntArray
from tradewind.series.funding import FundingSeries
from tradewind.sim import capped_kernel as ck
from tradewind.sim import kernel, stops
from tradewind.sim import layout as lay
from tradewind.sim.screening import KernelSettings, risk_unsupported_reason, unsupported_reason
from tradewind.strategies.base import Strategy
from tradewind.strategies.guard import strategy_call
from tradewind.venues.sim.fill_model import FillAt, FillModel

TRADE_FRAME_COLUMNS = ["symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price",
                       "quantity", "fees", "pnl", "strategy", "funding", "reason"]  # fmt: skip


def kernel_settings(
    instrument: Instrument,
    cash: Decimal,
    stake: Stake,
    model: FillModel,
    bars: BarSeries,
    *,
    leverage: Decimal = Decimal(1),
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
        volatility_slippage=model.volatility_slippage,
        perpetual=instrument.is_derivative,
        leverage=leverage,
        brackets=instrument.margin_brackets,
        bar_ms=bars.timeframe.ms,
        max_participation=model.max_participation,
        buy_fee_in_base=instrument.is_spot and instrument.fee_currency(Side.BUY) == instrument.base,
        sell_fee_in_base=instrument.is_spot
        and instrument.fee_currency(Side.SELL) == instrument.base,
    )


def funding_arrays(
    series: BarSeries, funding: FundingSeries | None
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]
]:
    """The kernel's funding arrays: ``(ts, rate, mark, first)``.

    Only events inside the bars' span count, as on the venue; ``first`` (length ``n + 1``) maps
    bar ``j`` to its events ``first[j]:first[j + 1]``, the bar that contains each event's time.
    """
    n = len(series)
    if funding is None or n == 0:
        empty = np.empty(0, dtype=np.float64)
        return empty, empty, empty, np.zeros(n + 1, dtype=np.int64)
    keep = (funding.ts >= series.ts[0]) & (funding.ts < series.ts[-1] + series.timeframe.ms)
    ts = funding.ts[keep]
    rate = np.asarray(funding.rate[keep], dtype=np.float64)
    mark = np.full(len(ts), np.nan)
    if funding.mark is not None:
        mark = np.asarray(funding.mark[keep], dtype=np.float64)
    bar = np.searchsorted(series.ts, ts, side="right") - 1
    first = np.searchsorted(bar, np.arange(n + 1), side="left").astype(np.int64)
    return ts.astype(np.float64), rate, mark, first


@dataclass(frozen=True)
class KernelRun:
    """What a kernel run gives back, in the shapes the event engine's result uses.

    ``positions`` lists the position still open at the end (none, or one: the kernel runs one
    symbol) as :func:`tradewind.backtest.results.open_positions` reports the event engine's.
    """

    timeline: IntArray
    equity: FloatArray
    trades: pd.DataFrame
    dust: dict[str, dict[str, Any]]
    positions: list[dict[str, Any]]


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
    funding: Mapping[str, FundingSeries] | None = None,
    risk: RiskConfig | None = None,
) -> KernelRun:
    """Run the kernel; return its timeline, equity, trades, dust and open position.

    With ``risk``, the protective exits and the sizing model of the config run as the event
    engine's risk engine runs them with breakers and limits off (others are refused by name).

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
    with strategy_call(strategy, "signals"):
        arrays = strategy.signals(series).arrays(len(series))
    reason = unsupported_reason(
        instrument,
        shorts=bool(arrays[2].any() or arrays[3].any()),
        hooks=strategy.wants_bar_callback(),
        latency_ms=model.latency_ms,
        max_participation=model.max_participation,
    )
    if reason is None and model.book_walk:
        reason = "book-walk fills (the kernel fills from bars only)"
    base_fees = instrument.is_spot and instrument.fee_side is not FeeSide.QUOTE
    if reason is None and base_fees and model.max_participation:
        reason = (
            f"fees charged in the base currency (fee side {instrument.fee_side}) together with "
            "a volume participation cap"
        )
    if reason is None and risk is not None and model.max_participation:
        reason = "a volume participation cap together with risk rules (stops and sizing)"
    if reason is None and risk is not None:
        reason = risk_unsupported_reason(risk, instrument)
    if reason is not None:
        raise UserError(f"engine 'kernel' cannot run this backtest: {reason}; use engine='event'")
    if instrument.is_spot:
        leverage = Decimal(1)
    settings = kernel_settings(instrument, cash, stake, model, series, leverage=leverage).vector()
    start = first_bar[name]
    signals = (arrays[0], arrays[1], arrays[2], arrays[3])
    if model.max_participation:
        # Partial fills (spot long-only without risk rules: other cases were refused above).
        equity, table, count, held = ck.simulate_capped(
            series.open, series.high, series.low, series.close, series.volume,
            arrays[0], arrays[1], start, settings,
        )  # fmt: skip
        dust = 0.0
    else:
        equity, table, count, dust, held = kernel.simulate(
            series.open, series.high, series.low, series.close, series.ts, signals, start,
            settings,
            kernel.no_risk() if risk is None else risk_arrays(risk, series),
            funding_arrays(series, (funding or {}).get(name)),
        )  # fmt: skip
    return KernelRun(
        timeline=series.ts[start:],
        equity=equity[start:],
        trades=trade_frame(table[:count], series, name, strategy.id),
        dust=dust_report({name: dust}, {name: series}, instruments),
        positions=open_report(held, series, name, strategy.id),
    )


def open_report(
    row: npt.NDArray[np.float64], series: BarSeries, symbol: str, strategy_id: str
) -> list[dict[str, Any]]:
    """The kernel's open-position row (:func:`tradewind.sim.kernel.open_row`) as the
    event engine reports open positions: empty when flat."""
    if row[lay.T_QTY] == 0.0:
        return []
    (held,) = trade_frame(row[None, :], series, symbol, strategy_id).to_dict("records")
    return [
        {
            "strategy": strategy_id,
            "symbol": symbol,
            "side": held["side"],
            "quantity": held["quantity"],
            "entry_price": held["entry_price"],
            "entry_time": _iso(held["entry_time"]),
            "mark_price": held["exit_price"],
            "mark_time": _iso(held["exit_time"]),
            "open_pnl": held["pnl"],
        }
    ]


def _iso(stamp: pd.Timestamp) -> str:
    # The event engine's form (``datetime.isoformat`` of the UTC time, no fraction on whole
    # seconds), so both engines' reports compare equal.
    return datetime.fromtimestamp(stamp.value / 1e9, tz=UTC).isoformat()


def risk_arrays(
    config: RiskConfig, series: BarSeries
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The kernel's rules vector and ATR series ``(rules, stop_atr, trail_atr,
    sizing_atr)`` for ``config`` on ``series``, as the protection book and risk engine read them."""
    exits = config.exits.build(series.timeframe.ms)
    sizing = config.sizing

    def f(value: float | None) -> float:
        return np.nan if value is None else float(value)

    vector = np.full(lay.RULES_SIZE, np.nan)
    vector[lay.SIZING] = lay.SIZING_CODES[sizing.model]
    vector[lay.SIZE_A] = {"fixed_fraction": sizing.fraction, "fixed_risk": sizing.risk,
                         "volatility": sizing.target}[sizing.model]  # fmt: skip
    vector[lay.SIZE_B] = sizing.cap
    vector[lay.CASH_BUFFER] = config.cash_buffer
    vector[lay.STOP_PCT] = f(exits.stop_pct)
    vector[lay.STOP_ATR] = f(exits.stop_atr)
    vector[lay.TAKE_PROFIT_R] = f(exits.take_profit_r)
    vector[lay.TAKE_PROFIT_PCT] = f(exits.take_profit_pct)
    vector[lay.TRAIL_PCT] = f(exits.trailing_pct)
    vector[lay.TRAIL_ATR] = f(exits.trailing_atr)
    vector[lay.TRAIL_ACTIVATION] = f(exits.trailing_activation)
    vector[lay.BREAKEVEN_TRIGGER] = f(exits.breakeven_trigger)
    vector[lay.BREAKEVEN_OFFSET] = float(exits.breakeven_offset)
    vector[lay.MAX_BARS] = -1 if exits.max_bars is None else exits.max_bars
    vector[lay.ADVERSE_FIRST] = 1.0 if exits.adverse_first else 0.0
    empty = np.empty(0, dtype=np.float64)
    # The book reads the ATR only for the rules that need it (NaN elsewhere), of the rules' period.
    period_atr = atr(series.high, series.low, series.close, exits.atr_period)
    stop_atr = period_atr if exits.active and exits.uses_atr else empty
    trail_atr = period_atr if exits.trailing_atr is not None else empty
    # The risk engine's volatility sizing reads a 14-bar ATR whatever the exit rules say.
    sizing_atr = atr(series.high, series.low, series.close, 14)
    return vector, stop_atr, trail_atr, sizing_atr


def trade_frame(
    rows: npt.NDArray[np.float64], series: BarSeries, symbol: str, strategy_id: str
) -> pd.DataFrame:
    """The kernel's trade rows as the event engine's trade frame."""
    count = len(rows)
    bar_ms = series.timeframe.ms

    def times(bar_col: int, close_col: int) -> pd.DatetimeIndex:
        # A fill at a close happens at the bar's close time; at an open (or a liquidation),
        # at the bar's open time.
        index = rows[:, bar_col].astype(np.int64)
        stamp = series.ts[index] + rows[:, close_col].astype(np.int64) * bar_ms
        return pd.to_datetime(stamp, unit="ms", utc=True)

    codes = rows[:, lay.T_REASON].astype(np.int64)
    names = {int(lay.REASON_SIGNAL): "signal", int(lay.REASON_LIQUIDATION): "liquidation",
             int(lay.REASON_OPEN): "open"}  # fmt: skip
    names |= {int(lay.REASON_PROTECTIVE) + k: v for k, v in stops.KIND_NAMES.items()}
    reasons = np.array([names[c] for c in codes.tolist()], dtype=object)
    return pd.DataFrame(
        {
            "symbol": [symbol] * count,
            "side": np.where(rows[:, lay.T_SIDE] > 0, "long", "short").tolist(),
            "entry_time": times(lay.T_ENTRY_BAR, lay.T_ENTRY_AT_CLOSE),
            "exit_time": times(lay.T_EXIT_BAR, lay.T_EXIT_AT_CLOSE),
            "entry_price": rows[:, lay.T_ENTRY_PRICE],
            "exit_price": rows[:, lay.T_EXIT_PRICE],
            "quantity": rows[:, lay.T_QTY],
            "fees": rows[:, lay.T_FEES],
            "pnl": rows[:, lay.T_PNL],
            "strategy": [strategy_id] * count,
            "funding": rows[:, lay.T_FUNDING],
            "reason": reasons.tolist(),
        },
        columns=TRADE_FRAME_COLUMNS,
    )


def dust_report(
    dust: Mapping[str, float | Decimal],
    bars: Mapping[str, BarSeries],
    instruments: Mapping[str, Instrument],
) -> dict[str, dict[str, Any]]:
    """The result's ``dust`` entry: per symbol with dust, its base quantity and its value in the
    quote currency at the last close (:mod:`tradewind.sim.lots`)."""
    report: dict[str, dict[str, Any]] = {}
    for symbol, quantity in dust.items():
        if quantity and symbol in bars and len(bars[symbol]):
            amount = float(quantity)
            report[symbol] = {
                "asset": instruments[symbol].base,
                "quantity": amount,
                "value": amount * float(bars[symbol].close[-1]),
            }
    return report
