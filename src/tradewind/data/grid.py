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

import numba
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
    # Compiled passes over every price (no sort, no unique): the places and the divisor are the
    # same over a set and over its repeats, and a 1M-row series' four columns took a sort of 4M
    # values before.
    places = _grid_places(values, MAX_DECIMALS, NOISE, _LARGEST_UNITS)
    if places < 0:
        return None
    divisor = _grid_divisor(values, 10.0**places)
    return (Decimal(int(divisor)).scaleb(-int(places))).normalize()


_NO_PRICE = -1
_OFF_GRID = -2


@numba.njit(cache=True, nogil=True)
def _grid_places(
    values: np.ndarray, max_decimals: int, noise: float, largest: float
) -> int:  # pragma: no cover - compiled
    """The fewest decimal places that write every finite positive value as a decimal, within
    ``noise`` (relative); :data:`_NO_PRICE` without such a value, :data:`_OFF_GRID` when some
    value needs more than ``max_decimals`` or is too large in grid units to judge."""
    places = _NO_PRICE
    scale_now = 1.0  # 10**places
    for k in range(values.size):
        value = values[k]
        if not (np.isfinite(value) and value > 0.0):
            continue
        if places >= 0:
            # Most prices need no more places than those seen: on the grid at ``places`` (and
            # small enough there, so at every coarser level too), a value changes nothing.
            units = value * scale_now
            if units <= largest and abs(units - np.rint(units)) <= noise * units:
                continue
        found = _OFF_GRID
        scale = 1.0
        for p in range(max_decimals + 1):
            units = value * scale
            if units > largest:
                return _OFF_GRID
            if abs(units - np.rint(units)) <= noise * units:
                found = p
                break
            scale *= 10.0
        if found == _OFF_GRID:
            return _OFF_GRID
        if found > places:
            places = found
            scale_now = 10.0**places
    return places


@numba.njit(cache=True, nogil=True)
def _grid_divisor(values: np.ndarray, scale: float) -> int:  # pragma: no cover - compiled
    """The greatest common divisor of the finite positive values written as whole grid units."""
    divisor = 0
    for k in range(values.size):
        value = values[k]
        if not (np.isfinite(value) and value > 0.0):
            continue
        units = np.int64(np.rint(value * scale))
        if divisor > 0 and units % divisor == 0:
            continue  # a multiple of the divisor so far leaves it as it is
        a, b = divisor, units
        while b:
            a, b = b, a % b
        divisor = a
        if divisor == 1:
            break  # nothing divides further
    return divisor


def price_step_or_default(*price_arrays: Any) -> Decimal:
    """:func:`infer_price_step`, or :data:`DEFAULT_PRICE_STEP` when the data cannot tell."""
    found = infer_price_step(*price_arrays)
    return DEFAULT_PRICE_STEP if found is None else found


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
    values = np.ascontiguousarray(prices, dtype=np.float64)
    out = np.empty_like(values)
    # One compiled pass (a backtest snaps four columns of every series; the array expression
    # made seven temporaries of each and was most of a 1M-row kernel backtest's setup).
    if not _snap(values.ravel(), scale, step_units, NOISE, out.ravel()):
        return None
    return out


@numba.njit(cache=True, nogil=True)
def _snap(
    values: np.ndarray, scale: float, step_units: float, noise: float, out: np.ndarray
) -> bool:  # pragma: no cover - compiled
    for k in range(values.size):
        value = values[k]
        units = value * scale
        if not np.isfinite(units):
            out[k] = value
            continue
        nearest = np.rint(units / step_units) * step_units
        if abs(units - nearest) > noise * abs(units):
            return False
        # Whole numbers over a power of ten: the division is correctly rounded to the
        # decimal's float.
        out[k] = nearest / scale
    return True
