"""Fill, trigger, fee and slippage rules on plain floats.

Every function here is a pure function of floats and booleans, compiled with numba and callable from
Python. The event engine's simulated venue calls them and converts the result to ``Decimal`` at the
instrument's tick; the screening kernel calls them inside its compiled loop. One rule, one place.

Modelling assumptions (each stated where it is made):

- A market order submitted while bar ``j`` is not yet open fills at bar ``j``'s open (or at the
  signal bar's close when the user asks for ``fill="close"``), moved against the trader by the
  slippage.
- Limit orders fill when the bar's range touches the limit (``low <= limit`` for a buy). If the bar
  opens through the limit, the fill is at the open, which is better than the limit, as on an
  exchange where the order rests and the market gaps into it. Touch-fills are optimistic about queue
  position; users who want more conservatism can ask for a penetration of one tick.
- Stop orders trigger when the range reaches the trigger; a gap through the trigger fills at the
  open (worse than the trigger), otherwise at the trigger; slippage then applies.
- When one bar could trigger both a stop-loss and a take-profit, the adverse one (the stop) is
  assumed to happen first unless the caller asks otherwise: the bar's path is unknown, and a
  backtest must not assume the lucky path.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def slipped_price(price: float, is_buy: bool, slippage_bps: float) -> float:
    """Move ``price`` against the trader by ``slippage_bps`` basis points."""
    factor = slippage_bps * 1e-4
    return price * (1.0 + factor) if is_buy else price * (1.0 - factor)


@njit(cache=True)
def volatility_slippage_bps(high: float, low: float, close: float, fraction: float) -> float:
    """Slippage proportional to the bar's range: ``fraction`` of high-low, in bps of close.

    A fraction of 0.1 on a bar whose range is 50 bps gives 5 bps of slippage.
    """
    if close <= 0.0:
        return 0.0
    return fraction * (high - low) / close * 1e4


@njit(cache=True)
def limit_fill_price(is_buy: bool, limit: float, open_: float, high: float, low: float) -> float:
    """Fill price of a resting limit order over one bar, or NaN when the bar does not reach it."""
    if is_buy:
        if open_ <= limit:
            return open_
        if low <= limit:
            return limit
        return math.nan
    if open_ >= limit:
        return open_
    if high >= limit:
        return limit
    return math.nan


@njit(cache=True)
def stop_fill_price(is_buy: bool, trigger: float, open_: float, high: float, low: float) -> float:
    """Fill price (before slippage) of a stop-market order over one bar, or NaN if not triggered.

    A buy stop triggers when the price rises to ``trigger``; a sell stop when it falls to it.
    """
    if is_buy:
        if open_ >= trigger:
            return open_
        if high >= trigger:
            return trigger
        return math.nan
    if open_ <= trigger:
        return open_
    if low <= trigger:
        return trigger
    return math.nan


@njit(cache=True)
def take_profit_fill_price(
    is_buy: bool, trigger: float, open_: float, high: float, low: float
) -> float:
    """Fill price of a take-profit (favourable trigger) over one bar, or NaN if not reached.

    A sell take-profit closes a long when the price rises to ``trigger``: it behaves like a sell
    limit at the trigger (a gap through it fills at the better open).
    """
    return limit_fill_price(is_buy, trigger, open_, high, low)


@njit(cache=True)
def exit_price_in_bar(
    is_long: bool,
    stop: float,
    take_profit: float,
    open_: float,
    high: float,
    low: float,
    adverse_first: bool,
) -> tuple[float, int]:
    """Which protective exit of a position fires in one bar, and at what price.

    ``stop`` or ``take_profit`` may be NaN (not set). Returns ``(price, kind)`` with kind 0 = none,
    1 = stop, 2 = take-profit. When both are inside the bar, ``adverse_first`` picks the stop.
    """
    closing_buy = not is_long
    stop_px = math.nan if math.isnan(stop) else stop_fill_price(closing_buy, stop, open_, high, low)
    tp_px = (
        math.nan
        if math.isnan(take_profit)
        else take_profit_fill_price(closing_buy, take_profit, open_, high, low)
    )
    has_stop = not math.isnan(stop_px)
    has_tp = not math.isnan(tp_px)
    if has_stop and has_tp:
        # A gap through one of them at the open decides it: the open is the first price of the bar.
        gapped_stop = open_ <= stop if is_long else open_ >= stop
        gapped_tp = open_ >= take_profit if is_long else open_ <= take_profit
        if gapped_stop:
            return stop_px, 1
        if gapped_tp:
            return tp_px, 2
        return (stop_px, 1) if adverse_first else (tp_px, 2)
    if has_stop:
        return stop_px, 1
    if has_tp:
        return tp_px, 2
    return math.nan, 0


@njit(cache=True)
def fee_amount(notional: float, rate: float) -> float:
    """Fee on a fill of ``notional`` at fractional ``rate`` (0.001 = 0.1%)."""
    return abs(notional) * rate


@njit(cache=True)
def participation_cap(quantity: float, bar_volume: float, max_participation: float) -> float:
    """The part of ``quantity`` a bar with ``bar_volume`` (base units) can fill.

    ``max_participation`` <= 0 disables the cap. The rest of the order stays open for later bars.
    """
    if max_participation <= 0.0:
        return quantity
    return min(quantity, bar_volume * max_participation)


@njit(cache=True)
def all_in_quantity(cash: float, price: float, fee_rate: float, step: float) -> float:
    """Largest quantity on the ``step`` grid that ``cash`` buys at ``price``, fee on top."""
    if price <= 0.0 or cash <= 0.0:
        return 0.0
    raw = cash / (price * (1.0 + fee_rate))
    # The small epsilon keeps an exact multiple (e.g. 2.0 / 1e-8) from flooring one step short.
    return math.floor(raw / step + 1e-9) * step


@njit(cache=True)
def tiered_liquidation_price(
    entry: float, quantity: float, is_long: bool, margin: float, brackets: np.ndarray
) -> float:
    """Liquidation price of an isolated linear position of ``quantity`` (base units, > 0).

    ``brackets`` is the instrument's maintenance table as rows ``(cap, rate, amount)``
    (:attr:`tradewind.core.brackets.MarginBrackets.floats`). The position is liquidated where
    ``margin + PnL(P)`` falls to the maintenance margin of the notional ``quantity x P``. That
    margin is the largest of the brackets' lines ``n x rate - amount`` (it is convex), so the
    level is the highest of the lines' break-even prices for a long and the lowest for a short:
    long ``(q x entry - margin - amount) / (q x (1 - rate))``, short
    ``(q x entry + margin + amount) / (q x (1 + rate))``. No bracket (an empty table) means no
    maintenance margin: the level is the bankruptcy price. Never below 0.
    """
    base = quantity * entry
    if is_long:
        level = (base - margin) / quantity
        for j in range(brackets.shape[0]):
            rate, amount = brackets[j, 1], brackets[j, 2]
            level = max(level, (base - margin - amount) / (quantity * (1.0 - rate)))
        return max(level, 0.0)
    level = (base + margin) / quantity
    for j in range(brackets.shape[0]):
        rate, amount = brackets[j, 1], brackets[j, 2]
        level = min(level, (base + margin + amount) / (quantity * (1.0 + rate)))
    return level


def bracket_rows(floats: tuple[tuple[float, float, float], ...]) -> np.ndarray:
    """A bracket table's float rows as the ``(k, 3)`` array the compiled functions read."""
    return np.array(floats, dtype=np.float64).reshape((len(floats), 3))


@njit(cache=True)
def funding_payment(position_qty: float, mark_price: float, rate: float) -> float:
    """Funding a position pays (negative) or receives (positive): ``-qty x mark x rate``.

    Longs pay shorts when the rate is positive.
    """
    return -position_qty * mark_price * rate
