"""The screening kernel with a volume participation cap: partial fills, as the event engine makes them.

With ``FillModel.max_participation`` the simulated venue fills at most ``cap x bar volume`` (base
units, floored to the lot) of an order per bar and keeps the rest working at the following bars'
opens. That turns one fill per signal into a small book of working orders, and the node's rules
for working orders start to matter. This loop replays them for a spot, long-only account:

- An entry is a market buy by quote amount; its base quantity is fixed at its first fill
  (``floor(quote / (price x (1 + fee)))``) and the rest of that quantity fills on later bars at
  their own prices. A part the cash cannot pay for waits for a later bar (the first part, when
  unaffordable, expires the order). The quote amount stays reserved until the order ends.
- An exit is a reduce-only market sell of the whole position *at the time of the signal*. It is
  sent even while the entry is still filling (the entry keeps filling after it), but not while an
  earlier exit is still working (the node sends one exit at a time); each order is capped on its
  own, in the order they were sent, so an entry and an exit may together take twice the cap from
  one bar. A sell the held base cannot cover waits (or, before any part of it filled, expires).
- An entry signal while any order is working is dropped, unless a reduce-only order is among
  them: then it waits and is sent when a reduce-only order completes with the position flat,
  sized from the account at that moment, and its first part fills at the same bar's open.
- With ``fill_at_close`` an order fills what the signal bar's volume allows at its close and the
  rest expires: nothing is left working.
- Every fill pays the fee on its own notional. Each sell closes part of the position and makes its
  own trade (entry price: the position's average; fees: the sold share of the entry fees plus the
  sell's fee), as the portfolio books it.

Quantities are kept as whole numbers of lots (exact in float64) so remainders do not drift.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tradewind.sim import rules
from tradewind.sim.fills import TOLERANCE, fill_price, slippage_bps
from tradewind.sim.kernel import open_row
from tradewind.sim.layout import (
    CASH,
    FEE,
    FILL_AT_CLOSE,
    LOT,
    MAX_PARTICIPATION,
    MIN_NOTIONAL,
    REASON_SIGNAL,
    STAKE_ALL,
    STAKE_KIND,
    STAKE_PERCENT,
    STAKE_VALUE,
    T_ENTRY_AT_CLOSE,
    T_ENTRY_BAR,
    T_ENTRY_PRICE,
    T_EXIT_AT_CLOSE,
    T_EXIT_BAR,
    T_EXIT_PRICE,
    T_FEES,
    T_FUNDING,
    T_PNL,
    T_QTY,
    T_REASON,
    T_SIDE,
    TICK,
    TRADE_COLUMNS,
)

# Fields of one order in the order table.
O_BUY, O_QUOTE, O_LOTS, O_FILLED, O_BAR = range(5)
ORDER_FIELDS = 5
# The account, as the portfolio books it: quote cash, lots held, their average price, the entry
# fees of the open part, the bar (and whether at its close) the position opened, trades made.
S_CASH, S_BASE, S_AVERAGE, S_OPEN_FEES, S_ENTRY_BAR, S_ENTRY_AT_CLOSE, S_COUNT = range(7)
STATE_SIZE = 7


@njit(cache=True)
def _lots(quantity: float, lot: float) -> float:
    """Whole lots in ``quantity``, floored as the venue floors the Decimal of the float.

    The relative epsilon (a few float ulps) keeps an exact multiple (``155.104595 / 1e-8``) from
    flooring one lot short through the division's rounding; it must stay that small, or a float
    just below a lot boundary (``3.8763276099999997`` for 1e-8 lots) would floor one lot up.
    """
    units = quantity / lot
    return float(math.floor(units + 1e-9 + 2e-15 * units))


@njit(cache=True)
def simulate_capped(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    entry: np.ndarray,
    exit_: np.ndarray,
    start: int,
    settings: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Run one spot long-only signal set under a participation cap.

    Parameters
    ----------
    open_, high, low, close, volume : ndarray
        Bar prices and base-unit volume, shape ``(n,)``.
    entry, exit_ : ndarray
        Long entry and exit flags at each bar's close, shape ``(n,)``.
    start
        First bar whose signals count (earlier bars are warm-up).
    settings
        The settings vector (layout in :mod:`tradewind.sim.layout`); ``MAX_PARTICIPATION`` > 0.

    Returns
    -------
    tuple
        ``equity[i]`` (account value at bar ``i``'s close), the trade table in the layout of
        :mod:`tradewind.sim.layout` (one row per partial close; rows past the count unused),
        the trade count and the position still open at the end
        (:func:`~tradewind.sim.kernel.open_row`).
    """
    n = open_.shape[0]
    at_close = settings[FILL_AT_CLOSE] != 0.0
    equity = np.empty(n, dtype=np.float64)
    trades = np.empty((16, TRADE_COLUMNS), dtype=np.float64)
    orders = np.zeros((2 * n + 4, ORDER_FIELDS), dtype=np.float64)
    made = 0
    active = np.empty(2 * n + 4, dtype=np.int64)  # working orders, in the order they were sent
    working = 0
    state = np.zeros(STATE_SIZE, dtype=np.float64)
    state[S_CASH] = settings[CASH]
    state[S_ENTRY_BAR] = -1.0
    deferred = False  # an entry waiting for a reduce-only order to complete
    lot = settings[LOT]
    for i in range(n):
        # -- fills at this bar's open (a second pass for an entry sent during the first) -------
        for _ in range(0 if at_close else 2):
            resend = False
            k = 0
            while k < working:
                o = active[k]
                if orders[o, O_BAR] > i:
                    k += 1
                    continue
                bps = slippage_bps(i, False, high, low, close, settings)
                done, expired, trades = _execute(
                    orders, o, i, False, open_[i], bps, volume[i], state, trades, settings
                )
                if not (done or expired):
                    orders[o, O_BAR] = i + 1
                    k += 1
                    continue
                for m in range(k, working - 1):
                    active[m] = active[m + 1]
                working -= 1
                if done and orders[o, O_BUY] == 0.0 and deferred:
                    deferred = False
                    if state[S_BASE] == 0.0:
                        # Sent now, it fills from this bar's open (in the second pass).
                        free = state[S_CASH] - _reserved(orders, active, working)
                        budget = _stake(state[S_CASH], free, settings)
                        if budget > 0.0:
                            orders[made, O_BUY] = 1.0
                            orders[made, O_QUOTE] = budget
                            orders[made, O_BAR] = i + 0.5  # not in this pass
                            active[working] = made
                            working += 1
                            made += 1
                            resend = True
            if not resend:
                break
            for m in range(working):
                if orders[active[m], O_BAR] == i + 0.5:
                    orders[active[m], O_BAR] = i
        # -- signals at this bar's close -------------------------------------------------------
        base = state[S_BASE]
        if i >= start and (at_close or i < n - 1):
            send = 0  # 1: a buy by quote amount, 2: a sell of the position
            budget = 0.0
            if base > 0.0 and exit_[i]:
                # Not while a sell is working: it is selling the position already.
                send = 0 if _selling(orders, active, working) else 2
            elif base == 0.0 and entry[i] and not exit_[i]:
                if working > 0:
                    # An entry is already on its way, or waits for the exit to complete.
                    for m in range(working):
                        if orders[active[m], O_BUY] == 0.0:
                            deferred = True
                else:
                    budget = _stake(state[S_CASH], state[S_CASH], settings)
                    if budget > 0.0:
                        send = 1
            if send != 0:
                o = made
                made += 1
                orders[o, O_BUY] = 1.0 if send == 1 else 0.0
                orders[o, O_QUOTE] = budget
                orders[o, O_LOTS] = 0.0 if send == 1 else base
                orders[o, O_BAR] = i + 1
                if at_close:
                    # Filled at this close as far as the bar allows; the rest expires.
                    bps = slippage_bps(i, True, high, low, close, settings)
                    _, _, trades = _execute(
                        orders, o, i, True, close[i], bps, volume[i], state, trades, settings
                    )
                else:
                    active[working] = o
                    working += 1
        equity[i] = state[S_CASH] + state[S_BASE] * lot * close[i]
    held = open_row(state[S_BASE] * lot, state[S_AVERAGE], state[S_OPEN_FEES],
                    int(state[S_ENTRY_BAR]), state[S_ENTRY_AT_CLOSE] != 0.0, 0.0, close)  # fmt: skip
    return equity, trades, int(state[S_COUNT]), held


@njit(cache=True)
def _selling(orders: np.ndarray, active: np.ndarray, working: int) -> bool:
    """Whether a sell (an exit) is among the working orders."""
    for m in range(working):  # noqa: SIM110 (numba compiles no generator expressions)
        if orders[active[m], O_BUY] == 0.0:
            return True
    return False


@njit(cache=True)
def _reserved(orders: np.ndarray, active: np.ndarray, working: int) -> float:
    """Quote amounts of the working entries, which the node keeps out of the free cash."""
    total = 0.0
    for m in range(working):
        total += orders[active[m], O_QUOTE]
    return total


@njit(cache=True)
def _stake(equity: float, free: float, settings: np.ndarray) -> float:
    """The stake gate's quote budget for an entry (0: denied), flat account: equity is cash."""
    kind = settings[STAKE_KIND]
    if kind == STAKE_ALL:
        budget = free
    elif kind == STAKE_PERCENT:
        budget = min(equity * settings[STAKE_VALUE], free)
    else:
        budget = settings[STAKE_VALUE]
    if budget <= 0.0 or budget > free:
        return 0.0
    min_notional = settings[MIN_NOTIONAL]
    if min_notional > 0.0 and budget < min_notional:
        return 0.0
    return budget


@njit(cache=True)
def _execute(
    orders: np.ndarray,
    o: int,
    i: int,
    at_close: bool,
    raw: float,
    bps: float,
    bar_volume: float,
    state: np.ndarray,
    trades: np.ndarray,
    settings: np.ndarray,
) -> tuple[bool, bool, np.ndarray]:
    """Fill what bar ``i`` allows of order ``o`` and book it in ``state`` as the portfolio does.

    Returns ``(complete, expired, trades)``; ``trades`` is a larger copy when it was full.
    """
    fee = settings[FEE]
    lot = settings[LOT]
    min_notional = settings[MIN_NOTIONAL]
    is_buy = orders[o, O_BUY] != 0.0
    price = fill_price(raw, is_buy, bps, settings[TICK])
    if is_buy and orders[o, O_LOTS] == 0.0:
        # A quote-amount order: its quantity is fixed at the first fill's price, fee included.
        divisor = price * (1.0 + fee)
        lots = _lots(orders[o, O_QUOTE] / divisor, lot)
        if lots > 0.0 and lots * lot * divisor > orders[o, O_QUOTE] * TOLERANCE:
            lots -= 1.0  # the epsilon rounded up past the exact floor the venue takes
        if lots <= 0.0 or (min_notional > 0.0 and lots * lot * price < min_notional):
            return False, True, trades
        orders[o, O_LOTS] = lots
    remaining = orders[o, O_LOTS] - orders[o, O_FILLED]
    allowed = rules.participation_cap(remaining * lot, bar_volume, settings[MAX_PARTICIPATION])
    # The whole remainder when the bar allows it (no float detour through the lot division).
    lots = remaining if allowed >= remaining * lot else min(remaining, _lots(allowed, lot))
    # A part the account cannot pay for expires the order only if nothing of it filled yet.
    first = orders[o, O_FILLED] == 0.0
    if lots <= 0.0:
        return False, False, trades
    quantity = lots * lot
    notional = quantity * price
    paid = rules.fee_amount(notional, fee)
    base = state[S_BASE]
    if is_buy:
        if notional + paid > state[S_CASH] * TOLERANCE:
            return False, first, trades
        state[S_CASH] -= notional + paid
        if base == 0.0:
            state[S_ENTRY_BAR] = i
            state[S_ENTRY_AT_CLOSE] = 1.0 if at_close else 0.0
            state[S_AVERAGE] = price
        else:
            state[S_AVERAGE] = (state[S_AVERAGE] * base + price * lots) / (base + lots)
        state[S_BASE] = base + lots
        state[S_OPEN_FEES] += paid
    else:
        if lots > base:
            return False, first, trades
        state[S_CASH] += notional - paid
        entry_fees = state[S_OPEN_FEES] * (lots / base)
        count = int(state[S_COUNT])
        if count == trades.shape[0]:
            grown = np.empty((2 * count, TRADE_COLUMNS), dtype=np.float64)
            grown[:count] = trades
            trades = grown
        average = state[S_AVERAGE]
        row = trades[count]
        row[T_ENTRY_BAR] = state[S_ENTRY_BAR]
        row[T_EXIT_BAR] = i
        row[T_ENTRY_PRICE] = average
        row[T_EXIT_PRICE] = price
        row[T_QTY] = quantity
        row[T_FEES] = entry_fees + paid
        row[T_PNL] = (price - average) * quantity - entry_fees - paid
        row[T_SIDE] = 1.0
        row[T_REASON] = REASON_SIGNAL
        row[T_FUNDING] = 0.0
        row[T_ENTRY_AT_CLOSE] = state[S_ENTRY_AT_CLOSE]
        row[T_EXIT_AT_CLOSE] = 1.0 if at_close else 0.0
        state[S_COUNT] = count + 1
        state[S_OPEN_FEES] -= entry_fees
        state[S_BASE] = base - lots
        if base == lots:
            state[S_AVERAGE] = 0.0
            state[S_OPEN_FEES] = 0.0
            state[S_ENTRY_BAR] = -1.0
    orders[o, O_FILLED] += lots
    return orders[o, O_FILLED] >= orders[o, O_LOTS], False, trades
