"""Exact decimal helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.core.money import (
    ceil_to_step,
    floor_to_step,
    is_multiple_of,
    round_to_step,
    step_from_digits,
    to_decimal,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.1, "0.1"), (1e-8, "1E-8"), ("  42.50 ", "42.50"), (7, "7"), (Decimal("3.3"), "3.3")],
)
def test_to_decimal_is_exact(value: object, expected: str) -> None:
    assert to_decimal(value) == Decimal(expected)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "abc", True, None, [1]])
def test_to_decimal_refuses_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="not a"):
        to_decimal(value)


def test_rounding_by_step() -> None:
    step = Decimal("0.05")
    assert round_to_step(Decimal("1.024"), step) == Decimal("1.00")
    assert round_to_step(Decimal("1.026"), step) == Decimal("1.05")
    # Half to even: 1.025 is 20.5 steps, rounds to 20.
    assert round_to_step(Decimal("1.025"), step) == Decimal("1.00")
    assert floor_to_step(Decimal("1.099"), step) == Decimal("1.05")
    assert ceil_to_step(Decimal("1.001"), step) == Decimal("1.05")
    assert floor_to_step(Decimal("-1.099"), step) == Decimal("-1.05")  # toward zero
    assert is_multiple_of(Decimal("1.15"), step)
    assert not is_multiple_of(Decimal("1.16"), step)
    with pytest.raises(ValueError, match="step must be positive"):
        round_to_step(Decimal(1), Decimal(0))


def test_step_from_digits() -> None:
    assert step_from_digits(2) == Decimal("0.01")
    assert step_from_digits(0) == Decimal(1)
    assert step_from_digits(-1) == Decimal(10)


@given(
    st.decimals(min_value=-(10**6), max_value=10**6, allow_nan=False, places=8),
    st.sampled_from([Decimal("0.01"), Decimal("0.5"), Decimal("0.0001"), Decimal("25")]),
)
def test_rounded_values_sit_on_the_grid_within_one_step(value: Decimal, step: Decimal) -> None:
    for rounded in (
        round_to_step(value, step),
        floor_to_step(value, step),
        ceil_to_step(value, step),
    ):
        assert is_multiple_of(rounded, step)
        assert abs(rounded - value) < step
    assert abs(floor_to_step(value, step)) <= abs(value) <= abs(ceil_to_step(value, step))
