"""A session extends its bindings' signals one closed bar at a time from the strategies' streams,
and the arrays it holds are always the vectorised signals over the bars held: for every streamed
built-in, and when a stream is unsure, wrong, broken, or built with parameters since changed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradewind.backtest.api import prepare
from tradewind.backtest.event import signal_arrays
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.core.timeframe import Timeframe
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.series.bars import BarSeries
from tradewind.session.driver import PaperDriver
from tradewind.session.signal_tape import streams_signals
from tradewind.strategies.base import Signals, Strategy
from tradewind.strategies.builtin import (
    BbRsiMeanRev,
    DonchianBreakout,
    EmaCross,
    MacdAdxTrend,
    RegimeSwitch,
    SmaCross,
    SupertrendFollow,
)
from tradewind.strategies.streams import SignalStep, SignalStream

WARMUP = 300
LIVE = 400
SYMBOL = "ETH/BTC"
COLUMNS = ("entry_long", "exit_long", "entry_short", "exit_short")


def _frame() -> pd.DataFrame:
    path = bundled_recorded_dir() / "candles" / "ETH_BTC-5m.feather"
    return pd.read_feather(path).iloc[: WARMUP + LIVE].reset_index(drop=True)


def _driver(strategies: list[Strategy], *, live: int = LIVE,
            before_bar: dict[int, object] | None = None) -> PaperDriver:  # fmt: skip
    frame = _frame()
    spec = BacktestSpec(account=Account(cash=1, stake="20%"))
    driver = PaperDriver(prepare({SYMBOL: frame.iloc[:WARMUP]}, spec), strategies)
    full = BarSeries.from_frame(frame, SYMBOL, Timeframe.parse("5m"))
    for i in range(WARMUP, WARMUP + live):
        if before_bar and i in before_bar:
            before_bar[i]()  # type: ignore[operator]
        driver.add(SYMBOL, full.bar(i))
        driver.flush()
    return driver


def _assert_vectorised(driver: PaperDriver) -> None:
    series = driver.bars[SYMBOL]
    assert len(series) == WARMUP + LIVE
    for binding in driver.node.bindings:
        expected = signal_arrays(binding.strategy, series)
        for name in COLUMNS:
            got = getattr(binding, name)
            assert np.array_equal(got, expected[name]), f"{binding.strategy.id}: {name} differs"


def test_every_streamed_builtin_holds_the_vectorised_signals_bar_for_bar() -> None:
    strategies = [
        SmaCross(), EmaCross(short=True), MacdAdxTrend(adx_min=15.0, short=True),
        SupertrendFollow(short=True), DonchianBreakout(short=True), BbRsiMeanRev(short=True),
        RegimeSwitch(),
    ]  # fmt: skip
    driver = _driver(strategies)
    streamed = {b.strategy.name for b in driver.streamed}
    assert streamed == {s.name for s in strategies} - {"regime_switch"}
    _assert_vectorised(driver)
    # Only the regime switch (no stream) is recomputed, once per bar.
    assert driver.recomputes == LIVE
    assert sum(int(np.count_nonzero(b.entry_long)) for b in driver.streamed) > 10


class _Lying(SignalStream):
    """Says "enter long" at every bar: wrong, and with ``sure`` as told."""

    def __init__(self, sure: bool, recovers: bool = True) -> None:
        self._sure = sure
        self.recovers = recovers  # type: ignore[misc]

    def update(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> SignalStep:
        return True, False, False, False, self._sure


class UnsureSma(SmaCross):
    """An SMA cross whose stream is unsure at every step (after a truthful warm-up)."""

    name = "unsure_sma"
    lie_after: int | None = None

    def signal_stream(self) -> SignalStream:
        honest = super().signal_stream()
        outer = self

        class _Stream(SignalStream):
            def __init__(self) -> None:
                self.seen = 0

            def update(self, open_: float, high: float, low: float, close: float,
                       volume: float) -> SignalStep:  # fmt: skip
                self.seen += 1
                step = honest.update(open_, high, low, close, volume)
                if outer.lie_after is not None and self.seen > outer.lie_after:
                    return not step[0], step[1], step[2], step[3], False
                return step

        return _Stream()


def test_an_unsure_step_is_computed_the_vectorised_way() -> None:
    strategy = UnsureSma()
    strategy.lie_after = WARMUP  # truthful over the warm-up, then wrong and unsure every bar
    driver = _driver([strategy])
    assert len(driver.streamed) == 1  # it recovers: still streamed
    assert driver.recomputes == LIVE
    _assert_vectorised(driver)


class WrongSma(SmaCross):
    """An SMA cross whose stream is wrong and sure of itself from the first bar."""

    name = "wrong_sma"

    def signal_stream(self) -> SignalStream:
        return _Lying(sure=True)


def test_a_stream_that_disagrees_over_the_warmup_is_not_used() -> None:
    driver = _driver([WrongSma()])
    assert driver.streamed == []
    assert driver.recomputes == LIVE
    _assert_vectorised(driver)


class OwnSignals(SmaCross):
    """Inherits SmaCross's stream but computes other signals: the stream is not its own."""

    name = "own_signals"

    def signals(self, bars: BarSeries) -> Signals:
        return Signals(entry_long=bars.close > bars.open, exit_long=bars.close < bars.open)


def test_a_subclass_with_its_own_signals_is_recomputed() -> None:
    assert streams_signals(SmaCross())
    assert not streams_signals(OwnSignals())
    driver = _driver([OwnSignals()])
    assert driver.streamed == []
    _assert_vectorised(driver)


def test_changed_parameters_start_the_stream_again() -> None:
    strategy = SmaCross()
    driver = _driver([strategy], before_bar={WARMUP + 150: lambda: strategy.update_params(fast=5,
                                                                                         slow=12)})  # fmt: skip
    assert len(driver.streamed) == 1
    _assert_vectorised(driver)  # over every bar, with the new parameters


class BrokenSma(SmaCross):
    """An SMA cross whose stream raises once the session is under way."""

    name = "broken_sma"

    def signal_stream(self) -> SignalStream:
        honest = super().signal_stream()

        class _Stream(SignalStream):
            def __init__(self) -> None:
                self.seen = 0

            def update(self, open_: float, high: float, low: float, close: float,
                       volume: float) -> SignalStep:  # fmt: skip
                self.seen += 1
                if self.seen > WARMUP + 10:
                    raise ValueError("the stream broke")
                return honest.update(open_, high, low, close, volume)

        return _Stream()


def test_a_stream_that_raises_is_dropped_and_the_binding_recomputed() -> None:
    driver = _driver([BrokenSma()])
    assert driver.streamed == []
    assert driver.recomputes == LIVE - 10
    _assert_vectorised(driver)
