"""The screening kernel: the event engine's rules compiled into one bar loop, in float64.

It runs precomputed signal arrays through the same rules as the event engine's simulated venue
(the functions of :mod:`tradewind.sim.rules`): market orders from a signal at bar ``i`` fill at bar
``i + 1``'s open (or at bar ``i``'s close), slippage against the trader and rounded to the tick,
quantity sized from the stake with the fee on top and floored to the lot step, taker fees in the
quote currency or in the base (a buy's fee taken from the base received, a sell's from the base
held, as the venue's fee side says), exits of whole lots with the rest left as dust
(:mod:`tradewind.sim.lots`), equity marked at every close. It exists to make sweeps fast; the event engine
stays the truth, and an acceptance test requires both to make the same trades.

Shapes: price arrays ``(n,)``; signal arrays ``(n,)`` for :func:`simulate`, ``(n, k)`` (one column
per parameter set) for :func:`simulate_many`. The functions here are the sweep's fast path: spot
(or a 1x perpetual without funding), long only, market orders. Long/short signals, linear
perpetuals with leverage, funding and liquidation, and volatility slippage run through
:func:`tradewind.sim.margin_kernel.simulate_two_sided`, which shares this module's settings vector
and fill helpers. Whatever neither expresses is refused by
:func:`tradewind.sim.screening.unsupported_reason` with a message naming it.

pandas equivalent of the fill rule: ``price = open.shift(-1)`` where a signal is true.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from tradewind.sim import lots, rules

# Layout of the float64 settings vector (one place, so Python and numba agree).
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

# Columns of the trade table.
T_ENTRY_BAR, T_EXIT_BAR, T_ENTRY_PRICE, T_EXIT_PRICE, T_QTY, T_FEES, T_PNL = range(7)
TRADE_COLUMNS = 7

# Metrics, in the order the kernel returns them.
METRICS = ("final_equity", "total_return", "sharpe_ratio", "sortino_ratio", "calmar_ratio",
           "max_drawdown", "annual_return", "trade_count")  # fmt: skip


@njit(cache=True)
def on_grid(units: float, tick: float) -> float:
    """``units`` ticks as the float nearest to that decimal price.

    For ticks below 1, dividing by the integer ``1 / tick`` is correctly rounded, so 36218 ticks
    of 1e-9 give ``3.6218e-05`` exactly as the event engine's ``Decimal`` price converts, not the
    ``3.6218000000000005e-05`` a multiplication gives; a stop or target derived from the price
    then lands on the same tick in both engines.
    """
    if tick < 1.0:
        return units / float(round(1.0 / tick))
    return units * tick


@njit(cache=True)
def _fill_price(raw: float, is_buy: bool, slippage_bps: float, tick: float) -> float:
    if slippage_bps <= 0.0:
        return raw
    price = rules.slipped_price(raw, is_buy, slippage_bps)
    units = price / tick
    nearest = round(units)
    if abs(units - nearest) <= 1e-9 * max(1.0, abs(units)):
        return on_grid(nearest, tick)
    # Off the tick grid after slippage: round against the trader, as the venue does.
    return on_grid(math.ceil(units) if is_buy else math.floor(units), tick)


@njit(cache=True)
def _buy(
    cash: float, budget: float, raw: float, settings: np.ndarray
) -> tuple[bool, float, float, float, float]:
    """Buy for ``budget`` at ``raw``: ``(filled, cash, base received, price, fee in quote)``. A buy
    the cash cannot pay for, or below the lot or notional minimum, is rejected, as on the venue.
    With the fee in the base, the fee comes out of the base received instead of the cash."""
    fee = settings[FEE]
    in_base = settings[BUY_FEE_IN_BASE] != 0.0
    on_top = 0.0 if in_base else fee
    price = _fill_price(raw, True, settings[SLIPPAGE], settings[TICK])
    lot = settings[LOT]
    size = rules.all_in_quantity(budget, price, on_top, lot)
    cost = size * price
    paid = rules.fee_amount(cost, on_top)
    if cost + paid > budget * (1.0 + 1e-12):
        # all_in_quantity's tolerance rounded up past the exact floor the event engine takes.
        size -= lot
        cost = size * price
        paid = rules.fee_amount(cost, on_top)
    min_notional = settings[MIN_NOTIONAL]
    # Float noise of one part in 1e12 is not a lack of funds (the event engine checks in Decimal).
    if (
        size <= 0.0
        or cost + paid > cash * (1.0 + 1e-12)
        or (min_notional > 0.0 and cost < min_notional)
    ):
        return False, cash, 0.0, 0.0, 0.0
    if in_base:
        base_fee = size * fee
        # The fee's value in quote at the fill price, as the portfolio books it.
        return True, cash - cost, size - base_fee, price, base_fee * price
    return True, cash - cost - paid, size, price, paid


@njit(cache=True)
def _sell_base_fee(settings: np.ndarray) -> float:
    """The sell's fee rate when it is charged in the base (else 0), for :mod:`lots`."""
    return settings[FEE] if settings[SELL_FEE_IN_BASE] != 0.0 else 0.0


@njit(cache=True)
def spot_sell(held: float, price: float, settings: np.ndarray) -> tuple[float, float, float, float]:
    """An exit of a spot long holding ``held`` base at ``price`` (on the tick).

    Returns ``(base out, quote in, fee in quote, dust)``: the whole lots sold (with the fee when it
    is charged in the base), the proceeds net of a quote fee, the fee's value in quote, and what
    stays behind (less than a lot, :mod:`tradewind.sim.lots`).
    """
    fee = settings[FEE]
    in_base = settings[SELL_FEE_IN_BASE] != 0.0
    size = lots.sellable_lots(held, settings[LOT], _sell_base_fee(settings)) * settings[LOT]
    notional = size * price
    if in_base:
        base_fee = size * fee
        out = size + base_fee
        return out, notional, base_fee * price, held - out
    paid = rules.fee_amount(notional, fee)
    return size, notional - paid, paid, held - size


@njit(cache=True)
def _budget(cash: float, settings: np.ndarray, equity: float = -1.0) -> float:
    """What the stake rule lets one entry spend (0: the gate would deny it). ``equity`` (cash
    plus dust at the close; the cash when not given) is what a percent stake is a percent of."""
    kind = settings[STAKE_KIND]
    if kind == STAKE_ALL:
        budget = cash
    elif kind == STAKE_PERCENT:
        budget = min((cash if equity < 0.0 else equity) * settings[STAKE_VALUE], cash)
    else:
        budget = settings[STAKE_VALUE] if settings[STAKE_VALUE] <= cash else 0.0
    min_notional = settings[MIN_NOTIONAL]
    if min_notional > 0.0 and budget < min_notional:
        return 0.0
    return budget


@njit(cache=True)
def _fill(
    pending: int,
    raw: float,
    i: int,
    budget: float,
    cash: float,
    qty: float,
    entry_price: float,
    entry_fee: float,
    entry_bar: int,
    trades: np.ndarray,
    count: int,
    settings: np.ndarray,
) -> tuple[float, float, float, float, int, int]:
    """Fill the pending buy (1) or sell (2) at ``raw``; record a closed trade on a sell.

    ``qty`` is the base held: the position, or the dust a flat account holds (which joins a
    buy's base at the buy's price, as the portfolio books it). After a sell, the returned
    quantity is the dust it left."""
    if pending == 1:
        filled, cash, size, price, paid = _buy(cash, budget, raw, settings)
        if filled:
            held = qty + size
            if lots.sellable_lots(held, settings[LOT], _sell_base_fee(settings)) == 0.0:
                return cash, held, 0.0, 0.0, -1, count  # less than a lot: dust, not a position
            return cash, held, price, paid, i, count
        return cash, qty, entry_price, entry_fee, entry_bar, count
    price = _fill_price(raw, False, settings[SLIPPAGE], settings[TICK])
    out, proceeds, paid, dust = spot_sell(qty, price, settings)
    trades[count, T_ENTRY_BAR] = entry_bar
    trades[count, T_EXIT_BAR] = i
    trades[count, T_ENTRY_PRICE] = entry_price
    trades[count, T_EXIT_PRICE] = price
    trades[count, T_QTY] = out
    trades[count, T_FEES] = entry_fee + paid
    # Every base that left is sold at ``price`` in the PnL, the fee's base included (its value
    # is then the fee), as the portfolio books a fee charged in the base.
    trades[count, T_PNL] = (price - entry_price) * out - entry_fee - paid
    return cash + proceeds, dust, 0.0, 0.0, -1, count + 1


@njit(cache=True)
def simulate(
    open_: np.ndarray,
    close: np.ndarray,
    entry: np.ndarray,
    exit_: np.ndarray,
    start: int,
    settings: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Run one long-only signal set; return ``(equity, trades, trade_count)``.

    ``equity[i]`` is the account value at bar ``i``'s close (cash before ``start``). ``trades``
    has :data:`TRADE_COLUMNS` columns; rows past ``trade_count`` are unused.
    """
    n = open_.shape[0]
    cash = settings[CASH]
    at_close = settings[FILL_AT_CLOSE] != 0.0
    equity = np.empty(n, dtype=np.float64)
    trades = np.empty((n // 2 + 1, TRADE_COLUMNS), dtype=np.float64)
    count = 0
    qty = 0.0
    entry_price = 0.0
    entry_fee = 0.0
    entry_bar = -1
    pending = 0  # 1: buy, 2: sell, at the next fill price
    budget = 0.0
    for i in range(n):
        if pending != 0 and not at_close:
            # The order made at the previous close fills at this bar's open.
            cash, qty, entry_price, entry_fee, entry_bar, count = _fill(
                pending, open_[i], i, budget, cash, qty, entry_price, entry_fee, entry_bar,
                trades, count, settings,
            )  # fmt: skip
            pending = 0
        # A signal acts at bar i's close, if its order can still fill: at this close, or at the
        # next open (an order made at the last close finds no more bars, as on the venue).
        if i >= start and (at_close or i < n - 1):
            # In a position while ``entry_bar`` is set; ``qty`` alone may be dust.
            if entry_bar >= 0 and exit_[i]:
                pending = 2
            elif entry_bar < 0 and entry[i] and not exit_[i]:
                budget = _budget(cash, settings, cash + qty * close[i])
                if budget > 0.0:
                    pending = 1
            if pending != 0 and at_close:
                cash, qty, entry_price, entry_fee, entry_bar, count = _fill(
                    pending, close[i], i, budget, cash, qty, entry_price, entry_fee, entry_bar,
                    trades, count, settings,
                )  # fmt: skip
                pending = 0
        equity[i] = cash + qty * close[i]
    return equity, trades, count


@njit(cache=True)
def metrics(equity: np.ndarray, start: int, annualization: float, trade_count: int) -> np.ndarray:
    """The optimiser's metrics from an equity curve, in the order of :data:`METRICS`.

    Same definitions as :mod:`tradewind.performance.metrics` (empyrical's): per-bar simple
    returns from ``start``; Sharpe ``mean / std(ddof=1) * sqrt(P)``; Sortino ``mean * P /
    (sqrt(mean(min(r, 0)^2)) * sqrt(P))``; CAGR over ``n / P`` years; Calmar ``CAGR / |max DD|``.
    """
    out = np.full(len(METRICS), np.nan)
    n = equity.shape[0] - start
    initial = equity[start]
    final = equity[-1]
    out[0] = final
    out[1] = final / initial - 1.0
    out[7] = trade_count
    if n < 2:
        return out
    m = n - 1
    total = 0.0
    for i in range(start + 1, equity.shape[0]):
        total += equity[i] / equity[i - 1] - 1.0
    mean = total / m
    var = 0.0
    down = 0.0
    peak = initial
    worst = 0.0
    for i in range(start + 1, equity.shape[0]):
        r = equity[i] / equity[i - 1] - 1.0
        var += (r - mean) * (r - mean)
        if r < 0.0:
            down += r * r
        peak = max(peak, equity[i])
        dd = equity[i] / peak - 1.0
        worst = min(worst, dd)
    std = math.sqrt(var / (m - 1)) if m > 1 else np.nan
    if m > 1 and std > 0.0:
        out[2] = mean / std * math.sqrt(annualization)
    downside = math.sqrt(down / m) * math.sqrt(annualization)
    if downside > 0.0:
        out[3] = mean * annualization / downside
    out[5] = worst
    growth = final / initial
    if growth > 0.0:
        out[6] = growth ** (annualization / m) - 1.0
        if worst < 0.0:
            out[4] = out[6] / abs(worst)
    return out


@njit(cache=True, parallel=True)
def simulate_many(
    open_: np.ndarray,
    close: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    start: int,
    settings: np.ndarray,
) -> np.ndarray:
    """Run ``k`` signal sets (columns of ``entries``/``exits``, shape ``(n, k)``) on both cores;
    return the ``(k, len(METRICS))`` metrics matrix."""
    k = entries.shape[1]
    out = np.empty((k, len(METRICS)), dtype=np.float64)
    for j in prange(k):
        equity, _, count = simulate(open_, close, entries[:, j], exits[:, j], start, settings)
        out[j, :] = metrics(equity, start, settings[ANNUALIZATION], count)
    return out


@njit(cache=True)
def cross_signals(
    fast: np.ndarray, slow: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Entries where ``fast`` crosses above ``slow`` and exits where it crosses below.

    The compiled twin of :func:`tradewind.strategies.base.crossed_above` /
    :func:`~tradewind.strategies.base.crossed_below`: values within a relative ``tolerance`` of
    each other are a tie, and NaN (warm-up) never crosses.
    """
    n = fast.shape[0]
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    was_above = False
    was_below = False
    was_defined = False
    for i in range(n):
        a = fast[i]
        b = slow[i]
        defined = not (math.isnan(a) or math.isnan(b))
        limit = tolerance * max(abs(a), abs(b)) if defined else 0.0
        above = defined and a - b > limit
        below = defined and b - a > limit
        if defined and was_defined:
            entry[i] = above and not was_above
            exit_[i] = below and not was_below
        was_above, was_below, was_defined = above, below, defined
    return entry, exit_


@njit(cache=True, parallel=True)
def simulate_crossings(
    open_: np.ndarray,
    close: np.ndarray,
    lines: np.ndarray,
    fast: np.ndarray,
    slow: np.ndarray,
    start: int,
    settings: np.ndarray,
    tolerance: float,
) -> np.ndarray:
    """Sweep crossover strategies without materialising their signals.

    ``lines`` is ``(n, m)``: one precomputed indicator per column (e.g. the SMA of every period in
    the grid); set ``j`` trades the crossings of column ``fast[j]`` over column ``slow[j]``. Returns
    the ``(k, len(METRICS))`` metrics matrix, one row per set, computed on both cores.
    """
    k = fast.shape[0]
    out = np.empty((k, len(METRICS)), dtype=np.float64)
    for j in prange(k):
        entry, exit_ = cross_signals(lines[:, fast[j]], lines[:, slow[j]], tolerance)
        equity, _, count = simulate(open_, close, entry, exit_, start, settings)
        out[j, :] = metrics(equity, start, settings[ANNUALIZATION], count)
    return out
