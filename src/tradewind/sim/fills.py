"""The compiled kernel's fills and their accounting, in float64 (settings in :mod:`.layout`).

What a market fill costs and gives: the fill price (slippage against the trader, rounded to the
tick as the venue rounds it), the quantity a budget buys (fee on top, floored to the lot), the
spot exit of whole lots (:mod:`tradewind.sim.lots`), the stake rule's budget. The rules themselves
(slippage, fee, cap, funding, liquidation level) are :mod:`tradewind.sim.rules`'; this module
applies them to the kernel's settings vector. The event engine's venue applies the same rules in
``Decimal``; an acceptance suite requires both to make the same trades.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from tradewind.sim import lots, rules
from tradewind.sim.layout import (
    BUY_FEE_IN_BASE,
    FEE,
    IS_PERP,
    LEVERAGE,
    LOT,
    MIN_NOTIONAL,
    SELL_FEE_IN_BASE,
    SLIPPAGE,
    STAKE_ALL,
    STAKE_KIND,
    STAKE_PERCENT,
    STAKE_VALUE,
    TRADE_COLUMNS,
    VOL_SLIPPAGE,
)

TOLERANCE = 1.0 + 1e-12
"""Float noise of one part in 1e12 is not a lack of funds (the event engine checks in Decimal)."""


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
def fill_price(raw: float, is_buy: bool, slippage_bps: float, tick: float) -> float:
    """The fill price of a market order at ``raw``: slipped against the trader, on the tick."""
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
def on_tick(price: float, up: bool, tick: float) -> float:
    """The venue's tick rule for a computed price: within float noise of a tick it is that tick,
    otherwise rounded against the trader (``up`` for a buy)."""
    units = price / tick
    nearest = round(units)
    if abs(units - nearest) <= 1e-9 * max(1.0, abs(units)):
        return on_grid(nearest, tick) if units != nearest else price
    return on_grid(math.ceil(units) if up else math.floor(units), tick)


@njit(cache=True)
def slippage_bps(
    j: int, at_close: bool, high: np.ndarray, low: np.ndarray, close: np.ndarray,
    settings: np.ndarray,
) -> float:  # fmt: skip
    """Fixed plus volatility slippage of a market fill on bar ``j``. The venue's close fills
    apply the fixed part only (the bar's range is not a cost of trading at its close)."""
    bps = float(settings[SLIPPAGE])
    if not at_close and settings[VOL_SLIPPAGE] > 0.0:
        bps += rules.volatility_slippage_bps(high[j], low[j], close[j], settings[VOL_SLIPPAGE])
    return bps


@njit(cache=True)
def sell_base_fee(settings: np.ndarray) -> float:
    """The sell's fee rate when it is charged in the base (else 0), for :mod:`lots`."""
    return settings[FEE] if settings[SELL_FEE_IN_BASE] != 0.0 else 0.0


@njit(cache=True)
def is_dust(held: float, settings: np.ndarray) -> bool:
    """Whether a spot holding is less than one sellable lot (dust, not a position)."""
    return lots.sellable_lots(held, settings[LOT], sell_base_fee(settings)) == 0.0


@njit(cache=True)
def spot_sell(held: float, price: float, settings: np.ndarray) -> tuple[float, float, float, float]:
    """An exit of a spot long holding ``held`` base at ``price`` (on the tick).

    Returns ``(base out, quote in, fee in quote, dust)``: the whole lots sold (with the fee when it
    is charged in the base), the proceeds net of a quote fee, the fee's value in quote, and what
    stays behind (less than a lot, :mod:`tradewind.sim.lots`).
    """
    fee = settings[FEE]
    in_base = settings[SELL_FEE_IN_BASE] != 0.0
    size = lots.sellable_lots(held, settings[LOT], sell_base_fee(settings)) * settings[LOT]
    notional = size * price
    if in_base:
        base_fee = size * fee
        out = size + base_fee
        return out, notional, base_fee * price, held - out
    paid = rules.fee_amount(notional, fee)
    return size, notional - paid, paid, held - size


@njit(cache=True)
def stake_budget(cash: float, settings: np.ndarray, equity: float) -> float:
    """What the stake rule lets one entry spend (0: the gate would deny it). ``equity`` (cash
    plus dust at the signal close) is what a percent stake is a percent of."""
    kind = settings[STAKE_KIND]
    if kind == STAKE_ALL:
        budget = cash
    elif kind == STAKE_PERCENT:
        budget = min(equity * settings[STAKE_VALUE], cash)
    else:
        budget = settings[STAKE_VALUE] if settings[STAKE_VALUE] <= cash else 0.0
    min_notional = settings[MIN_NOTIONAL]
    if min_notional > 0.0 and budget < min_notional:
        return 0.0
    return budget


@njit(cache=True)
def stake_quantity(budget: float, price: float, settings: np.ndarray) -> float:
    """Quantity a ``budget`` buys at ``price``: margin plus fee on a perpetual, notional plus
    fee on spot (notional alone when the fee comes out of the base received); floored to the lot
    (0: the venue lets the order expire)."""
    fee = settings[FEE]
    lot = settings[LOT]
    if settings[IS_PERP] != 0.0:
        per_unit = price * (1.0 / settings[LEVERAGE] + fee)
    elif settings[BUY_FEE_IN_BASE] != 0.0:
        per_unit = price
    else:
        per_unit = price * (1.0 + fee)
    if price <= 0.0 or budget <= 0.0:
        return 0.0
    size = float(math.floor(budget / per_unit / lot + 1e-9) * lot)
    # The epsilon may round up past the exact floor the venue takes in Decimal: step back a lot.
    if size > 0.0 and size * per_unit > budget * TOLERANCE:
        size -= lot
    if size <= 0.0:
        return 0.0
    min_notional = settings[MIN_NOTIONAL]
    if min_notional > 0.0 and size * price < min_notional:
        return 0.0
    return size


@njit(cache=True)
def entry_fill(
    quantity: float, price: float, cash: float, settings: np.ndarray
) -> tuple[float, float, float, float]:
    """A market entry of ``quantity`` at ``price``: ``(received, debit, fee, margin)``.

    ``received`` is the position it opens (a spot fee in the base comes out of the base received;
    0: the cash does not cover it and the venue lets the order expire), ``debit`` what leaves the
    cash (a perpetual keeps its margin in the wallet and pays the fee), ``fee`` the fee's value in
    quote and ``margin`` the isolated margin committed (0 on spot).
    """
    fee = settings[FEE]
    notional = quantity * price
    paid = rules.fee_amount(notional, fee)
    if quantity <= 0.0:
        return 0.0, 0.0, 0.0, 0.0
    if settings[IS_PERP] != 0.0:
        margin = notional / settings[LEVERAGE]
        if margin + paid > cash * TOLERANCE:
            return 0.0, 0.0, 0.0, 0.0
        return quantity, paid, paid, margin
    if settings[BUY_FEE_IN_BASE] != 0.0:
        if notional > cash * TOLERANCE:
            return 0.0, 0.0, 0.0, 0.0
        in_fee = quantity * fee
        # The fee's value in quote at the fill price, as the portfolio books it.
        return quantity - in_fee, notional, in_fee * price, 0.0
    if notional + paid > cash * TOLERANCE:
        return 0.0, 0.0, 0.0, 0.0
    return quantity, notional + paid, paid, 0.0


@njit(cache=True)
def room(trades: np.ndarray, count: int) -> np.ndarray:
    """``trades`` with room for row ``count``: the same table, or a copy twice as long."""
    if count < trades.shape[0]:
        return trades
    grown = np.empty((2 * trades.shape[0] + 16, TRADE_COLUMNS), dtype=np.float64)
    grown[:count] = trades[:count]
    return grown
