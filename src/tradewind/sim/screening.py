"""Python side of the screening kernel: what it can express, its settings vector, its trade table.

The kernel (:func:`tradewind.sim.kernel.simulate`, one loop) covers market orders on spot (long
only) and on linear perpetuals (long and short, with reversals; leverage, isolated margin, funding,
liquidation), the ``all`` / percent / amount stakes, fees in the quote or the base, fixed and
volatility slippage, fills at the next open or the signal close, and the risk rules' sizing models
and protective exits on both markets (:func:`risk_unsupported_reason`). A volume participation cap
with the venue's partial fills runs on spot, long only, without risk rules and with fees in the
quote (:func:`tradewind.sim.capped_kernel.simulate_capped`). Anything else is refused by
:func:`unsupported_reason` with a message naming it, and callers fall back to the event engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from tradewind.core.brackets import BINANCE_USDT_M_BRACKETS, MarginBrackets
from tradewind.core.instrument import Instrument
from tradewind.sim import layout

if TYPE_CHECKING:  # only the type: sim does not depend on risk at run time
    from tradewind.risk.config import RiskConfig


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
    volatility_slippage: float = 0.0
    """Extra slippage as a fraction of the fill bar's range (next-open fills only, as the venue)."""
    perpetual: bool = False
    """A linear perpetual (margin accounting) rather than spot."""
    leverage: Decimal = Decimal(1)
    brackets: MarginBrackets = BINANCE_USDT_M_BRACKETS
    """The perpetual's maintenance brackets (written after the fixed settings; unused on spot)."""
    bar_ms: int = 0
    """Bar length in ms: a fill at a close happens at the bar's open time plus this."""
    max_participation: float = 0.0
    """Largest share of a bar's base volume one order may take (0: no cap); spot long-only runs
    with a cap go through :func:`tradewind.sim.capped_kernel.simulate_capped`."""
    buy_fee_in_base: bool = False
    """Spot: the venue takes a buy's fee from the base received (fee side ``get`` or ``base``)."""
    sell_fee_in_base: bool = False
    """Spot: the venue takes a sell's fee from the base held (fee side ``give`` or ``base``)."""

    def vector(self) -> npt.NDArray[np.float64]:
        """The float64 settings vector in the layout of :mod:`tradewind.sim.layout`."""
        rows = self.brackets.floats if self.perpetual else ()
        out = np.zeros(layout.SETTINGS_SIZE + 3 * len(rows), dtype=np.float64)
        out[layout.CASH] = float(self.cash)
        out[layout.FEE] = float(self.fee)
        out[layout.SLIPPAGE] = self.slippage_bps
        out[layout.FILL_AT_CLOSE] = 1.0 if self.fill_at_close else 0.0
        out[layout.STAKE_KIND] = {"all": layout.STAKE_ALL, "percent": layout.STAKE_PERCENT,
                                  "amount": layout.STAKE_AMOUNT}[self.stake_kind]  # fmt: skip
        out[layout.STAKE_VALUE] = float(self.stake_value)
        out[layout.LOT] = float(self.lot)
        out[layout.TICK] = float(self.tick)
        out[layout.MIN_NOTIONAL] = float(self.min_notional or 0)
        out[layout.ANNUALIZATION] = self.annualization
        out[layout.LEVERAGE] = float(self.leverage)
        out[layout.BRACKET_COUNT] = len(rows)
        out[layout.BRACKETS :] = [value for row in rows for value in row]
        out[layout.VOL_SLIPPAGE] = self.volatility_slippage
        out[layout.IS_PERP] = 1.0 if self.perpetual else 0.0
        out[layout.BAR_MS] = float(self.bar_ms)
        out[layout.MAX_PARTICIPATION] = self.max_participation
        out[layout.BUY_FEE_IN_BASE] = 1.0 if self.buy_fee_in_base else 0.0
        out[layout.SELL_FEE_IN_BASE] = 1.0 if self.sell_fee_in_base else 0.0
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

    Parameters
    ----------
    instrument
        The traded market: spot, or a linear perpetual of contract size 1.
    shorts
        Whether the signals ever enter or exit short (refused on spot, as the venue refuses).
    hooks
        Whether the strategy wants a per-bar callback (only the event engine runs one).
    latency_ms, max_participation, volatility_slippage
        The fill model's settings; latency is refused, and a participation cap on perpetuals
        (spot long-only runs with a cap replay the venue's partial fills).
    leverage, funding
        Kept for callers; the kernel runs any leverage and a funding series on perpetuals.

    Returns
    -------
    str or None
        The refused feature, by name; None when the kernel can run it.
    """
    del leverage, funding, volatility_slippage  # all expressible since issue 6
    if hooks:
        return "the strategy uses a per-bar hook (on_bar), which only the event engine runs"
    if shorts and instrument.is_spot:
        return f"short signals on the spot market {instrument.symbol} (spot cannot be sold short)"
    if not instrument.is_spot and (instrument.inverse or instrument.contract_size != 1):
        return f"{instrument.symbol}: inverse or sized contracts (the kernel is linear, size 1)"
    if latency_ms:
        return "order latency"
    if max_participation and not instrument.is_spot:
        return f"a volume participation cap on the perpetual {instrument.symbol}"
    return None


def trade_rows(trades: npt.NDArray[np.float64], count: int) -> npt.NDArray[np.float64]:
    """The used rows of the kernel's trade table."""
    return trades[:count]


_EXPRESSIBLE_SIZING = ("fixed_fraction", "fixed_risk", "volatility")


def risk_unsupported_reason(config: RiskConfig, instrument: Instrument) -> str | None:
    """Why the kernel cannot run ``config``'s risk rules, or None when it can.

    The kernel runs the protective exits (fixed %, ATR stop, trailing by % and ATR with an
    activation, break-even, time stop, take-profit at an R multiple or a percent) and the fixed
    fraction, fixed risk and volatility (ATR) sizing models, on spot (long) and on linear
    perpetuals (long and short), with every breaker and portfolio limit off (``None``). Anything
    else is named.
    """
    if config.strategies:
        return "per-strategy risk overrides (risk.strategies)"
    on = [k for k, v in config.breakers.model_dump().items() if k.endswith(("_loss", "_drop",
          "_zscore", "_drawdown", "_losses", "_seconds", "_rate")) and v not in (None, False)]  # fmt: skip
    if on:
        return f"circuit breakers ({', '.join('risk.breakers.' + k for k in on)})"
    set_limits = [k for k, v in config.limits.model_dump().items()
                  if k.startswith(("max_", "min_")) and v is not None]  # fmt: skip
    if set_limits:
        return f"portfolio limits ({', '.join('risk.limits.' + k for k in set_limits)})"
    if config.sizing.model not in _EXPRESSIBLE_SIZING:
        return f"the sizing model {config.sizing.model!r} (the kernel runs {', '.join(_EXPRESSIBLE_SIZING)})"
    if config.exits.scale_out:
        return "scale-out exits (risk.exits.scale_out)"
    if config.exits.pyramid_step is not None:
        return "pyramiding (risk.exits.pyramid_step)"
    if instrument.min_amount is not None:
        return f"a minimum order amount on {instrument.symbol} with risk sizing"
    return None
