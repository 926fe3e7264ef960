"""Stop, target and trailing rules of ``sim/stops`` against hand-worked values on real bars."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.sim import stops


@pytest.fixture(scope="module")
def bars(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=3000)


def test_levels_by_hand() -> None:
    # 2% below 46,000 = 45,080; 3 ATRs of 150 below = 45,550: the tighter (closer) one wins.
    assert stops.initial_stop(True, 46000.0, 0.02, 150.0, 3.0, 0.1) == 45550.0
    assert stops.initial_stop(True, 46000.0, 0.02, math.nan, math.nan, 0.1) == 45080.0
    assert stops.initial_stop(False, 46000.0, 0.02, math.nan, math.nan, 0.1) == 46920.0
    assert math.isnan(stops.initial_stop(True, 46000.0, math.nan, math.nan, math.nan, 0.1))
    # 2R above 46,000 with the stop at 45,080: 46,000 + 2 x 920 = 47,840
    assert stops.r_multiple_target(True, 46000.0, 45080.0, 2.0, 0.1) == 47840.0
    # Trail 1% behind a best of 47,123.4 = 46,652.166 -> 46,652.2 on the 0.1 tick
    assert stops.trailing_level(True, 47123.4, 0.01, math.nan, math.nan, 0.1) == 46652.2
    assert stops.round_to_tick(46123.149, 0.1) == 46123.1
    # Adds shrink: 1.0 x 0.5 ** 1, then 0.5 ** 2
    assert stops.pyramid_add_size(1.0, 0.5, 0) == 0.5
    assert stops.pyramid_add_size(1.0, 0.5, 1) == 0.25


def _arrays(frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(frame[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close"))


def _scan(frame: pd.DataFrame, **overrides: object) -> tuple:
    o, h, lo, c = _arrays(frame)
    args: dict[str, object] = {
        "atr": np.full(len(o), np.nan), "start": 0, "is_long": True, "entry": float(o[0]), "stop": math.nan,
        "take_profit": math.nan, "trail_pct": math.nan, "trail_atr_mult": math.nan,
        "trail_activation": math.nan, "breakeven_trigger": math.nan, "breakeven_offset": 0.0, "time_bar": -1,
        "ladder": np.empty(0), "ladder_next": 0, "add_price": math.nan, "extreme": float(o[0]),
        "trail_on": False, "breakeven_on": False, "tick": 0.001, "adverse_first": True,
    }  # fmt: skip
    args.update(overrides)
    return stops.scan_exits(o, h, lo, c, **args)  # type: ignore[arg-type]


def test_fixed_stop_fires_on_the_first_bar_whose_low_reaches_it(bars: pd.DataFrame) -> None:
    o, _, lo, _ = _arrays(bars)
    level = float(lo[:500].min())  # a real level the month's prices reach
    expected = int(np.flatnonzero(lo <= level)[0])
    bar, price, kind, *_ = _scan(bars, stop=level)
    assert (bar, kind) == (expected, stops.STOP)
    assert price == (o[expected] if o[expected] <= level else level)


def test_take_profit_and_time_stop(bars: pd.DataFrame) -> None:
    o, h, _, _ = _arrays(bars)
    target = float(o[0]) * 1.01
    expected = int(np.flatnonzero(h >= target)[0])
    bar, price, kind, *_ = _scan(bars, take_profit=target)
    assert (bar, kind) == (expected, stops.TAKE_PROFIT)
    assert price == max(o[expected], target)
    bar, price, kind, *_ = _scan(bars, time_bar=5)
    assert (bar, kind) == (5, stops.TIME)
    assert math.isnan(price)


def test_trailing_stop_moves_only_after_completed_bars(bars: pd.DataFrame) -> None:
    o, h, lo, _ = _arrays(bars)
    pct = 0.005
    best, expected = float(o[0]), -1
    for j in range(len(o)):  # plain loop: level from the best high of bars before j
        level = round(best * (1 - pct) * 1000) / 1000
        if lo[j] <= level:
            expected = j
            break
        best = max(best, h[j])
    bar, _, kind, level, *_ = _scan(bars, trail_pct=pct, trail_on=True)
    assert (bar, kind) == (expected, stops.TRAILING)


def test_breakeven_moves_the_stop_to_entry_plus_offset(bars: pd.DataFrame) -> None:
    o, h, lo, _ = _arrays(bars)
    entry = float(o[0])
    armed = int(np.flatnonzero(h >= entry * 1.002)[0])
    be_level = round(entry * 1.0005 * 1000) / 1000
    after = np.flatnonzero(lo[armed + 1 :] <= be_level)
    expected = armed + 1 + int(after[0])
    bar, _, kind, level, *_ = _scan(
        bars, stop=entry * 0.9, breakeven_trigger=0.002, breakeven_offset=0.0005
    )
    assert (bar, kind, level) == (expected, stops.BREAKEVEN, be_level)


def test_scale_out_rung_comes_before_the_final_target(bars: pd.DataFrame) -> None:
    o, h, _, _ = _arrays(bars)
    entry = float(o[0])
    rung = round(entry * 1.002 * 1000) / 1000
    expected = int(np.flatnonzero(h >= rung)[0])
    bar, _, kind, *_ = _scan(bars, ladder=np.array([rung]), take_profit=entry * 1.05)
    assert (bar, kind) == (expected, stops.SCALE_OUT)
