"""Every built-in's signal stream, fed the bars one at a time, gives the vectorised signals bar
for bar on every bundled candle file: the flags a paper session computes incrementally are the
backtest's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradewind.core.timeframe import Timeframe
from tradewind.series.bars import BarSeries
from tradewind.strategies.base import Strategy
from tradewind.strategies.builtin import (
    BbRsiMeanRev,
    DonchianBreakout,
    EmaCross,
    MacdAdxTrend,
    RegimeSwitch,
    SmaCross,
    SupertrendFollow,
)
from tradewind.strategies.streams import Crossing
from tradewind.testing.candles import load_candles
from tradewind.testing.shared_data import candle_files

FILES = candle_files()
STREAMED = {
    "sma_cross": lambda short: SmaCross(short=short),
    "sma_cross_5_20": lambda short: SmaCross(fast=5, slow=20, short=short),
    "ema_cross": lambda short: EmaCross(short=short),
    "ema_cross_3_8": lambda short: EmaCross(fast=3, slow=8, short=short),
    "macd_adx_trend": lambda short: MacdAdxTrend(short=short),
    "macd_adx_trend_loose": lambda short: MacdAdxTrend(
        fast=5, slow=13, signal=4, adx_min=15.0, short=short
    ),
    "supertrend_follow": lambda short: SupertrendFollow(short=short),
    "supertrend_follow_tight": lambda short: SupertrendFollow(
        period=7, multiplier=1.5, short=short
    ),
    "donchian_breakout": lambda short: DonchianBreakout(short=short),
    "bb_rsi_meanrev": lambda short: BbRsiMeanRev(short=short),
    "bb_rsi_meanrev_wide": lambda short: BbRsiMeanRev(
        bb_period=10, bb_dev=1.0, rsi_low=40.0, rsi_high=60.0, short=short
    ),
}
COLUMNS = ("entry_long", "exit_long", "entry_short", "exit_short")


def _series(path: Path) -> BarSeries:
    c = load_candles(path)
    return BarSeries(path.stem, Timeframe.parse("1m"), c.timestamps.copy(), c.open.copy(),
                     c.high.copy(), c.low.copy(), c.close.copy(), c.volume.copy())  # fmt: skip


def _streamed(strategy: Strategy, bars: BarSeries) -> tuple[np.ndarray, np.ndarray]:
    stream = strategy.signal_stream()
    assert stream is not None
    n = len(bars)
    flags = np.zeros((n, 4), dtype=np.bool_)
    sure = np.zeros(n, dtype=np.bool_)
    o, h, lo, c, v = (bars.open.tolist(), bars.high.tolist(), bars.low.tolist(),
                      bars.close.tolist(), bars.volume.tolist())  # fmt: skip
    for i in range(n):
        *step, sure[i] = stream.update(o[i], h[i], lo[i], c[i], v[i])
        flags[i] = step
    return flags, sure


@pytest.mark.parametrize("short", [False, True], ids=["long", "short"])
@pytest.mark.parametrize("name", list(STREAMED))
def test_stream_equals_vectorised_signals_on_every_bundled_file(name: str, short: bool) -> None:
    signalled = 0
    for path in FILES:
        bars = _series(path)
        strategy = STREAMED[name](short)
        expected = np.column_stack(strategy.signals(bars).arrays(len(bars)))
        got, sure = _streamed(strategy, bars)
        # The contract: a step the stream calls sure is the vectorised step.
        wrong = np.flatnonzero(sure & (got != expected).any(axis=1))
        if wrong.size:
            i = int(wrong[0])
            raise AssertionError(
                f"{name} on {path.name}: bar {i} streamed {dict(zip(COLUMNS, got[i], strict=True))}, "
                f"vectorised {dict(zip(COLUMNS, expected[i], strict=True))}"
            )
        # And on real data the unsure steps are rare (else streaming saves nothing) and, here,
        # equal too: the guard is a margin, not a correction.
        assert (~sure).mean() < 0.01, f"{name} on {path.name}: {(~sure).sum()} unsure steps"
        assert np.array_equal(got, expected), f"{name} on {path.name}: an unsure step differs"
        signalled += int(expected.any(axis=1).sum())
    assert signalled > 100, f"{name}: only {signalled} signalled bars over every file"


def test_regime_switch_has_no_stream() -> None:
    # Its regime classifier has no streaming form: a session recomputes it.
    assert RegimeSwitch().signal_stream() is None


def test_crossing_follows_the_tie_rule_and_flags_the_boundary() -> None:
    crossing = Crossing()
    nan = float("nan")
    steps = [crossing.update(x, y, 3.0) for x, y in
             [(nan, 1.0), (1.0, 2.0), (3.0, 2.0), (3.0, 3.0), (2.0, 3.0), (2.0, 2.0)]]  # fmt: skip
    assert [s[:2] for s in steps] == [(False, False), (False, False), (True, False),
                                      (False, False), (False, True), (False, False)]  # fmt: skip
    # An exact tie is 1e-12 relative from the boundary, far outside the guard: sure.
    assert all(s[2] for s in steps)
    boundary = Crossing()
    x = 100.0 * (1 + 1e-12)
    assert boundary.update(x, 100.0, 100.0)[2] is False
    # The next bar reads this one's comparison, so it is unsure too.
    assert boundary.update(200.0, 100.0, 100.0)[2] is False
    assert boundary.update(200.0, 100.0, 100.0)[2] is True
