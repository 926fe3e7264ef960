"""The screening kernel for long *and* short signals, spot or linear perpetuals, in float64.

The same bar loop as :func:`tradewind.sim.kernel.simulate`, extended to what the event engine's
venue (:mod:`tradewind.venues.sim.venue`, :mod:`tradewind.venues.sim.margin`) does for linear
perpetuals: isolated margin at a leverage, funding, liquidation; and to the node's signal rules
for shorts (:meth:`tradewind.engine.node.Node._signal_intents`), reversals included.

Order of events within bar ``j``, as the event engine's runner orders them:

1. Market orders made at bar ``j - 1``'s close fill at ``j``'s open: an exit first, then a
   reversal's entry, sized from the account as it is after the exit.
2. Funding due in bar ``j`` is paid on the position held after those fills, marked at ``j``'s
   open; an event stamped at or before the entry's fill time is not the new position's.
3. A liquidation, if bar ``j``'s low (long) or high (short) reaches the liquidation price: the
   position's isolated margin is lost.
4. Signals at ``j``'s close; with ``fill_at_close`` they fill there. The venue then also checks
   the entry's own bar for a liquidation (it searches from the fill bar), and so does this loop.

Margin (perpetuals): an entry commits ``quantity x price / leverage`` of the wallet as margin and
pays the fee on the notional; PnL is realised on exit. Equity is the wallet plus the open PnL at
the close. A spot account pays the notional instead, and cannot be short (refused before here).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tradewind.sim import rules
from tradewind.sim.kernel import (
    BAR_MS,
    BRACKET_COUNT,
    BRACKETS,
    BUY_FEE_IN_BASE,
    CASH,
    FEE,
    FILL_AT_CLOSE,
    IS_PERP,
    LEVERAGE,
    LOT,
    MIN_NOTIONAL,
    SLIPPAGE,
    TICK,
    VOL_SLIPPAGE,
    _budget,
    _fill_price,
    _sell_base_fee,
    on_grid,
    spot_sell,
)
from tradewind.sim.lots import sellable_lots

# Columns of this kernel's trade table: the first seven as in :mod:`tradewind.sim.kernel`.
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
"""The reason of :func:`open_row`: not a trade, the position still open at the end."""


@njit(cache=True)
def open_row(
    qty: float,
    entry_price: float,
    entry_fee: float,
    entry_bar: int,
    entry_at_close: bool,
    funding: float,
    close: np.ndarray,
) -> np.ndarray:
    """The position still open at the end, as a row of the trade table (quantity 0: flat).

    It is marked at the last close (the exit columns: the last bar, at its close); its PnL is
    what closing there would add, net of the entry fees and with the funding booked so far,
    before the exit fee, as the event engine reports an open position.
    """
    row = np.zeros(TRADE_COLUMNS, dtype=np.float64)
    if qty == 0.0 or close.shape[0] == 0:
        return row
    mark = close[close.shape[0] - 1]
    row[T_ENTRY_BAR] = entry_bar
    row[T_EXIT_BAR] = close.shape[0] - 1
    row[T_ENTRY_PRICE] = entry_price
    row[T_EXIT_PRICE] = mark
    row[T_QTY] = abs(qty)
    row[T_FEES] = entry_fee
    row[T_PNL] = (mark - entry_price) * qty - entry_fee + funding
    row[T_SIDE] = 1.0 if qty > 0.0 else -1.0
    row[T_REASON] = REASON_OPEN
    row[T_FUNDING] = funding
    row[T_ENTRY_AT_CLOSE] = 1.0 if entry_at_close else 0.0
    row[T_EXIT_AT_CLOSE] = 1.0
    return row


@njit(cache=True)
def _on_tick(price: float, up: bool, tick: float) -> float:
    """The venue's tick rule for a computed price: within float noise of a tick it is that tick,
    otherwise rounded against the trader (``up`` for a buy)."""
    units = price / tick
    nearest = round(units)
    if abs(units - nearest) <= 1e-9 * max(1.0, abs(units)):
        return on_grid(nearest, tick) if units != nearest else price
    return on_grid(math.ceil(units) if up else math.floor(units), tick)


@njit(cache=True)
def _slippage_bps(j: int, at_close: bool, high: np.ndarray, low: np.ndarray,
                  close: np.ndarray, settings: np.ndarray) -> float:  # fmt: skip
    """Fixed plus volatility slippage of a market fill on bar ``j``. The venue's close fills
    apply the fixed part only (the bar's range is not a cost of trading at its close)."""
    bps = float(settings[SLIPPAGE])
    if not at_close and settings[VOL_SLIPPAGE] > 0.0:
        bps += rules.volatility_slippage_bps(high[j], low[j], close[j], settings[VOL_SLIPPAGE])
    return bps


@njit(cache=True)
def _entry_quantity(budget: float, price: float, settings: np.ndarray) -> float:
    """Quantity a ``budget`` buys at ``price``: margin plus fee on a perpetual, notional plus
    fee on spot; floored to the lot (0: the venue lets the order expire)."""
    fee = settings[FEE]
    lot = settings[LOT]
    if settings[IS_PERP] != 0.0:
        per_unit = price * (1.0 / settings[LEVERAGE] + fee)
    elif settings[BUY_FEE_IN_BASE] != 0.0:
        per_unit = price  # the fee comes out of the base received
    else:
        per_unit = price * (1.0 + fee)
    if price <= 0.0 or budget <= 0.0:
        return 0.0
    size = float(math.floor(budget / per_unit / lot + 1e-9) * lot)
    # The epsilon may round up past the exact floor the venue takes in Decimal: step back a lot.
    if size > 0.0 and size * per_unit > budget * (1.0 + 1e-12):
        size -= lot
    if size <= 0.0:
        return 0.0
    min_notional = settings[MIN_NOTIONAL]
    if min_notional > 0.0 and size * price < min_notional:
        return 0.0
    return size


@njit(cache=True)
def simulate_two_sided(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    ts: np.ndarray,
    entry_long: np.ndarray,
    exit_long: np.ndarray,
    entry_short: np.ndarray,
    exit_short: np.ndarray,
    start: int,
    settings: np.ndarray,
    funding_ts: np.ndarray,
    funding_rate: np.ndarray,
    funding_mark: np.ndarray,
    funding_first: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int, float, np.ndarray]:
    """Run one long/short signal set; return ``(equity, trades, trade_count, dust, open)``.

    Parameters
    ----------
    open_, high, low, close : ndarray
        Bar prices, shape ``(n,)``.
    ts : ndarray
        Bar open times (int64 ms), shape ``(n,)``.
    entry_long, exit_long, entry_short, exit_short : ndarray
        Signal flags at each bar's close, shape ``(n,)``.
    start
        First bar whose signals count (earlier bars are warm-up).
    settings
        The settings vector (layout in :mod:`tradewind.sim.kernel`).
    funding_ts, funding_rate, funding_mark : ndarray
        Funding events inside the bars' span, in time order (empty: none); the mark is NaN where
        the series gives none (the bar's open is the mark then).
    funding_first : ndarray
        Shape ``(n + 1,)``: the events of bar ``j`` are ``funding_first[j]:funding_first[j + 1]``.

    Returns
    -------
    tuple
        ``equity[i]`` (account value at bar ``i``'s close), the trade table
        (:data:`TRADE_COLUMNS` columns; rows past ``trade_count`` unused), ``trade_count`` and
        the spot dust held at the end (base left by exits, less than a lot; 0 on perpetuals)
        and the position still open at the end (:func:`open_row`).
    """
    n = open_.shape[0]
    at_close = settings[FILL_AT_CLOSE] != 0.0
    perp = settings[IS_PERP] != 0.0
    leverage = settings[LEVERAGE]
    tiers = int(settings[BRACKET_COUNT])
    brackets = settings[BRACKETS : BRACKETS + 3 * tiers].reshape((tiers, 3))
    fee = settings[FEE]
    tick = settings[TICK]
    bar_ms = settings[BAR_MS]
    equity = np.empty(n, dtype=np.float64)
    trades = np.empty((n + 1, TRADE_COLUMNS), dtype=np.float64)
    count = 0
    cash = settings[CASH]  # spot: free quote; perpetual: the wallet, margin included
    qty = 0.0  # signed
    dust = 0.0  # spot: base left by an exit, less than a lot (joins the next entry)
    entry_price = 0.0
    entry_fee = 0.0
    entry_bar = -1
    entry_at_close = False
    entry_time = 0.0
    margin = 0.0
    funding = 0.0
    pend_exit = False
    pend_entry = 0  # +1 long, -1 short, at the next open
    for i in range(n):
        for step in range(2):
            # step 0: fills at this bar's open; step 1: fills at this bar's close.
            if step == 1:
                # -- funding due in bar i, then a liquidation, before the close --------------------
                if perp and qty != 0.0:
                    for e in range(funding_first[i], funding_first[i + 1]):
                        if funding_ts[e] > entry_time:
                            mark = funding_mark[e]
                            if math.isnan(mark):
                                mark = open_[i]
                            amount = rules.funding_payment(qty, mark, funding_rate[e])
                            cash += amount
                            funding += amount
                    if _liquidated(qty, entry_price, margin, brackets, low[i], high[i]):
                        count = _liquidate(
                            i, qty, entry_price, entry_fee, entry_bar, entry_at_close, margin,
                            funding, open_[i], brackets, tick, trades, count,
                        )  # fmt: skip
                        cash -= margin
                        qty, margin, funding, entry_bar = 0.0, 0.0, 0.0, -1
                # -- signals at the close -----------------------------------------------------------
                if i < start or not (at_close or i < n - 1):
                    continue
                held = qty
                enter_long = entry_long[i] and not exit_long[i]
                enter_short = entry_short[i] and not exit_short[i]
                pend_exit = False
                pend_entry = 0
                if held > 0.0 and exit_long[i]:
                    pend_exit = True
                    pend_entry = -1 if enter_short else 0
                elif held < 0.0 and exit_short[i]:
                    pend_exit = True
                    pend_entry = 1 if enter_long else 0
                elif held == 0.0:
                    pend_entry = 1 if enter_long else (-1 if enter_short else 0)
                if not at_close:
                    continue
            elif at_close or (not pend_exit and pend_entry == 0):
                continue
            # -- execute what is pending, at this bar's open (step 0) or close (step 1) -----------
            raw = open_[i] if step == 0 else close[i]
            bps = _slippage_bps(i, step == 1, high, low, close, settings)
            if pend_exit and qty != 0.0:
                is_buy = qty < 0.0
                price = _fill_price(raw, is_buy, bps, tick)
                if perp:
                    size = abs(qty)
                    paid = rules.fee_amount(size * price, fee)
                    gross = (price - entry_price) * qty
                    cash += gross - paid
                else:
                    # Whole lots are sold; the rest stays as dust (sim.lots).
                    size, proceeds, paid, dust = spot_sell(qty, price, settings)
                    gross = (price - entry_price) * size
                    cash += proceeds
                row = trades[count]
                row[T_ENTRY_BAR] = entry_bar
                row[T_EXIT_BAR] = i
                row[T_ENTRY_PRICE] = entry_price
                row[T_EXIT_PRICE] = price
                row[T_QTY] = size
                row[T_FEES] = entry_fee + paid
                row[T_PNL] = gross - entry_fee - paid + funding
                row[T_SIDE] = 1.0 if qty > 0.0 else -1.0
                row[T_REASON] = REASON_SIGNAL
                row[T_FUNDING] = funding
                row[T_ENTRY_AT_CLOSE] = 1.0 if entry_at_close else 0.0
                row[T_EXIT_AT_CLOSE] = 1.0 if step == 1 else 0.0
                count += 1
                qty, margin, funding, entry_bar = 0.0, 0.0, 0.0, -1
            pend_exit = False
            if pend_entry != 0 and qty == 0.0:
                # A percent stake is of the equity: the cash plus any dust at the signal close.
                mark = close[i - 1] if step == 0 else close[i]
                budget = _budget(cash, settings, cash + dust * mark)
                if budget > 0.0:
                    is_buy = pend_entry > 0
                    price = _fill_price(raw, is_buy, bps, tick)
                    size = _entry_quantity(budget, price, settings)
                    notional = size * price
                    paid = rules.fee_amount(notional, fee)
                    needed = notional / leverage if perp else notional
                    base_fee = not perp and settings[BUY_FEE_IN_BASE] != 0.0
                    cost = needed if base_fee else needed + paid
                    # Float noise of one part in 1e12 is not a lack of funds (Decimal there).
                    if size > 0.0 and cost <= cash * (1.0 + 1e-12):
                        if base_fee:
                            # The fee comes out of the base received; its value in quote is
                            # the trade's entry fee, as the portfolio books it.
                            in_fee = size * fee
                            paid = in_fee * price
                            size -= in_fee
                        qty = size + dust if is_buy else -size
                        dust = 0.0
                        entry_price = price
                        entry_fee = paid
                        entry_bar = i
                        entry_at_close = step == 1
                        entry_time = ts[i] + bar_ms if step == 1 else float(ts[i])
                        funding = 0.0
                        if perp:
                            margin = needed
                            cash -= paid
                        else:
                            cash -= cost
                            if sellable_lots(qty, settings[LOT], _sell_base_fee(settings)) == 0.0:
                                # Less than a lot: dust, not a position.
                                dust, qty, entry_bar = qty, 0.0, -1
                        if (
                            step == 1
                            and perp
                            and _liquidated(qty, entry_price, margin, brackets, low[i], high[i])
                        ):
                            # The venue searches for a liquidation from the fill bar on, so a
                            # close entry whose own bar reached the level is liquidated at once.
                            count = _liquidate(
                                i, qty, entry_price, entry_fee, entry_bar, entry_at_close,
                                margin, funding, open_[i], brackets, tick, trades, count,
                            )  # fmt: skip
                            cash -= margin
                            qty, margin, funding, entry_bar = 0.0, 0.0, 0.0, -1
            pend_entry = 0
        if perp:
            equity[i] = cash + qty * (close[i] - entry_price)
        else:
            equity[i] = cash + (qty + dust) * close[i]
    held = open_row(qty, entry_price, entry_fee, entry_bar, entry_at_close, funding, close)
    return equity, trades, count, dust, held


@njit(cache=True)
def _liquidated(
    qty: float, entry: float, margin: float, brackets: np.ndarray, low: float, high: float
) -> bool:
    if qty == 0.0:
        return False
    level = rules.tiered_liquidation_price(entry, abs(qty), qty > 0.0, margin, brackets)
    return low <= level if qty > 0.0 else high >= level


@njit(cache=True)
def _liquidate(
    i: int,
    qty: float,
    entry_price: float,
    entry_fee: float,
    entry_bar: int,
    entry_at_close: bool,
    margin: float,
    funding: float,
    opened: float,
    brackets: np.ndarray,
    tick: float,
    trades: np.ndarray,
    count: int,
) -> int:
    """Record the liquidation of the position on bar ``i`` (margin lost); return the count."""
    long = qty > 0.0
    level = rules.tiered_liquidation_price(entry_price, abs(qty), long, margin, brackets)
    gapped = opened <= level if long else opened >= level
    row = trades[count]
    row[T_ENTRY_BAR] = entry_bar
    row[T_EXIT_BAR] = i
    row[T_ENTRY_PRICE] = entry_price
    row[T_EXIT_PRICE] = _on_tick(opened if gapped else level, not long, tick)
    row[T_QTY] = abs(qty)
    row[T_FEES] = entry_fee
    row[T_PNL] = -margin - entry_fee + funding
    row[T_SIDE] = 1.0 if long else -1.0
    row[T_REASON] = REASON_LIQUIDATION
    row[T_FUNDING] = funding
    row[T_ENTRY_AT_CLOSE] = 1.0 if entry_at_close else 0.0
    row[T_EXIT_AT_CLOSE] = 0.0  # the venue stamps a liquidation at the bar's open
    return count + 1
