"""The price grid of recorded data: the one tick inference every path uses.

Candle files carry prices, not the exchange's tick. Both ``tradewind.backtest`` on a DataFrame and
``tradewind data import`` infer the tick here, so a stop or a slipped fill lands on the same grid in
every engine and every path.

The inference is exact on decimal grids: every price is read as the decimal its float stands for
(``0.07413882`` is 7413882 x 1e-8, not the binary fraction behind it; a computed
``4.070000000000001e-05`` in a file is ``0.0000407``), all prices are written as integers over the
finest decimal place any of them needs, and the tick is their greatest common divisor. So every
price in the data is a whole number of ticks, and no coarser tick has that property. Differences
between floats are never read (``0.09947 - 0.0994`` is ``6.999999999999923e-05``, whose decimal
exponent says nothing about the grid).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

DEFAULT_PRICE_STEP = Decimal("0.00000001")
"""The tick when the data cannot tell (fewer than one positive price, or no decimal grid)."""

MAX_DECIMALS = 12
"""Finest decimal place looked for; prices needing more are not on a decimal grid we can read."""

NOISE = 1e-11
"""How far (relative) a price may sit from a decimal and still be that decimal: a few float
ulps of a computed price, with room to spare."""

_LARGEST_UNITS = 1e9
"""Largest price in grid units looked at: beyond it the noise allowance nears a tenth of a unit."""


def infer_price_step(*price_arrays: Any) -> Decimal | None:
    """Return the largest decimal tick that every finite positive price is a multiple of.

    Parameters
    ----------
    *price_arrays
        Price arrays (open, high, low, close, trade prices...), any shape.

    Returns
    -------
    Decimal or None
        The tick, e.g. ``Decimal("1E-8")`` for prices with eight decimals whose scaled integers
        share no factor; None when there is no positive finite price, or the prices need more
        than :data:`MAX_DECIMALS` decimals (then they are not on a decimal grid).
    """
    values = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in price_arrays])
    values = np.unique(values[np.isfinite(values) & (values > 0)])
    if values.size == 0:
        return None
    places = _decimal_places(values)
    if places is None:
        return None
    scaled = np.round(values * 10.0**places)
    divisor = int(np.gcd.reduce(scaled.astype(np.int64)))
    return (Decimal(divisor).scaleb(-places)).normalize()


def price_step_or_default(*price_arrays: Any) -> Decimal:
    """:func:`infer_price_step`, or :data:`DEFAULT_PRICE_STEP` when the data cannot tell."""
    found = infer_price_step(*price_arrays)
    return DEFAULT_PRICE_STEP if found is None else found


def _decimal_places(values: np.ndarray) -> int | None:
    """The fewest decimal places that write every value as a decimal, within float noise.

    A value is on the grid of ``d`` places when ``v x 10**d`` is within :data:`NOISE` (relative)
    of a whole number: recorded files hold prices such as ``4.070000000000001e-05`` (the decimal
    ``0.0000407`` after a float computation), which are that decimal. A price truly between two
    places is at least a tenth of a unit off, far outside the noise while ``v x 10**d`` stays
    below :data:`_LARGEST_UNITS`.
    """
    pending = values
    for places in range(MAX_DECIMALS + 1):
        units = pending * 10.0**places
        if float(units.max()) > _LARGEST_UNITS:
            return None
        on_grid = np.abs(units - np.round(units)) <= NOISE * units
        pending = pending[~on_grid]
        if pending.size == 0:
            return places
    return None


def snapped_to_grid(prices: np.ndarray, tick: Decimal) -> np.ndarray | None:
    """``prices`` as the floats nearest their decimal grid values, or None when off the grid.

    A recorded file's ``5.5140000000000004e-05`` becomes ``5.514e-05``, the float the exchange's
    decimal ``0.00005514`` converts to, so a stop at that tick is touched by a low at that tick in
    every engine (float noise in the data would otherwise decide ties). Returns None when some
    price is farther than :data:`NOISE` from a multiple of ``tick``: the data is not on it.
    """
    exponent = tick.as_tuple().exponent
    places = max(-exponent, 0) if isinstance(exponent, int) else 0
    scale = 10.0**places
    step_units = float(tick.scaleb(places))  # the tick in units of 10**-places, a whole number
    units = np.asarray(prices, dtype=np.float64) * scale
    ticks = np.round(units / step_units)
    nearest = ticks * step_units
    finite = np.isfinite(units)
    if not bool(np.all(np.abs(units[finite] - nearest[finite]) <= NOISE * np.abs(units[finite]))):
        return None
    # Whole numbers over a power of ten: the division is correctly rounded to the decimal's float.
    return np.where(finite, nearest / scale, prices)
