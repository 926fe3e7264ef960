"""The screening kernel with the risk issue's protective exits and sizing rules (spot, long only).

The event engine runs these rules through :mod:`tradewind.risk` (sizing in the risk engine,
protective exits in the protection book, which finds each position's next exit with one
:func:`tradewind.sim.stops.scan_exits` call). This loop calls the same compiled functions
(:func:`~tradewind.sim.stops.initial_stop`, :func:`~tradewind.sim.stops.scan_exits`) with the
same arguments, so the levels and the bar of each exit agree by construction; what is re-stated
here is only the order of events, as :mod:`tradewind.engine.runner` orders them:

1. a signal exit made at bar ``j - 1``'s close fills at ``j``'s open, before any protective exit
   of bar ``j`` (the runner processes the close first, and the node sends no protective order
   while an exit is working);
2. an intrabar protective exit (stop, trailing, break-even, take-profit) fills at its level, or at
   the open when the bar gaps through it, with the venue's slippage, as a taker;
3. signals at ``j``'s close; a signal exit there comes before a time stop decided at the same
   close; a time stop is a market order (next open, or this close with ``fill_at_close``).

Sizing (the risk engine's :meth:`~tradewind.risk.engine.RiskEngine.decide` with limits and
breakers off): at the signal close, with equity ``E`` (the account is flat: its cash) and the
close ``P`` as the reference price, the model gives a notional (fixed fraction ``E x f``, fixed
risk ``E x r x P / |P - S|`` to the planned stop ``S``, volatility target
``E x min(cap, target x P / ATR14)``); a spot buy is capped at ``free / (1 + fee) x
(1 - buffer)``; the quantity is floored to the lot at ``P``. At the fill the venue lets the order
expire when the cash does not cover it. The equity a model sizes from includes any dust.

Fees are charged as the venue charges them (in the quote, or in the base: a buy's fee out of the
base received, a sell's out of the base held), and every exit sells whole lots, the rest staying
behind as dust that joins the next entry (:mod:`tradewind.sim.lots`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tradewind.sim import rules, stops
from tradewind.sim.kernel import (
    BUY_FEE_IN_BASE,
    CASH,
    FEE,
    FILL_AT_CLOSE,
    LOT,
    MIN_NOTIONAL,
    TICK,
    _fill_price,
    _sell_base_fee,
    spot_sell,
)
from tradewind.sim.lots import sellable_lots
from tradewind.sim.margin_kernel import (
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
    TRADE_COLUMNS,
    _slippage_bps,
    open_row,
)

# Sizing models (codes in RULES[SIZING]).
SIZE_FIXED_FRACTION, SIZE_FIXED_RISK, SIZE_VOLATILITY = 1, 2, 3
SIZING_CODES = {"fixed_fraction": SIZE_FIXED_FRACTION, "fixed_risk": SIZE_FIXED_RISK,
                "volatility": SIZE_VOLATILITY}  # fmt: skip

# Layout of the rules vector (NaN: the rule is off).
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

REASON_PROTECTIVE = 2.0
"""A protective exit's reason code in the trade table is this plus its :mod:`stops` kind code."""


@njit(cache=True)
def _notional(rules_: np.ndarray, equity: float, price: float, stop: float, atr14: float) -> float:
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
def simulate_protected(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    entry_long: np.ndarray,
    exit_long: np.ndarray,
    start: int,
    settings: np.ndarray,
    rules_: np.ndarray,
    stop_atr: np.ndarray,
    trail_atr: np.ndarray,
    sizing_atr: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int, float, np.ndarray]:
    """Run one long-only spot signal set with protective exits and a sizing model.

    Parameters
    ----------
    open_, high, low, close : ndarray
        Bar prices, shape ``(n,)``.
    entry_long, exit_long : ndarray
        Signal flags at each bar's close, shape ``(n,)``.
    start
        First bar whose signals count.
    settings
        The settings vector of :mod:`tradewind.sim.kernel`.
    rules_
        The rules vector (layout above).
    stop_atr, trail_atr, sizing_atr : ndarray
        ATR of the exit rules' period (for the ATR stop and the ATR trail; empty when unused)
        and the 14-bar ATR the volatility sizing reads, shape ``(n,)``, NaN in warm-up.

    Returns
    -------
    tuple
        ``(equity, trades, trade_count, dust, open)`` in the layout of
        :mod:`tradewind.sim.margin_kernel` (``open``: the position still open at the end, as
        :func:`~tradewind.sim.margin_kernel.open_row` writes it); a protective exit's reason is
        ``REASON_PROTECTIVE + kind``.
    """
    n = open_.shape[0]
    at_close = settings[FILL_AT_CLOSE] != 0.0
    fee = settings[FEE]
    tick = settings[TICK]
    lot = settings[LOT]
    min_notional = settings[MIN_NOTIONAL]
    ladder = np.empty(0, dtype=np.float64)
    max_bars = int(rules_[MAX_BARS])
    adverse_first = rules_[ADVERSE_FIRST] != 0.0
    equity = np.empty(n, dtype=np.float64)
    trades = np.empty((n + 1, TRADE_COLUMNS), dtype=np.float64)
    count = 0
    cash = settings[CASH]
    qty = 0.0
    dust = 0.0  # base left by an exit, less than a lot; joins the next entry (sim.lots)
    entry_price = 0.0
    entry_fee = 0.0
    entry_bar = -1
    entry_at_close = False
    ev_bar = -1
    ev_price = math.nan
    ev_kind = 0
    pend_exit = False  # a market exit at the next open (signal or time stop)
    pend_reason = 0.0
    pend_qty = 0.0  # a market entry of this quantity at the next open
    for i in range(n):
        # -- this bar's open: a pending market exit, then a pending entry --------------------------
        if pend_exit and qty > 0.0:
            price = _fill_price(
                open_[i], False, _slippage_bps(i, False, high, low, close, settings), tick
            )
            cash, count, dust = _close(trades, count, i, price, qty, entry_price, entry_fee,
                                       entry_bar, entry_at_close, False, pend_reason, settings,
                                       cash)  # fmt: skip
            qty = 0.0
        pend_exit = False
        if pend_qty > 0.0:
            price = _fill_price(
                open_[i], True, _slippage_bps(i, False, high, low, close, settings), tick
            )
            bought, cost, paid = _buy(pend_qty, price, cash, settings)
            if bought > 0.0:
                qty, dust, entry_price, entry_fee = bought + dust, 0.0, price, paid
                entry_bar, entry_at_close = i, False
                cash -= cost
                ev_bar, ev_price, ev_kind = _first_exit(
                    open_, high, low, close, trail_atr, stop_atr, i, entry_price, rules_, ladder,
                    max_bars, tick, adverse_first,
                )  # fmt: skip
                if sellable_lots(qty, lot, _sell_base_fee(settings)) == 0.0:
                    qty, dust, entry_bar = 0.0, qty, -1  # less than a lot: dust
            pend_qty = 0.0
        # -- an intrabar protective exit -------------------------------------------------------------
        if qty > 0.0 and ev_bar == i and ev_kind != stops.TIME:
            price = _fill_price(
                ev_price, False, _slippage_bps(i, False, high, low, close, settings), tick
            )
            cash, count, dust = _close(trades, count, i, price, qty, entry_price, entry_fee,
                                       entry_bar, entry_at_close, False,
                                       REASON_PROTECTIVE + ev_kind, settings, cash)  # fmt: skip
            qty = 0.0
        # -- the close: signals, then a time stop ----------------------------------------------------
        if i >= start and (at_close or i < n - 1):
            exit_now = qty > 0.0 and exit_long[i]
            time_now = qty > 0.0 and not exit_now and ev_bar == i and ev_kind == stops.TIME
            if exit_now or time_now:
                reason = 0.0 if exit_now else REASON_PROTECTIVE + stops.TIME
                if at_close:
                    price = _fill_price(
                        close[i], False, _slippage_bps(i, True, high, low, close, settings), tick
                    )
                    cash, count, dust = _close(trades, count, i, price, qty, entry_price,
                                               entry_fee, entry_bar, entry_at_close, True, reason,
                                               settings, cash)  # fmt: skip
                    qty = 0.0
                else:
                    pend_exit, pend_reason = True, reason
            elif qty == 0.0 and entry_long[i] and not exit_long[i]:
                # The model sizes from the equity (cash and any dust at this close).
                size = _size(rules_, cash, cash + dust * close[i], close[i], stop_atr,
                             sizing_atr, i, fee, lot, tick, min_notional)  # fmt: skip
                if size > 0.0 and at_close:
                    price = _fill_price(
                        close[i], True, _slippage_bps(i, True, high, low, close, settings), tick
                    )
                    bought, cost, paid = _buy(size, price, cash, settings)
                    if bought > 0.0:
                        qty, dust, entry_price, entry_fee = bought + dust, 0.0, price, paid
                        entry_bar, entry_at_close = i, True
                        cash -= cost
                        ev_bar, ev_price, ev_kind = _first_exit(
                            open_, high, low, close, trail_atr, stop_atr, i + 1, entry_price,
                            rules_, ladder, max_bars, tick, adverse_first,
                        )  # fmt: skip
                        if sellable_lots(qty, lot, _sell_base_fee(settings)) == 0.0:
                            qty, dust, entry_bar = 0.0, qty, -1  # less than a lot: dust
                elif size > 0.0:
                    pend_qty = size
        equity[i] = cash + (qty + dust) * close[i]
    held = open_row(qty, entry_price, entry_fee, entry_bar, entry_at_close, 0.0, close)
    return equity, trades, count, dust, held


@njit(cache=True)
def _size(
    rules_: np.ndarray,
    cash: float,
    equity: float,
    price: float,
    stop_atr: np.ndarray,
    sizing_atr: np.ndarray,
    i: int,
    fee: float,
    lot: float,
    tick: float,
    min_notional: float,
) -> float:
    """Quantity the risk engine approves for an entry decided at bar ``i``'s close (0: denied)."""
    atr_value = stop_atr[i] if stop_atr.shape[0] > 0 else math.nan
    stop = stops.initial_stop(True, price, rules_[STOP_PCT], atr_value, rules_[STOP_ATR], tick)
    notional = _notional(rules_, equity, price, stop, sizing_atr[i])
    if math.isnan(notional) or notional <= 0.0:
        return 0.0
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
def _first_exit(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    trail_atr: np.ndarray,
    stop_atr: np.ndarray,
    start: int,
    entry: float,
    rules_: np.ndarray,
    ladder: np.ndarray,
    max_bars: int,
    tick: float,
    adverse_first: bool,
) -> tuple[int, float, int]:
    """The protection book's guard for a long entered at ``entry``, exposed from bar ``start``,
    and its first protective event: ``(bar, price, kind)`` (bar -1: none in the data)."""
    atr_value = math.nan
    if stop_atr.shape[0] > 0 and start >= 1:
        atr_value = stop_atr[start - 1]
    stop = stops.initial_stop(True, entry, rules_[STOP_PCT], atr_value, rules_[STOP_ATR], tick)
    if not math.isnan(rules_[TAKE_PROFIT_R]):
        target = stops.r_multiple_target(True, entry, stop, rules_[TAKE_PROFIT_R], tick)
    else:
        target = stops.percent_target(True, entry, rules_[TAKE_PROFIT_PCT], tick)
    trailing = not math.isnan(rules_[TRAIL_PCT]) or not math.isnan(rules_[TRAIL_ATR])
    event = stops.scan_exits(
        open_, high, low, close, trail_atr, start, True, entry, stop, target,
        rules_[TRAIL_PCT], rules_[TRAIL_ATR], rules_[TRAIL_ACTIVATION],
        rules_[BREAKEVEN_TRIGGER], rules_[BREAKEVEN_OFFSET],
        start + max_bars - 1 if max_bars > 0 else -1,
        ladder, 0, math.nan, entry, trailing and math.isnan(rules_[TRAIL_ACTIVATION]), False,
        tick, adverse_first,
    )  # fmt: skip
    return event[0], event[1], event[2]


@njit(cache=True)
def _close(
    trades: np.ndarray,
    count: int,
    i: int,
    price: float,
    qty: float,
    entry_price: float,
    entry_fee: float,
    entry_bar: int,
    entry_at_close: bool,
    exit_at_close: bool,
    reason: float,
    settings: np.ndarray,
    cash: float,
) -> tuple[float, int, float]:
    """Sell the whole lots of the long at ``price`` on bar ``i``; record the trade. Returns
    ``(cash, count, dust)``: the rest, less than a lot, stays behind as dust."""
    out, proceeds, paid, dust = spot_sell(qty, price, settings)
    row = trades[count]
    row[T_ENTRY_BAR] = entry_bar
    row[T_EXIT_BAR] = i
    row[T_ENTRY_PRICE] = entry_price
    row[T_EXIT_PRICE] = price
    row[T_QTY] = out
    row[T_FEES] = entry_fee + paid
    row[T_PNL] = (price - entry_price) * out - entry_fee - paid
    row[T_SIDE] = 1.0
    row[T_REASON] = reason
    row[T_FUNDING] = 0.0
    row[T_ENTRY_AT_CLOSE] = 1.0 if entry_at_close else 0.0
    row[T_EXIT_AT_CLOSE] = 1.0 if exit_at_close else 0.0
    return cash + proceeds, count + 1, dust


@njit(cache=True)
def _buy(
    quantity: float, price: float, cash: float, settings: np.ndarray
) -> tuple[float, float, float]:
    """A market buy of ``quantity`` at ``price``: ``(base received, quote paid, fee in quote)``;
    nothing received when the cash does not cover it (the venue lets the order expire). A fee in
    the base comes out of the base received."""
    fee = settings[FEE]
    notional = quantity * price
    paid = rules.fee_amount(notional, fee)
    if settings[BUY_FEE_IN_BASE] != 0.0:
        if notional > cash * (1.0 + 1e-12):
            return 0.0, 0.0, 0.0
        in_fee = quantity * fee
        return quantity - in_fee, notional, in_fee * price
    # Float noise of one part in 1e12 is not a lack of funds (the event engine checks in Decimal).
    if notional + paid > cash * (1.0 + 1e-12):
        return 0.0, 0.0, 0.0
    return quantity, notional + paid, paid
