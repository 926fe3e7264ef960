"""The screening kernel: the event engine's rules compiled into one bar loop, in float64.

One loop for every setup the kernel expresses; what a run uses is data, and absent means off:

- **the market**: spot (long only; dust, fees in the quote or the base) or a linear perpetual
  (long and short, reversals, isolated margin at a leverage, funding, tiered liquidation), from
  the settings vector (:mod:`tradewind.sim.layout`);
- **the signals**: long entry/exit flags, and short ones (empty arrays: long only);
- **the risk rules**: a sizing model and protective exits (stop %, ATR stop, trailing by % or ATR
  with an activation, break-even, time stop, take-profit at an R multiple or a percent), from the
  rules vector (:func:`no_risk`: the stake rule, no exits);
- **funding**: the events inside the bars (:func:`no_funding`: none).

It calls the shared rules (:mod:`tradewind.sim.rules`, :mod:`tradewind.sim.stops`,
:mod:`tradewind.sim.lots`, applied to the settings by :mod:`tradewind.sim.fills`), so fills, levels
and exits agree with the event engine by construction; what is stated here is only the order of
events within bar ``j``, as :mod:`tradewind.engine.runner` orders them:

1. Market orders made at bar ``j - 1``'s close fill at ``j``'s open: an exit first (a signal exit
   comes before any protective exit of bar ``j``: the node sends no protective order while an
   exit is working), then a reversal's or a new entry, sized from the account after the exit.
2. An intrabar protective exit (stop, trailing, break-even, take-profit) of a position held from
   before bar ``j`` fills at its level, or at the open when the bar gaps through it, with the
   venue's slippage, as a taker: the runner's first event of the bar, before the venue's.
3. Funding due in bar ``j`` is paid on the position held then, marked at ``j``'s open; an event
   stamped at or before the entry's fill time is not the new position's.
4. A liquidation, if bar ``j``'s low (long) or high (short) reaches the liquidation price: the
   position's isolated margin is lost. A position opened at ``j``'s open meets 3 and 4 before its
   protective exit (the venue books them as it fills; the protection comes after).
5. Signals at ``j``'s close: a signal exit, else a time stop decided at this close, else an
   entry; with ``fill_at_close`` they fill there (the venue then also checks the entry's own bar
   for a liquidation: it searches from the fill bar).

Sizing with a model (the risk engine's decision with limits and breakers off): when the entry
is sent (at the signal close; for a reversal, when the exit has filled), with equity ``E`` (cash
plus any dust) and the last close ``P``, the model gives a notional (fixed fraction ``E x f``;
fixed risk ``E x r x P / |P - S|`` to the planned stop ``S``; volatility ``E x min(cap, target x
P / ATR14)``), for a spot buy capped at ``free / (1 + fee) x (1 - buffer)``, floored to the lot
at ``P``; the venue lets the order expire when the cash (a perpetual: the margin) does not cover
it at the fill.
Without a model the stake rule gives a budget at the fill (:func:`tradewind.sim.fills.stake_budget`).

A volume participation cap (partial fills, a book of working orders) is the one setup this loop
leaves to :func:`tradewind.sim.capped_kernel.simulate_capped`.

Shapes: price arrays ``(n,)``, bar times ``(n,)`` int64 ms (read only for funding: may be empty
without it); signal arrays ``(n,)``. pandas equivalent of the fill rule: ``price =
open.shift(-1)`` where a signal is true.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tradewind.sim import rules, stops
from tradewind.sim.fills import (
    entry_fill,
    fill_price,
    is_dust,
    on_tick,
    room,
    spot_sell,
    stake_budget,
    stake_quantity,
)
from tradewind.sim.layout import (
    ADVERSE_FIRST,
    BAR_MS,
    BRACKET_COUNT,
    BRACKETS,
    BREAKEVEN_OFFSET,
    BREAKEVEN_TRIGGER,
    CASH,
    CASH_BUFFER,
    FEE,
    FILL_AT_CLOSE,
    IS_PERP,
    LOT,
    MAX_BARS,
    MIN_NOTIONAL,
    REASON_LIQUIDATION,
    REASON_OPEN,
    REASON_PROTECTIVE,
    REASON_SIGNAL,
    RULES_SIZE,
    SIZE_A,
    SIZE_B,
    SIZE_FIXED_FRACTION,
    SIZE_FIXED_RISK,
    SIZE_STAKE,
    SIZING,
    SLIPPAGE,
    STOP_ATR,
    STOP_PCT,
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
    TAKE_PROFIT_PCT,
    TAKE_PROFIT_R,
    TICK,
    TRADE_COLUMNS,
    TRAIL_ACTIVATION,
    TRAIL_ATR,
    TRAIL_PCT,
    VOL_SLIPPAGE,
)

_PROTECTIVE = (STOP_PCT, STOP_ATR, TAKE_PROFIT_R, TAKE_PROFIT_PCT, TRAIL_PCT, TRAIL_ATR,
               BREAKEVEN_TRIGGER)  # fmt: skip


@njit(cache=True)
def no_risk() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The risk argument of a run without risk rules: the stake sizes, no protective exit."""
    vector = np.full(RULES_SIZE, np.nan)
    vector[SIZING] = SIZE_STAKE
    vector[MAX_BARS] = -1.0
    empty = np.empty(0, dtype=np.float64)
    return vector, empty, empty, empty


@njit(cache=True)
def no_funding() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The funding argument of a run without funding events (spot, or a perpetual without a
    funding series: its ``first`` is empty, every bar has no event)."""
    empty = np.empty(0, dtype=np.float64)
    return empty, empty, empty, np.empty(0, dtype=np.int64)


@njit(cache=True)
def simulate(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    ts: np.ndarray,
    signals: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    start: int,
    settings: np.ndarray,
    risk: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    funding: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, int, float, np.ndarray]:
    """Run one signal set; return ``(equity, trades, trade_count, dust, open)``.

    Parameters
    ----------
    open_, high, low, close : ndarray
        Bar prices, shape ``(n,)``.
    ts : ndarray
        Bar open times (int64 ms), shape ``(n,)``; read only for funding (may be empty without).
    signals : tuple of ndarray
        ``(entry_long, exit_long, entry_short, exit_short)`` flags at each bar's close, shape
        ``(n,)``; the short pair empty for long-only signals.
    start
        First bar whose signals count (earlier bars are warm-up).
    settings
        The settings vector (:mod:`tradewind.sim.layout`).
    risk : tuple of ndarray
        ``(rules, stop_atr, trail_atr, sizing_atr)``: the rules vector and the ATR of the exit
        rules' period (for the ATR stop and trail; empty when unused) and the 14-bar ATR the
        volatility sizing reads, NaN in warm-up (:func:`no_risk`: none).
    funding : tuple of ndarray
        ``(ts, rate, mark, first)``: funding events inside the bars' span in time order (the
        mark NaN where the series gives none: the bar's open is the mark then), and ``first``,
        shape ``(n + 1,)`` (or empty: no events): bar ``j``'s events are ``first[j]:first[j + 1]``
        (:func:`no_funding`).

    Returns
    -------
    tuple
        ``equity[i]`` (account value at bar ``i``'s close), the trade table
        (:data:`~tradewind.sim.layout.TRADE_COLUMNS` columns; rows past ``trade_count`` unused),
        ``trade_count``, the spot dust held at the end (base left by exits, less than a lot) and
        the position still open at the end (:func:`open_row`).
    """
    entry_long, exit_long, entry_short, exit_short = signals
    rules_, stop_atr, trail_atr, sizing_atr = risk
    funding_ts, funding_rate, funding_mark, funding_first = funding
    n = open_.shape[0]
    two_sided = entry_short.shape[0] > 0
    at_close = settings[FILL_AT_CLOSE] != 0.0
    perp = settings[IS_PERP] != 0.0
    tiers = int(settings[BRACKET_COUNT])
    brackets = settings[BRACKETS : BRACKETS + 3 * tiers].reshape((tiers, 3))
    fee = settings[FEE]
    tick = settings[TICK]
    bar_ms = settings[BAR_MS]
    vol_slippage = settings[VOL_SLIPPAGE]
    sized = int(rules_[SIZING]) != SIZE_STAKE
    max_bars = int(rules_[MAX_BARS])
    protect = max_bars > 0
    for k in _PROTECTIVE:
        protect = protect or not math.isnan(rules_[k])
    equity = np.empty(n, dtype=np.float64)
    trades = np.empty((16, TRADE_COLUMNS), dtype=np.float64)
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
    funding_paid = 0.0
    ev_bar = -1  # the position's first protective event: bar, price, kind
    ev_price = math.nan
    ev_kind = 0
    pend_exit = False
    pend_reason = REASON_SIGNAL
    pend_entry = 0  # +1 long, -1 short
    i = 0
    while i < n:
        if (at_close or (not pend_exit and pend_entry == 0)) and (qty == 0.0 or not perp):
            # Most bars are idle: nothing fills at the open, nothing can happen within the bar
            # (no position, or a spot one before its protective event) and no signal at the
            # close. Their equity is marked in a tight loop up to the next bar with an event.
            event = ev_bar if protect and qty != 0.0 and ev_bar >= i else n
            held = qty + dust
            while (
                i < n
                and i != event
                and not (
                    entry_long[i]
                    or exit_long[i]
                    or (two_sided and (entry_short[i] or exit_short[i]))
                )
            ):
                equity[i] = cash + held * close[i]
                i += 1
            if i == n:
                break
        for step in range(3):
            # step 0: fills at this bar's open; 1: within the bar; 2: at its close.
            raw = 0.0
            exiting = False
            entering = 0
            reason = REASON_SIGNAL
            if step == 0:
                if at_close or (not pend_exit and pend_entry == 0):
                    continue
                raw = open_[i]
                exiting, reason, entering = pend_exit, pend_reason, pend_entry
            elif step == 1:
                if qty == 0.0:
                    continue
                # A protective exit of a position held from before this bar is the runner's
                # first event of the bar: it comes before the venue's funding and liquidation
                # (its level is nearer). A position opened at this open meets the venue first
                # (the venue books the bar's funding and searches for a liquidation as it
                # fills), then its protective exit.
                fires = protect and ev_bar == i and ev_kind != stops.TIME
                if perp and (not fires or (entry_bar == i and not entry_at_close)):
                    if funding_first.shape[0] > 0:
                        for e in range(funding_first[i], funding_first[i + 1]):
                            if funding_ts[e] > entry_time:
                                mark = funding_mark[e]
                                if math.isnan(mark):
                                    mark = open_[i]
                                amount = rules.funding_payment(qty, mark, funding_rate[e])
                                cash += amount
                                funding_paid += amount
                    if liquidated(qty, entry_price, margin, brackets, low[i], high[i]):
                        trades = room(trades, count)
                        count = liquidate(
                            i, qty, entry_price, entry_fee, entry_bar, entry_at_close, margin,
                            funding_paid, open_[i], brackets, tick, trades, count,
                        )  # fmt: skip
                        cash -= margin
                        qty, margin, funding_paid, entry_bar = 0.0, 0.0, 0.0, -1
                        continue
                if not fires:
                    continue
                raw = ev_price
                exiting, reason = True, REASON_PROTECTIVE + ev_kind
            else:
                if i < start or not (at_close or i < n - 1):
                    continue
                enter_long = entry_long[i] and not exit_long[i]
                enter_short = two_sided and entry_short[i] and not exit_short[i]
                pend_exit, pend_reason, pend_entry = False, REASON_SIGNAL, 0
                if qty > 0.0 and exit_long[i]:
                    pend_exit = True
                    pend_entry = -1 if enter_short else 0
                elif qty < 0.0 and two_sided and exit_short[i]:
                    pend_exit = True
                    pend_entry = 1 if enter_long else 0
                elif qty != 0.0 and protect and ev_bar == i and ev_kind == stops.TIME:
                    pend_exit, pend_reason = True, REASON_PROTECTIVE + stops.TIME
                elif qty == 0.0:
                    pend_entry = 1 if enter_long else (-1 if enter_short else 0)
                if not at_close or (not pend_exit and pend_entry == 0):
                    continue
                raw = close[i]
                exiting, reason, entering = pend_exit, pend_reason, pend_entry
            pend_exit, pend_entry = False, 0
            bps = settings[SLIPPAGE]
            if step != 2 and vol_slippage > 0.0:
                # The venue's close fills apply the fixed part only.
                bps += rules.volatility_slippage_bps(high[i], low[i], close[i], vol_slippage)
            # -- an exit: the whole position (a spot long: its whole lots) ---------------------------
            if exiting and qty != 0.0:
                price = fill_price(raw, qty < 0.0, bps, tick)
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
                if count == trades.shape[0]:
                    trades = room(trades, count)
                row = trades[count]
                row[T_ENTRY_BAR] = entry_bar
                row[T_EXIT_BAR] = i
                row[T_ENTRY_PRICE] = entry_price
                row[T_EXIT_PRICE] = price
                row[T_QTY] = size
                row[T_FEES] = entry_fee + paid
                row[T_PNL] = gross - entry_fee - paid + funding_paid
                row[T_SIDE] = 1.0 if qty > 0.0 else -1.0
                row[T_REASON] = reason
                row[T_FUNDING] = funding_paid
                row[T_ENTRY_AT_CLOSE] = 1.0 if entry_at_close else 0.0
                row[T_EXIT_AT_CLOSE] = 1.0 if step == 2 else 0.0
                count += 1
                qty, margin, funding_paid, entry_bar = 0.0, 0.0, 0.0, -1
            # -- an entry (a new position, or a reversal's second leg) -----------------------------
            if entering == 0 or qty != 0.0:
                continue
            is_buy = entering > 0
            price = fill_price(raw, is_buy, bps, tick)
            # The entry is decided when it is sent: at the signal close, or (a reversal) when the
            # exit has filled, from the account then and the last close; equity includes dust.
            decided = i - 1 if step == 0 else i
            mark = close[decided]
            if sized:
                quantity = risk_quantity(
                    rules_, cash, cash + dust * mark, mark, is_buy, not perp, stop_atr,
                    sizing_atr, decided, fee, settings[LOT], tick, settings[MIN_NOTIONAL],
                )  # fmt: skip
            else:
                budget = stake_budget(cash, settings, cash + dust * mark)
                if budget <= 0.0:
                    continue
                quantity = stake_quantity(budget, price, settings)
            received, debit, paid, committed = entry_fill(quantity, price, cash, settings)
            if received <= 0.0:
                continue
            qty = received + dust if is_buy else -received
            dust = 0.0
            cash -= debit
            entry_price, entry_fee, entry_bar, entry_at_close = price, paid, i, step == 2
            funding_paid, margin = 0.0, committed
            if perp:
                entry_time = ts[i] + bar_ms if step == 2 else float(ts[i])
            if protect:
                ev_bar, ev_price, ev_kind = first_exit(
                    open_, high, low, close, trail_atr, stop_atr, i if step == 0 else i + 1,
                    is_buy, entry_price, rules_, max_bars, tick,
                )  # fmt: skip
            if not perp and is_dust(qty, settings):
                dust, qty, entry_bar = qty, 0.0, -1  # less than a lot: dust, not a position
            if step == 2 and perp and liquidated(qty, entry_price, margin, brackets, low[i],
                                                 high[i]):  # fmt: skip
                # The venue searches for a liquidation from the fill bar on, so a close entry
                # whose own bar reached the level is liquidated at once.
                trades = room(trades, count)
                count = liquidate(
                    i, qty, entry_price, entry_fee, entry_bar, entry_at_close, margin,
                    funding_paid, open_[i], brackets, tick, trades, count,
                )  # fmt: skip
                cash -= margin
                qty, margin, funding_paid, entry_bar = 0.0, 0.0, 0.0, -1
        if perp:
            equity[i] = cash + qty * (close[i] - entry_price)
        else:
            equity[i] = cash + (qty + dust) * close[i]
        i += 1
    held = open_row(qty, entry_price, entry_fee, entry_bar, entry_at_close, funding_paid, close)
    return equity, trades, count, dust, held


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
def model_notional(
    rules_: np.ndarray, equity: float, price: float, stop: float, atr14: float
) -> float:
    """The sizing model's notional (NaN: the model cannot size, the entry is denied)."""
    model = int(rules_[SIZING])
    if model == SIZE_FIXED_FRACTION:
        return equity * rules_[SIZE_A]
    if model == SIZE_FIXED_RISK:
        if math.isnan(stop):
            return math.nan
        distance = abs(price - stop)
        if distance == 0.0:
            return math.nan
        return equity * rules_[SIZE_A] * price / distance
    if math.isnan(atr14) or atr14 <= 0.0:
        return math.nan
    share = rules_[SIZE_A] / (atr14 / price)
    cap = rules_[SIZE_B]
    return equity * (cap if share > cap else share)


@njit(cache=True)
def risk_quantity(
    rules_: np.ndarray,
    cash: float,
    equity: float,
    price: float,
    is_long: bool,
    spot: bool,
    stop_atr: np.ndarray,
    sizing_atr: np.ndarray,
    i: int,
    fee: float,
    lot: float,
    tick: float,
    min_notional: float,
) -> float:
    """Quantity the risk engine approves for an entry decided at bar ``i``'s close (0: denied).

    A spot buy is capped at what the free cash buys, fee and buffer included; a perpetual's
    entry (long or short) is not (the venue then checks its margin).
    """
    atr_value = stop_atr[i] if stop_atr.shape[0] > 0 else math.nan
    stop = stops.initial_stop(is_long, price, rules_[STOP_PCT], atr_value, rules_[STOP_ATR], tick)
    notional = model_notional(rules_, equity, price, stop, sizing_atr[i])
    if math.isnan(notional) or notional <= 0.0:
        return 0.0
    if spot and is_long:
        # A market buy sized from the close must stay affordable at the next open.
        affordable = cash / (1.0 + fee) * (1.0 - rules_[CASH_BUFFER])
        if affordable <= 0.0:
            return 0.0
        notional = min(notional, affordable)
    size = math.floor(notional / price / lot + 1e-9) * lot
    if size > 0.0 and size * price > notional * (1.0 + 1e-12):
        size -= lot  # the epsilon stepped past the exact floor the engine takes in Decimal
    if size <= 0.0 or (min_notional > 0.0 and size * price < min_notional):
        return 0.0
    return size


@njit(cache=True)
def first_exit(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    trail_atr: np.ndarray,
    stop_atr: np.ndarray,
    start: int,
    is_long: bool,
    entry: float,
    rules_: np.ndarray,
    max_bars: int,
    tick: float,
) -> tuple[int, float, int]:
    """The protection book's guard for a position entered at ``entry``, exposed from bar
    ``start``, and its first protective event: ``(bar, price, kind)`` (bar -1: none in the data)."""
    atr_value = math.nan
    if stop_atr.shape[0] > 0 and start >= 1:
        atr_value = stop_atr[start - 1]
    stop = stops.initial_stop(is_long, entry, rules_[STOP_PCT], atr_value, rules_[STOP_ATR], tick)
    if not math.isnan(rules_[TAKE_PROFIT_R]):
        target = stops.r_multiple_target(is_long, entry, stop, rules_[TAKE_PROFIT_R], tick)
    else:
        target = stops.percent_target(is_long, entry, rules_[TAKE_PROFIT_PCT], tick)
    trailing = not math.isnan(rules_[TRAIL_PCT]) or not math.isnan(rules_[TRAIL_ATR])
    event = stops.scan_exits(
        open_, high, low, close, trail_atr, start, is_long, entry, stop, target,
        rules_[TRAIL_PCT], rules_[TRAIL_ATR], rules_[TRAIL_ACTIVATION],
        rules_[BREAKEVEN_TRIGGER], rules_[BREAKEVEN_OFFSET],
        start + max_bars - 1 if max_bars > 0 else -1,
        np.empty(0, dtype=np.float64), 0, math.nan, entry,
        trailing and math.isnan(rules_[TRAIL_ACTIVATION]), False, tick,
        rules_[ADVERSE_FIRST] != 0.0,
    )  # fmt: skip
    return event[0], event[1], event[2]


@njit(cache=True)
def liquidated(
    qty: float, entry: float, margin: float, brackets: np.ndarray, low: float, high: float
) -> bool:
    """Whether a bar ranging ``low`` to ``high`` reaches the position's liquidation price."""
    if qty == 0.0:
        return False
    level = rules.tiered_liquidation_price(entry, abs(qty), qty > 0.0, margin, brackets)
    return low <= level if qty > 0.0 else high >= level


@njit(cache=True)
def liquidate(
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
    row[T_EXIT_PRICE] = on_tick(opened if gapped else level, not long, tick)
    row[T_QTY] = abs(qty)
    row[T_FEES] = entry_fee
    row[T_PNL] = -margin - entry_fee + funding
    row[T_SIDE] = 1.0 if long else -1.0
    row[T_REASON] = REASON_LIQUIDATION
    row[T_FUNDING] = funding
    row[T_ENTRY_AT_CLOSE] = 1.0 if entry_at_close else 0.0
    row[T_EXIT_AT_CLOSE] = 0.0  # the venue stamps a liquidation at the bar's open
    return count + 1
