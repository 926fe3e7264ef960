"""Walk-forward window lengths: a bar count or a duration, read without a warning."""

from __future__ import annotations

import warnings

import pytest

from tradewind.core.errors import UserError
from tradewind.optimize.walkforward import bars_of

FIVE_MINUTES = 300_000


@pytest.mark.parametrize(
    ("length", "bars"),
    [("500", 500), (500, 500), ("7d", 2016), ("12h", 144), ("90m", 18), ("2w", 4032),
     ("7D", 2016), ("1 day", 288)],
)  # fmt: skip
def test_a_length_is_read_in_bars_and_warns_nothing(length: str | int, bars: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "7d" made pandas warn that "d" is deprecated

        assert bars_of(length, FIVE_MINUTES, "train") == bars


@pytest.mark.parametrize("length", ["seven days", "7x", ""])
def test_a_length_that_is_no_duration_names_its_flag(length: str) -> None:
    with pytest.raises(UserError, match="--test must be a bar count or a duration like 7d"):
        bars_of(length, FIVE_MINUTES, "test")
