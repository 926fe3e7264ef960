"""Python side of the screening kernel: what it can express, its settings vector, its trade table.

The kernel covers spot, market orders, long-only signals, the ``all`` / percent / amount stakes,
fees, fixed slippage and fills at the next open or the signal close. Anything else is refused by
:func:`unsupported_reason` with a message naming it, and callers fall back to the event engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from tradewind.core.instrument import FeeSide, Instrument
from tradewind.sim import kernel


@dataclass(frozen=True, kw_only=True)
class KernelSettings:
    """Everything the kernel needs besides the arrays, in the units of the event engine."""

    cash: Decimal
    fee: Decimal
    """The taker fee: the kernel trades market orders only."""
    stake_kind: str  # "all", "percent" or "amount"
    stake_value: Decimal
    lot: Decimal
    tick: Decimal
    min_notional: Decimal | None
    fill_at_close: bool
    slippage_bps: float
    annualization: float

    def vector(self) -> npt.NDArray[np.float64]:
        """The float64 settings vector in the layout of :mod:`tradewind.sim.kernel`."""
        out = np.zeros(kernel.SETTINGS_SIZE, dtype=np.float64)
        out[kernel.CASH] = float(self.cash)
        out[kernel.FEE] = float(self.fee)
        out[kernel.SLIPPAGE] = self.slippage_bps
        out[kernel.FILL_AT_CLOSE] = 1.0 if self.fill_at_close else 0.0
        out[kernel.STAKE_KIND] = {"all": kernel.STAKE_ALL, "percent": kernel.STAKE_PERCENT,
                                  "amount": kernel.STAKE_AMOUNT}[self.stake_kind]  # fmt: skip
        out[kernel.STAKE_VALUE] = float(self.stake_value)
        out[kernel.LOT] = float(self.lot)
        out[kernel.TICK] = float(self.tick)
        out[kernel.MIN_NOTIONAL] = float(self.min_notional or 0)
        out[kernel.ANNUALIZATION] = self.annualization
        return out


def unsupported_reason(
    instrument: Instrument,
    *,
    shorts: bool,
    hooks: bool,
    latency_ms: int,
    max_participation: float,
    volatility_slippage: float = 0.0,
    leverage: Decimal = Decimal(1),
    funding: bool = False,
) -> str | None:
    """Why the kernel cannot run this setup, or None when it can.

    A linear perpetual at 1x leverage with no funding series trades exactly like spot (the margin
    is the cost, PnL is linear, liquidation is unreachable), so the kernel runs it too.
    """
    if hooks:
        return "the strategy uses a per-bar hook (on_bar), which only the event engine runs"
    if shorts:
        return "short signals (the kernel is long-only so far)"
    if not instrument.is_spot:
        if instrument.inverse or instrument.contract_size != 1:
            return f"{instrument.symbol}: inverse or sized contracts (the kernel is linear, size 1)"
        if leverage != 1:
            return f"leverage {leverage} on {instrument.symbol} (the kernel runs perpetuals at 1x only)"
        if funding:
            return f"funding payments on {instrument.symbol} (the kernel has no funding yet)"
    if instrument.fee_side is not FeeSide.QUOTE:
        return (
            f"fees charged in {instrument.fee_side} (the kernel charges them in the quote currency)"
        )
    if latency_ms:
        return "order latency"
    if max_participation:
        return "a volume participation cap"
    if volatility_slippage:
        return "volatility-scaled slippage"
    return None


def trade_rows(trades: npt.NDArray[np.float64], count: int) -> npt.NDArray[np.float64]:
    """The used rows of the kernel's trade table."""
    return trades[:count]
