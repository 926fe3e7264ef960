"""Bad inputs get clear errors; edge-sized inputs give TA-Lib's shapes and warm-up zeros."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import talib
from pattern_data import CANDLE_FILES, load_ohlc

from tradewind.core.errors import DataError, UserError
from tradewind.indicators.patterns import (
    TALIB_TWINS,
    cdldarkcloudcover,
    cdldoji,
    cdlengulfing,
    cdlmorningstar,
)


def _real_ohlc() -> tuple[np.ndarray, ...]:
    return load_ohlc(next(p for p in CANDLE_FILES if p.name.startswith("XRP_ETH-5m")))


def test_length_mismatch_names_the_series(shared_data: Path) -> None:
    o, h, l, c = _real_ohlc()  # noqa: E741
    with pytest.raises(UserError, match="close has 10 values but open has 706"):
        cdldoji(o, h, l, c[:10])


def test_nan_price_is_refused_with_its_position(shared_data: Path) -> None:
    o, h, l, c = (a.copy() for a in _real_ohlc())  # noqa: E741
    h[42] = np.nan
    with pytest.raises(DataError, match=r"high has a non-finite value .* at position 42"):
        cdlengulfing(o, h, l, c)


def test_two_dimensional_input_is_refused(shared_data: Path) -> None:
    o, h, l, c = _real_ohlc()  # noqa: E741
    with pytest.raises(UserError, match="open must be a 1-D array"):
        cdldoji(np.vstack([o, o]), h, l, c)


def test_text_input_is_refused() -> None:
    with pytest.raises(UserError, match="open must be numeric"):
        cdldoji(["a", "b"], [1.0, 2.0], [1.0, 2.0], [1.0, 2.0])


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), True, "0.5"])
def test_bad_penetration_is_refused(shared_data: Path, bad: object) -> None:
    o, h, l, c = _real_ohlc()  # noqa: E741
    with pytest.raises(UserError, match="penetration"):
        cdldarkcloudcover(o, h, l, c, penetration=bad)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="penetration"):
        cdlmorningstar(o, h, l, c, penetration=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(TALIB_TWINS))
@pytest.mark.parametrize("length", [0, 1, 2, 3, 11, 12, 13, 14])
def test_short_inputs_match_talib(shared_data: Path, name: str, length: int) -> None:
    """Around the warm-up length, our output has TA-Lib's length and zeros."""
    o, h, l, c = (a[:length] for a in _real_ohlc())  # noqa: E741
    expected = getattr(talib, name)(o, h, l, c) if length else np.zeros(0, dtype=np.int32)

    ours = TALIB_TWINS[name](o, h, l, c)

    np.testing.assert_array_equal(ours, expected)


def test_lists_and_series_are_accepted(shared_data: Path) -> None:
    o, h, l, c = _real_ohlc()  # noqa: E741
    as_arrays = cdlengulfing(o, h, l, c)

    as_lists = cdlengulfing(o.tolist(), h.tolist(), l.tolist(), c.tolist())

    np.testing.assert_array_equal(as_lists, as_arrays)


@pytest.mark.parametrize("name", ["CDLDOJI", "CDLSHOOTINGSTAR", "CDLINVERTEDHAMMER"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("position", [0, 5, 11, 400, 705])
def test_in_kernel_finiteness_check_finds_every_bad_value(
    shared_data: Path, name: str, bad: float, position: int
) -> None:
    # These kernels sum their inputs as they read them instead of a separate check: a bad
    # value in the seed bars, the warm-up or the main loop, in any series, must still raise.
    fn = TALIB_TWINS[name]
    for series, label in enumerate(("open", "high", "low", "close")):
        prices = [a.copy() for a in _real_ohlc()]
        prices[series][position] = bad
        with pytest.raises(DataError, match=rf"{label} has a non-finite value .* {position}"):
            fn(*prices)
        if position < 8:  # also in a series shorter than the warm-up
            with pytest.raises(DataError, match=rf"{label} has a non-finite value"):
                fn(*(p[:8] for p in prices))


@pytest.mark.parametrize("name", ["CDLDOJI", "CDLSHOOTINGSTAR", "CDLINVERTEDHAMMER"])
def test_overflowing_sum_of_finite_prices_is_not_an_error(name: str) -> None:
    # Huge but finite prices overflow the kernels' running sum; the follow-up search finds
    # nothing bad, so the marks stand (and agree with TA-Lib's).
    big = np.full(40, 1e308)
    got = TALIB_TWINS[name](big, big, big * 0.5, big)
    assert np.array_equal(got, getattr(talib, name)(big, big, big * 0.5, big))
