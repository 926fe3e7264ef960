"""The compiled kernel's vectors and tables: one place, so Python and numba agree on every index.

- The **settings vector** (float64): the account, the instrument's grid, the fill model, the
  perpetual's margin; a perpetual's maintenance brackets follow the fixed settings.
- The **rules vector** (float64, NaN: the rule is off): the risk issue's sizing model and
  protective exits. Sizing code 0 (:data:`SIZE_STAKE`) means the stake rule of the settings.
- The **trade table**: one row per closed trade (or per partial close), in the columns below.
"""

from __future__ import annotations

# -- the settings vector ------------------------------------------------------------------------
(
    CASH,
    FEE,
    SLIPPAGE,
    FILL_AT_CLOSE,
    STAKE_KIND,
    STAKE_VALUE,
    LOT,
    TICK,
    MIN_NOTIONAL,
    ANNUALIZATION,
    LEVERAGE,
    BRACKET_COUNT,
    VOL_SLIPPAGE,
    IS_PERP,
    BAR_MS,
    MAX_PARTICIPATION,
    BUY_FEE_IN_BASE,
    SELL_FEE_IN_BASE,
) = range(18)
SETTINGS_SIZE = 18
BRACKETS = SETTINGS_SIZE
"""A perpetual's maintenance brackets follow the fixed settings: ``BRACKET_COUNT`` rows of
``(cap, rate, amount)`` (:attr:`tradewind.core.brackets.MarginBrackets.floats`), flattened."""
STAKE_ALL, STAKE_PERCENT, STAKE_AMOUNT = 0.0, 1.0, 2.0

# -- the rules vector -----------------------------------------------------------------------------
SIZE_STAKE, SIZE_FIXED_FRACTION, SIZE_FIXED_RISK, SIZE_VOLATILITY = 0, 1, 2, 3
SIZING_CODES = {"fixed_fraction": SIZE_FIXED_FRACTION, "fixed_risk": SIZE_FIXED_RISK,
                "volatility": SIZE_VOLATILITY}  # fmt: skip
(
    SIZING,
    SIZE_A,  # fixed fraction: fraction; fixed risk: risk; volatility: target
    SIZE_B,  # volatility: cap
    CASH_BUFFER,
    STOP_PCT,
    STOP_ATR,
    TAKE_PROFIT_R,
    TAKE_PROFIT_PCT,
    TRAIL_PCT,
    TRAIL_ATR,
    TRAIL_ACTIVATION,
    BREAKEVEN_TRIGGER,
    BREAKEVEN_OFFSET,
    MAX_BARS,  # -1: no time stop
    ADVERSE_FIRST,
) = range(15)
RULES_SIZE = 15

# -- the trade table ------------------------------------------------------------------------------
(
    T_ENTRY_BAR,
    T_EXIT_BAR,
    T_ENTRY_PRICE,
    T_EXIT_PRICE,
    T_QTY,
    T_FEES,
    T_PNL,
    T_SIDE,
    T_REASON,
    T_FUNDING,
    T_ENTRY_AT_CLOSE,
    T_EXIT_AT_CLOSE,
) = range(12)
TRADE_COLUMNS = 12
REASON_SIGNAL, REASON_LIQUIDATION = 0.0, 1.0
REASON_OPEN = -1.0
"""The reason of the open-position row: not a trade, the position still open at the end."""
REASON_PROTECTIVE = 2.0
"""A protective exit's reason code is this plus its :mod:`tradewind.sim.stops` kind code."""

# -- the optimiser's metrics, in the order the kernel returns them --------------------------------
METRICS = ("final_equity", "total_return", "sharpe_ratio", "sortino_ratio", "calmar_ratio",
           "max_drawdown", "annual_return", "trade_count")  # fmt: skip
