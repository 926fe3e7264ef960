"""Timeframes: parsing, grid arithmetic, ordering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.core.errors import UserError
from tradewind.core.timeframe import Timeframe


@pytest.mark.parametrize(
    ("text", "ms", "canonical"),
    [
        ("30s", 30_000, "30s"),
        ("1m", 60_000, "1m"),
        ("60m", 3_600_000, "1h"),
        ("4h", 14_400_000, "4h"),
        ("1d", 86_400_000, "1d"),
        ("1w", 604_800_000, "1w"),
        (" 15m ", 900_000, "15m"),
    ],
)
def test_parse_and_canonical_text(text: str, ms: int, canonical: str) -> None:
    tf = Timeframe.parse(text)
    assert tf.ms == ms
    assert str(tf) == canonical


@pytest.mark.parametrize("text", ["", "m", "0m", "5x", "1.5h", "-1m"])
def test_bad_timeframes_are_user_errors(text: str) -> None:
    with pytest.raises(UserError, match="invalid timeframe"):
        Timeframe.parse(text)


def test_calendar_months_are_refused_with_a_hint() -> None:
    with pytest.raises(UserError, match="calendar months are not supported"):
        Timeframe.parse("1M")


def test_grid_helpers() -> None:
    tf = Timeframe.parse("5m")
    assert tf.floor(1_515_560_399_999) == 1_515_560_100_000
    assert tf.is_aligned(1_515_560_100_000)
    assert not tf.is_aligned(1_515_560_100_017)
    assert tf.close_time(1_515_560_100_000) == 1_515_560_400_000
    assert tf.divides(Timeframe.parse("15m"))
    assert not tf.divides(Timeframe.parse("7m"))
    assert Timeframe.parse("1m") < tf < Timeframe.parse("1h")
    assert tf.seconds == 300
    with pytest.raises(UserError, match="must be positive"):
        Timeframe(0)


@given(st.integers(min_value=0, max_value=2**45), st.sampled_from(["1m", "5m", "1h", "8h", "1d"]))
def test_floor_is_aligned_and_contains_the_moment(ts: int, text: str) -> None:
    tf = Timeframe.parse(text)
    start = tf.floor(ts)
    assert tf.is_aligned(start)
    assert start <= ts < tf.close_time(start)
