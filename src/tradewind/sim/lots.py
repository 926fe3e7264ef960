"""Lots and dust: how much of a spot holding an exit sells, and what stays behind.

An exit of a spot position sells ``floor(held / step) x step``: an exchange accepts only whole lots
(Binance's LOT_SIZE filter). When the venue charges the sell's fee in the base currency, the fee
must come out of the holding too, so the exit sells the whole lots ``q`` with ``q x (1 + fee) <=
held``. The remainder, less than a lot (plus its fee), is **dust**: it stays in the base balance,
is valued at market in the equity, joins the next entry in that symbol (at that entry's price),
and is reported as dust (quantity and quote value) in the result.

Why dust exists at all: when a buy's fee is charged in the base received (Binance spot charges the
currency received), the position is ``bought x (1 - fee)``, which is not a whole number of lots.

One rule, two forms: :func:`sellable_quantity` in ``Decimal`` for the event engine (the risk gates
size exits with it, the portfolio tells dust from a position with it) and :func:`sellable_lots` in
float64 for the compiled screening kernels.
"""

from __future__ import annotations

import math
from decimal import Decimal

from numba import njit

from tradewind.core.instrument import Instrument
from tradewind.core.money import ONE, ZERO, floor_to_step
from tradewind.core.records import Side


def sellable_quantity(held: Decimal, step: Decimal, base_fee_rate: Decimal = ZERO) -> Decimal:
    """The whole lots an exit can sell from ``held`` base (0 when ``held`` is dust).

    Parameters
    ----------
    held
        Base held by the position (positive).
    step
        The lot step.
    base_fee_rate
        The sell's fee rate when the venue charges it in the base currency, else 0.
    """
    if held <= 0:
        return ZERO
    per_unit = ONE + base_fee_rate
    quantity = floor_to_step(held / per_unit, step)
    # The division is rounded to 28 digits: step back where that rounded past the exact floor.
    while quantity > 0 and quantity * per_unit > held:
        quantity -= step
    return quantity


def is_dust(held: Decimal, step: Decimal, base_fee_rate: Decimal = ZERO) -> bool:
    """True when ``held`` (positive) is too little for an exit to sell one lot."""
    return held > 0 and sellable_quantity(held, step, base_fee_rate) == 0


@njit(cache=True)
def sellable_lots(held: float, lot: float, base_fee_rate: float) -> float:
    """:func:`sellable_quantity` in float64, as a count of whole lots.

    The held base is a sum of decimals on a grid finer than the lot (a fee of 0.1% on a lot of 1e-8
    leaves multiples of 1e-11, a thousandth of a lot), so a float within a few ulps of a whole
    number of lots is that number (the arithmetic's rounding, not a real shortfall).
    """
    if held <= 0.0:
        return 0.0
    units = held / (1.0 + base_fee_rate) / lot
    lots = math.floor(units + 1e-9 + 2e-15 * units)
    if base_fee_rate > 0.0 and lots * lot * (1.0 + base_fee_rate) > held * (1.0 + 1e-12):
        lots -= 1.0
    return float(max(lots, 0.0))


def exit_quantity(instrument: Instrument, position: Decimal) -> Decimal:
    """What an exit of ``position`` (signed) sells or buys back on ``instrument``.

    A spot long sells its whole lots, the sell's fee included when it is charged in the base
    (exits are market, stop or take-profit orders: the taker fee); a perpetual's position is on
    the lot grid already and is closed whole.
    """
    held = abs(position)
    if not instrument.is_spot or position < 0:
        return held
    return sellable_quantity(held, instrument.amount_step, _base_sell_fee(instrument))


def position_is_dust(instrument: Instrument, position: Decimal) -> bool:
    """True when a spot long ``position`` is too little for an exit to sell one lot."""
    return (
        instrument.is_spot
        and position > 0
        and is_dust(position, instrument.amount_step, _base_sell_fee(instrument))
    )


def _base_sell_fee(instrument: Instrument) -> Decimal:
    return instrument.taker_fee if instrument.fee_currency(Side.SELL) == instrument.base else ZERO
