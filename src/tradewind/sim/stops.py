"""Stops and exits as pure functions of bar arrays and position state (numba).

The event engine calls these to find the next bar on which a position's protective exit fires; the
screening kernel will call the same functions inside its compiled loop, so both simulators agree
by construction. Prices are floats here; the engine converts the result to ``Decimal`` on the tick.

Modelling assumptions (stated where they are made, repeated here):

- Levels are rounded to the instrument's tick, as an exchange requires for trigger prices.
- A protective stop is a stop-market order resting from the bar after the entry decision: it fills
  at the stop level on the bar whose range reaches it, or at the open when the bar gaps through it
  (:func:`tradewind.sim.rules.stop_fill_price`). Take-profit and scale-out levels fill like limit
  orders (a gap through them fills at the better open).
- When one bar reaches both a stop and a profit level, the stop (the adverse one) is assumed to
  come first, as the simulated venue assumes (:func:`tradewind.sim.rules.exit_price_in_bar`).
- Trailing and break-even levels move only on information from completed bars: the level in force
  during bar ``j`` is computed from the highs (lows for shorts) of bars before ``j`` and the ATR of
  bar ``j - 1``. The bar that pushes the trail up cannot also be stopped out by the raised trail.
- The entry bar itself is scanned: an entry filled at a bar's open can be stopped out in that bar.
- A time stop and a pyramiding add are decided at a bar's close (market order, next open), after
  the intrabar stops of that bar were checked.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tradewind.sim.rules import exit_price_in_bar

NONE = 0
STOP = 1
TAKE_PROFIT = 2
TRAILING = 3
BREAKEVEN = 4
TIME = 5
SCALE_OUT = 6
PYRAMID_ADD = 7

KIND_NAMES = {
    NONE: "none",
    STOP: "stop",
    TAKE_PROFIT: "take_profit",
    TRAILING: "trailing_stop",
    BREAKEVEN: "breakeven_stop",
    TIME: "time_stop",
    SCALE_OUT: "scale_out",
    PYRAMID_ADD: "pyramid_add",
}
"""Readable name of each exit kind code, used as the order's reason tag."""


@njit(cache=True)
def round_to_tick(price: float, tick: float) -> float:
    """Round ``price`` to the nearest multiple of ``tick`` (NaN stays NaN; tick <= 0: unchanged).

    For ticks below 1 the division by the integer ``1 / tick`` gives the float nearest to the
    decimal tick multiple (IEEE division is correctly rounded), so ``46123.1`` stays ``46123.1``
    rather than becoming ``46123.100000000006``.
    """
    if math.isnan(price) or tick <= 0.0:
        return price
    if tick < 1.0:
        inverse = float(round(1.0 / tick))
        return float(round(price * inverse)) / inverse
    return float(round(price / tick)) * tick


@njit(cache=True)
def initial_stop(
    is_long: bool, entry: float, stop_pct: float, atr_value: float, atr_mult: float, tick: float
) -> float:
    """Protective stop level for a new position, or NaN when no stop rule is set.

    Fixed percent: ``entry x (1 - stop_pct)`` for a long (``1 + stop_pct`` for a short). ATR
    multiple: ``entry - atr_mult x atr`` (``+`` for a short). When both are set the one closer to
    the entry (the tighter, more protective) wins.
    """
    best = math.nan
    direction = 1.0 if is_long else -1.0
    if not math.isnan(stop_pct) and stop_pct > 0.0:
        best = entry * (1.0 - direction * stop_pct)
    if not math.isnan(atr_mult) and atr_mult > 0.0 and not math.isnan(atr_value):
        level = entry - direction * atr_mult * atr_value
        if math.isnan(best) or (level > best if is_long else level < best):
            best = level
    return round_to_tick(best, tick)


@njit(cache=True)
def r_multiple_target(is_long: bool, entry: float, stop: float, r: float, tick: float) -> float:
    """Take-profit ``r`` times the initial risk away: ``entry + r x (entry - stop)`` for a long.

    NaN when ``stop`` or ``r`` is NaN.
    """
    if math.isnan(stop) or math.isnan(r):
        return math.nan
    return round_to_tick(entry + r * (entry - stop), tick)


@njit(cache=True)
def percent_target(is_long: bool, entry: float, pct: float, tick: float) -> float:
    """A level ``pct`` in the position's favour: ``entry x (1 + pct)`` for a long."""
    if math.isnan(pct):
        return math.nan
    return round_to_tick(entry * (1.0 + pct) if is_long else entry * (1.0 - pct), tick)


@njit(cache=True)
def trailing_level(
    is_long: bool,
    extreme: float,
    trail_pct: float,
    trail_atr_mult: float,
    atr_prev: float,
    tick: float,
) -> float:
    """Trailing stop level behind the best price so far (``extreme``).

    By percent: ``extreme x (1 - trail_pct)`` for a long. By ATR: ``extreme - mult x atr_prev``.
    With both set, the tighter one wins. NaN when neither applies.
    """
    direction = 1.0 if is_long else -1.0
    best = math.nan
    if not math.isnan(trail_pct) and trail_pct > 0.0:
        best = extreme * (1.0 - direction * trail_pct)
    if not math.isnan(trail_atr_mult) and trail_atr_mult > 0.0 and not math.isnan(atr_prev):
        level = extreme - direction * trail_atr_mult * atr_prev
        if math.isnan(best) or (level > best if is_long else level < best):
            best = level
    return round_to_tick(best, tick)


@njit(cache=True)
def _tighter(is_long: bool, current: float, candidate: float) -> float:
    if math.isnan(candidate):
        return current
    if math.isnan(current):
        return candidate
    if is_long:
        return candidate if candidate > current else current
    return candidate if candidate < current else current


@njit(cache=True)
def scale_out_quantity(position: float, fraction_of_initial: float, initial: float) -> float:
    """Quantity to close at one scale-out level: a fraction of the initial size, never more than
    is left."""
    wanted = initial * fraction_of_initial
    return wanted if wanted < position else position


@njit(cache=True)
def pyramid_add_size(base_quantity: float, decay: float, adds_done: int) -> float:
    """Size of the next add: ``base x decay ** (adds_done + 1)`` (each add smaller than the last)."""
    return base_quantity * decay ** (adds_done + 1)


@njit(cache=True)
def stop_in_force(
    is_long: bool,
    entry: float,
    stop: float,
    breakeven_offset: float,
    extreme: float,
    trail_on: bool,
    breakeven_on: bool,
    trail_pct: float,
    trail_atr_mult: float,
    atr_prev: float,
    tick: float,
) -> tuple[float, int]:
    """The stop level in force during a bar, from the state after the bars before it: the fixed
    stop, tightened by the break-even move once armed and by the trail once on (``atr_prev``: the
    ATR of the bar before). Returns ``(level, kind)``, the kind the level fires as (``STOP``,
    ``BREAKEVEN`` or ``TRAILING``); NaN when no stop applies.

    :func:`scan_exits` reads it for every bar; a live session places it on the exchange.
    """
    level = stop
    kind = STOP
    if breakeven_on:
        direction = 1.0 if is_long else -1.0
        be_level = round_to_tick(entry * (1.0 + direction * breakeven_offset), tick)
        tightened = _tighter(is_long, level, be_level)
        if tightened != level:
            level, kind = tightened, BREAKEVEN
    if trail_on:
        trail = trailing_level(is_long, extreme, trail_pct, trail_atr_mult, atr_prev, tick)
        tightened = _tighter(is_long, level, trail)
        if tightened != level:
            level, kind = tightened, TRAILING
    return level, kind


@njit(cache=True)
def scan_exits(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    atr: np.ndarray,
    start: int,
    is_long: bool,
    entry: float,
    stop: float,
    take_profit: float,
    trail_pct: float,
    trail_atr_mult: float,
    trail_activation: float,
    breakeven_trigger: float,
    breakeven_offset: float,
    time_bar: int,
    ladder: np.ndarray,
    ladder_next: int,
    add_price: float,
    extreme: float,
    trail_on: bool,
    breakeven_on: bool,
    tick: float,
    adverse_first: bool,
) -> tuple[int, float, int, float, float, bool, bool]:
    """First bar at or after ``start`` where a protective exit (or a pyramiding add) happens.

    Parameters
    ----------
    open_, high, low, close : ndarray
        Bar prices, shape ``(n,)``.
    atr : ndarray
        ATR per bar (shape ``(n,)``, NaN in warm-up); only read when ``trail_atr_mult`` is set.
    start
        First bar to examine.
    is_long, entry
        Position direction and average entry price.
    stop, take_profit
        Fixed protective stop and final take-profit levels (NaN: none).
    trail_pct, trail_atr_mult, trail_activation
        Trailing stop by percent and/or ATR multiple; it starts once the best price is
        ``trail_activation`` (a fraction) in profit (NaN: from the entry).
    breakeven_trigger, breakeven_offset
        Once the best price is ``breakeven_trigger`` in profit, the stop moves to
        ``entry x (1 + breakeven_offset)`` (the offset covers fees).
    time_bar
        Bar at whose close the position is closed by time (-1: no time stop).
    ladder, ladder_next
        Scale-out levels (prices, nearest first) and the index of the next one not yet taken.
    add_price
        Pyramiding: a close at or beyond this level confirms an add (NaN: no more adds).
    extreme, trail_on, breakeven_on
        State carried from earlier bars: best price so far, whether the trail and the break-even
        move are active.
    tick
        Price tick; every level is rounded to it.
    adverse_first
        Within one bar that reaches a stop and a profit level, take the stop first.

    Returns
    -------
    tuple
        ``(bar, price, kind, stop_level, extreme, trail_on, breakeven_on)``: the bar (-1: nothing
        happens before the data ends), the fill price (NaN for close-time events, which are
        market orders), the kind code, the stop level in force on that bar, and the state *before*
        that bar, so that a scan restarted at the same bar (after a partial exit) sees the same
        levels.
    """
    n = open_.shape[0]
    for j in range(start, n):
        # The stop in force during bar j, from completed bars only.
        atr_prev = math.nan
        if trail_on and not math.isnan(trail_atr_mult) and j >= 1:
            atr_prev = atr[j - 1]
        level, kind_if_hit = stop_in_force(
            is_long, entry, stop, breakeven_offset, extreme, trail_on, breakeven_on, trail_pct,
            trail_atr_mult, atr_prev, tick,
        )  # fmt: skip
        # The nearest profit level: the next scale-out rung or the final take-profit.
        target = take_profit
        target_kind = TAKE_PROFIT
        if ladder_next < ladder.shape[0]:
            rung = ladder[ladder_next]
            if math.isnan(target) or (rung < target if is_long else rung > target):
                target, target_kind = rung, SCALE_OUT
        price, which = exit_price_in_bar(
            is_long, level, target, open_[j], high[j], low[j], adverse_first
        )
        if which == 1:
            return j, price, kind_if_hit, level, extreme, trail_on, breakeven_on
        if which == 2:
            return j, price, target_kind, level, extreme, trail_on, breakeven_on
        # Close-time decisions: the time stop, then a pyramiding add confirmed by the close.
        if time_bar >= 0 and j >= time_bar:
            return j, math.nan, TIME, level, extreme, trail_on, breakeven_on
        if not math.isnan(add_price) and (
            close[j] >= add_price if is_long else close[j] <= add_price
        ):
            return j, math.nan, PYRAMID_ADD, level, extreme, trail_on, breakeven_on
        extreme, trail_on, breakeven_on = after_bar(
            is_long,
            high[j],
            low[j],
            entry,
            extreme,
            trail_on,
            breakeven_on,
            trail_pct,
            trail_atr_mult,
            trail_activation,
            breakeven_trigger,
        )
    return -1, math.nan, NONE, stop, extreme, trail_on, breakeven_on


@njit(cache=True)
def after_bar(
    is_long: bool,
    high: float,
    low: float,
    entry: float,
    extreme: float,
    trail_on: bool,
    breakeven_on: bool,
    trail_pct: float,
    trail_atr_mult: float,
    trail_activation: float,
    breakeven_trigger: float,
) -> tuple[float, bool, bool]:
    """State after a completed bar: its high (low for a short) may raise the best price, which
    may activate the trail and arm the break-even move for the bars that follow.

    Returns ``(extreme, trail_on, breakeven_on)``.
    """
    best = high if is_long else low
    if (best > extreme) if is_long else (best < extreme):
        extreme = best
    gain = (extreme / entry - 1.0) * (1.0 if is_long else -1.0)
    trailing = not math.isnan(trail_pct) or not math.isnan(trail_atr_mult)
    if not trail_on and trailing and (math.isnan(trail_activation) or gain >= trail_activation):
        trail_on = True
    if not breakeven_on and not math.isnan(breakeven_trigger) and gain >= breakeven_trigger:
        breakeven_on = True
    return extreme, trail_on, breakeven_on
