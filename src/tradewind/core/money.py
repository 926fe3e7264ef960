"""Exact decimal helpers for prices, quantities and money.

Money is never a float in Tradewind's accounting. These helpers convert at the boundary (a float
from an analytics array, a string from an exchange) and round by an explicit step, so that rounding
happens once, where an order or a fill is made.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
ONE = Decimal(1)

Price = Decimal
Quantity = Decimal
Money = Decimal


def to_decimal(value: object) -> Decimal:
    """Convert ``value`` to ``Decimal`` without binary-float noise.

    Floats go through ``repr`` (shortest round-trip string), so ``0.1`` becomes ``Decimal("0.1")``,
    not ``Decimal("0.1000000000000000055511151231257827...")``.

    Raises
    ------
    ValueError
        If the value is NaN, infinite, a bool, or not a number.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        # float.__repr__ also gives the shortest form for float subclasses such as numpy.float64.
        result = Decimal(float.__repr__(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise ValueError(f"not a number: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def round_to_step(value: Decimal, step: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round ``value`` to a multiple of ``step`` (a tick or lot size) with ``rounding``."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    units = (value / step).quantize(ONE, rounding=rounding)
    return units * step


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` toward zero to a multiple of ``step``: never more than was asked."""
    return round_to_step(value, step, ROUND_DOWN)


def ceil_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` away from zero to a multiple of ``step``."""
    return round_to_step(value, step, ROUND_UP)


def is_multiple_of(value: Decimal, step: Decimal) -> bool:
    """Tell whether ``value`` sits exactly on the ``step`` grid."""
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    return (value % step) == 0


def step_from_digits(digits: int) -> Decimal:
    """Return the step for a number of decimal places: 2 -> 0.01, 0 -> 1, -1 -> 10."""
    return Decimal(1).scaleb(-digits)
