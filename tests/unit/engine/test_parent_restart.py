"""Parents after a restart, in the paper driver over the bundled ETH/BTC 5m bars (the children
filled by the simulated venue's candle rules): a TWAP that missed slices while the bot was down
sends them as one catch-up child (within its participation cap when it has one), and a POV
counts the market's volume since its creation, not only the volume after the restart."""

from __future__ import annotations

import copy
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from tradewind.backtest.api import prepare
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.core.algo_spec import Algo, AlgoSpec
from tradewind.core.intents import IntentAction
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus
from tradewind.core.records import Side
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.engine.parents import gap_volume
from tradewind.engine.resume import resume_parents
from tradewind.execution.algos import pov_target
from tradewind.execution.parent import Parent, ParentStatus
from tradewind.series.bars import BarSeries
from tradewind.session.driver import PaperDriver
from tradewind.strategies.base import Strategy, StrategyContext

SYMBOL = "ETH/BTC"
WARMUP = 300
STEP = 300_000  # the bars' length, 5 minutes


class BuyOnce(Strategy):
    """Buys once, at its first bar, with the algorithm it is given (never with None)."""

    name = "buy_once_algo"

    def __init__(self, algo: AlgoSpec | None) -> None:
        super().__init__()
        self.algo = algo

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if self.algo is not None:
            ctx.emit(SYMBOL, IntentAction.ENTER_LONG, algo=self.algo)
            self.algo = None


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    path = bundled_recorded_dir() / "candles" / "ETH_BTC-5m.feather"
    return pd.read_feather(path).iloc[: WARMUP + 200].reset_index(drop=True)


def _driver(frame: pd.DataFrame, warm: int, algo: AlgoSpec | None, session: str) -> PaperDriver:
    spec = BacktestSpec(account=Account(cash=1, stake="50%"))
    return PaperDriver(prepare({SYMBOL: frame.iloc[:warm]}, spec), [BuyOnce(algo)],
                       ids=ClientIdFactory("t", session=session))  # fmt: skip


def _feed(driver: PaperDriver, frame: pd.DataFrame, start: int, stop: int) -> None:
    full = prepare({SYMBOL: frame}, BacktestSpec()).bars[SYMBOL]
    for i in range(start, stop):
        driver.add(SYMBOL, full.bar(i))
        driver.flush()


def _killed(driver: PaperDriver) -> tuple[Parent, int, list[Order]]:
    """What a kill -9 leaves in the bot's database: the parent's row (no children attached) with
    the child ids it numbered, and its recorded children."""
    [parent] = driver.node.desk.parents()
    stored = Parent(parent.parent_id, parent.strategy_id, parent.symbol, parent.side,
                    parent.quantity, parent.spec, parent.reduce_only, parent.created_ts,
                    parent.arrival_mid, plan=list(parent.plan))  # fmt: skip
    children = [copy.deepcopy(driver.node.desk.engine.manager.orders[c]) for c in parent.children]
    for child in children:
        if not child.status.is_terminal:
            # The simulated venue went with the process: what reconciliation records of an IOC
            # child that was still waiting for the next bar's open.
            child.report(OrderStatus.CANCELED, "ended by the restart")
    return stored, parent.numbered, children


def _restart(frame: pd.DataFrame, warm: int, killed: tuple[Parent, int, list[Order]]
             ) -> tuple[PaperDriver, Parent]:  # fmt: skip
    parent, numbered, children = killed
    driver = _driver(frame, warm, None, "b")
    [resumed] = resume_parents(driver.node, [(parent, numbered)], children)
    return driver, resumed


def test_a_twap_sends_the_slices_it_missed_while_down_as_one_catch_up_child(
    frame: pd.DataFrame,
) -> None:
    twap = AlgoSpec(algo=Algo.TWAP, horizon_ms=10 * STEP, slices=10, guard_bps=Decimal(200))
    first = _driver(frame, WARMUP, twap, "a")
    _feed(first, frame, WARMUP, WARMUP + 3)
    killed = _killed(first)
    before = len(killed[2])
    assert 0 < before < 10
    # Down for four bars: they become the restarted session's history.
    warm = WARMUP + 7
    second, parent = _restart(frame, warm, killed)
    drive_at = int(second.bars[SYMBOL].close_time[-1]) + STEP  # the next bar's close
    missed = sum((q for at, q in parent.plan[before:] if at <= drive_at), Decimal(0))
    assert missed >= 4 * parent.plan[0][1]  # four slices (or more) fell due while down
    _feed(second, frame, warm, warm + 1)
    new = parent.children[before:]
    assert len(new) == 1, new  # one catch-up child, not one per missed slice
    orders = second.node.desk.engine.manager.orders
    catch_up = orders[new[0]]
    filled_before = sum((o.filled_quantity for o in killed[2]), Decimal(0))
    # Everything due by then that did not fill: the missed slices and what the IOC children
    # before the kill left unfilled.
    due_before = sum((q for _, q in parent.plan[:before]), Decimal(0))
    assert catch_up.quantity == missed + due_before - filled_before
    _feed(second, frame, warm + 1, warm + 12)
    assert parent.status is ParentStatus.DONE, parent.reason
    ids = parent.children
    assert ids == [f"{parent.parent_id}-{k}" for k in range(1, len(ids) + 1)]
    assert len(ids) < 10  # the missed slices went out together
    assert parent.filled_quantity == sum((orders[c].filled_quantity for c in ids), Decimal(0))


def test_a_capped_twap_catches_up_only_as_far_as_the_volume_allows(frame: pd.DataFrame) -> None:
    quantity_of = {}
    for cap in (0.0, 0.0005):
        twap = AlgoSpec(algo=Algo.TWAP, horizon_ms=10 * STEP, slices=10, guard_bps=Decimal(200),
                        participation=cap)  # fmt: skip
        first = _driver(frame, WARMUP, twap, "a")
        _feed(first, frame, WARMUP, WARMUP + 3)
        killed = _killed(first)
        second, parent = _restart(frame, WARMUP + 7, killed)
        _feed(second, frame, WARMUP + 7, WARMUP + 8)
        orders = second.node.desk.engine.manager.orders
        [catch_up] = [orders[c] for c in parent.children[len(killed[2]) :]]
        quantity_of[cap] = catch_up.quantity
        if cap:
            # Fills and open children at most the cap's share of the volume since its start.
            market = second.node.desk.view(SYMBOL, second.node.now)
            assert market is not None
            share = pov_target(cap, market.volume - parent.start_volume, parent.quantity)
            filled_before = sum((o.filled_quantity for o in killed[2]), Decimal(0))
            assert filled_before + catch_up.quantity <= share
    assert quantity_of[0.0005] < quantity_of[0.0], quantity_of


def test_a_restarted_pov_counts_the_volume_since_its_creation(frame: pd.DataFrame) -> None:
    pov = AlgoSpec(algo=Algo.POV, participation=0.001, guard_bps=Decimal(200))
    # Uninterrupted: the reference.
    whole = _driver(frame, WARMUP, pov, "a")
    _feed(whole, frame, WARMUP, WARMUP + 8)
    [reference] = whole.node.desk.parents()
    # Killed after three bars, started again at once on the same bars.
    first = _driver(frame, WARMUP, pov, "a")
    _feed(first, frame, WARMUP, WARMUP + 3)
    killed = _killed(first)
    assert killed[2], "the POV sent no child before the kill"
    second, parent = _restart(frame, WARMUP + 3, killed)
    assert parent.start_volume == reference.start_volume
    _feed(second, frame, WARMUP + 3, WARMUP + 8)
    # The same volume counted, so as much filled or working as without the restart.
    done = second.node.desk.engine.committed(parent, second.node.now)
    assert done == whole.node.desk.engine.committed(reference, whole.node.now)
    assert parent.filled_quantity > sum((o.filled_quantity for o in killed[2]), Decimal(0))
    assert done < parent.quantity  # still working: the comparison is of the share, not the end


def test_a_pov_down_longer_than_its_history_estimates_the_volume_it_missed(
    frame: pd.DataFrame,
) -> None:
    pov = AlgoSpec(algo=Algo.POV, participation=0.001, guard_bps=Decimal(200))
    first = _driver(frame, WARMUP, pov, "a")
    _feed(first, frame, WARMUP, WARMUP + 3)
    killed = _killed(first)
    filled = sum((o.filled_quantity for o in killed[2]), Decimal(0))
    assert filled > 0
    # The restarted session's history starts 20 bars after the parent's creation.
    later = frame.iloc[WARMUP + 20 :].reset_index(drop=True)
    second, parent = _restart(later, 40, killed)
    bars = second.bars[SYMBOL]
    gap_ms = int(bars.ts[0]) - parent.created_ts
    assert gap_ms > 0
    pace = Decimal(repr(float(bars.volume.sum()) / (len(bars) * STEP) * gap_ms))
    expected = max(filled / Decimal("0.001"), pace)
    assert -parent.start_volume == pytest.approx(expected, rel=Decimal("1e-9"))
    # It goes on from there.
    _feed(second, later, 40, 41)
    assert len(parent.children) > len(killed[2])


def test_the_gap_estimate_is_never_below_what_the_fills_imply() -> None:
    pov = AlgoSpec(algo=Algo.POV, participation=0.1)
    parent = Parent("p", "s", SYMBOL, Side.BUY, Decimal(10), pov, False, 0, Decimal(1))
    parent.filled_quantity = Decimal(2)
    quiet = gap_volume(parent, np.array([STEP * 10]), np.array([0.0]), STEP)
    assert quiet == Decimal(20)
    busy = gap_volume(parent, np.array([STEP * 10]), np.array([30.0]), STEP)
    assert busy == Decimal(300)
    assert gap_volume(replace(parent, filled_quantity=Decimal(0)), np.array([], dtype=np.int64),
                      np.array([]), STEP) == 0  # fmt: skip
