"""Parent orders in the Node: a strategy's market intents carried out by an execution algorithm
(the run's ``execution``, or the intent's own ``algo``) in a candle backtest of the bundled
ETH/BTC 5m bars, with the children filled by the simulated venue's candle rules; their cost
measured per parent; the kill switch and exits stopping the parents that add exposure."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from tradewind.backtest.api import prepare, run
from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec, MarketSpec
from tradewind.core.algo_spec import Algo, AlgoSpec, parse_algo
from tradewind.core.instrument import Instrument
from tradewind.core.intents import IntentAction
from tradewind.core.orders import Order
from tradewind.core.timeframe import Timeframe
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.engine.bus import MessageBus
from tradewind.execution.parent import Parent, ParentStatus
from tradewind.series.bars import BarSeries
from tradewind.session.driver import PaperDriver
from tradewind.strategies.base import Strategy, StrategyContext

BARS = 1000
STEP = 300_000  # the bars' length, 5 minutes


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    path = bundled_recorded_dir() / "candles" / "ETH_BTC-5m.feather"
    return pd.read_feather(path).iloc[:BARS].reset_index(drop=True)


def _run(frame: pd.DataFrame, execution: AlgoSpec | None) -> tuple[Any, list[Any]]:
    spec = BacktestSpec(account=Account(cash=1, stake="50%"), execution=execution)
    return _run_spec(frame, spec)


def _run_spec(frame: pd.DataFrame, spec: BacktestSpec) -> tuple[Any, list[Any]]:
    bus = MessageBus()
    seen: list[Any] = []
    bus.subscribe("parent", lambda topic, payload: seen.append((topic, payload)))
    return run("sma_cross", prepare({"ETH/BTC": frame}, spec), bus=bus), seen


def _parents(seen: list[Any]) -> dict[str, Parent]:
    return {p.parent_id: p for topic, p in seen if topic == "parent.created"}


def _children(seen: list[Any]) -> dict[str, list[Order]]:
    out: dict[str, list[Order]] = {}
    for topic, payload in seen:
        if topic == "parent.child":
            parent, order = payload
            out.setdefault(parent.parent_id, []).append(order)
    return out


def test_a_twap_sends_its_slices_on_plan_and_never_ahead_of_it(frame: pd.DataFrame) -> None:
    spec = parse_algo("twap:horizon=20m,slices=4")
    result, seen = _run(frame, spec)
    parents, children = _parents(seen), _children(seen)
    assert len(parents) > 10
    for parent_id, parent in parents.items():
        kids = children[parent_id]
        assert all(o.client_id == f"{parent_id}-{k}" for k, o in enumerate(kids, 1))
        sent = Decimal(0)
        for order in kids:
            sent += order.filled_quantity
            # Never ahead of the plan: what filled up to a child is at most what was due by then.
            due = sum((q for at, q in parent.plan if at <= order.created_ts), Decimal(0))
            assert order.filled_quantity <= due
            assert sent <= parent.quantity
        if parent.status is ParentStatus.DONE and parent.reason == "filled":
            # Within one slice of the plan: the last child goes out at the last slice's time.
            assert kids[-1].created_ts - parent.plan[-1][0] <= STEP
            assert sum((o.filled_quantity for o in kids), Decimal(0)) == parent.quantity
    done = [p for p in parents.values() if p.reason == "filled"]
    assert len(done) >= len(parents) // 2
    # Every order the run made is a child: the strategy's market orders went through the TWAP.
    assert set(result.orders["client_id"]) == {o.client_id for k in children.values() for o in k}
    assert set(result.orders["reason"].str.split(":").str[0]) == {"twap"}


def test_every_parent_is_measured_with_its_algorithm(frame: pd.DataFrame) -> None:
    result, seen = _run(frame, parse_algo("twap:horizon=20m,slices=4"))
    records = [r for r in result.tca["records"] if r["kind"] == "parent"]
    assert {r["execution_id"] for r in records} == set(_parents(seen))
    assert {r["algo"] for r in records} == {"twap"}
    by_algo = {row["algo"]: row for row in result.tca["by_algo"]}
    assert set(by_algo) == {"twap", "twap.child"}
    for record in records:
        assert 0 <= record["fill_rate"] <= 1
        if record["filled"]:
            assert record["shortfall_bps"] is not None
            assert record["fee_bps"] > 0
        if record["fill_rate"] < 1:  # an exit stopped it: the rest is an opportunity cost
            expected = record["market_move_bps"] * (1 - record["fill_rate"])
            assert record["opportunity_bps"] == pytest.approx(expected)


@pytest.mark.parametrize(
    "text", ["market", "vwap:horizon=30m,slices=3", "pov:participation=0.1",
             "iceberg:visible=1,horizon=1h"],
)  # fmt: skip
def test_each_algorithm_runs_in_a_candle_backtest(frame: pd.DataFrame, text: str) -> None:
    spec = parse_algo(text)
    result, seen = _run(frame, spec)
    parents, children = _parents(seen), _children(seen)
    assert parents
    assert all(p.spec.algo is spec.algo for p in parents.values())
    filled = result.orders[result.orders["filled"] > 0]
    assert len(filled) > 0
    assert len(result.trades) > 0
    for parent_id, parent in parents.items():
        kids = children.get(parent_id, [])
        assert sum((o.filled_quantity for o in kids), Decimal(0)) <= parent.quantity
        if spec.algo is Algo.ICEBERG:
            assert all(o.quantity <= spec.visible for o in kids)  # never shows more
        if spec.algo is Algo.VWAP:
            assert len(parent.spec.volume_curve) == 24  # learned from the bars seen so far


def test_small_slices_merge_and_a_parent_below_the_minimum_is_refused(
    frame: pd.DataFrame,
) -> None:
    # Binance's ETH/BTC rules: a lot of 0.0001 ETH, at least 0.0001 BTC of notional.
    rules = Instrument(symbol="ETH/BTC", base="ETH", quote="BTC", price_step=Decimal("0.00001"),
                       amount_step=Decimal("0.0001"), min_notional=Decimal("0.0001"))  # fmt: skip
    market = MarketSpec(instruments={"ETH/BTC": rules})
    twap = parse_algo("twap:horizon=20m,slices=4")
    # 0.00025 BTC of stake: four slices of ~0.0000625 BTC are each below the minimum notional,
    # so they merge into two sendable children.
    spec = BacktestSpec(account=Account(cash=1, stake="0.00025"), execution=twap, market=market)
    _, seen = _run_spec(frame, spec)
    parents, children = _parents(seen), _children(seen)
    assert parents
    for parent in parents.values():
        assert len(parent.plan) == 2
        assert all(q * parent.arrival_mid >= rules.min_notional for _, q in parent.plan)
        assert len(children[parent.parent_id]) <= 3  # two slices, and a retry at most
    # A stake at the minimum notional buys less than it once the guard and the fee are paid
    # for: the parent is refused at creation, with the reason, and nothing is sent.
    spec = replace(spec, account=Account(cash=1, stake="0.0001"))
    result, _ = _run_spec(frame, spec)
    refused = result.denials[result.denials["code"] == "execution.refused"]
    assert len(refused) > 0
    assert len(result.orders) == 0
    assert "below the market's minimum order" in refused["reason"].iloc[0]


def test_the_kill_switch_cancels_a_working_entry_parent_and_flattens(frame: pd.DataFrame) -> None:
    warm = 300
    spec = BacktestSpec(account=Account(cash=1, stake="50%"),
                        execution=parse_algo("twap:horizon=1h,slices=12"))  # fmt: skip
    prepared = prepare({"ETH/BTC": frame.iloc[:warm]}, spec)
    driver = PaperDriver(prepared, strategies_from("sma_cross", None))
    full = BarSeries.from_frame(frame, "ETH/BTC", Timeframe.parse("5m"))
    node = driver.node
    killed: Parent | None = None
    for i in range(warm, BARS):
        driver.add("ETH/BTC", full.bar(i))
        driver.flush()
        working = [p for p in node.desk.working if not p.reduce_only]
        if killed is None and working and len(working[0].children) >= 3:
            killed = working[0]
            node.kill_switch("operator stop")
            stopped_at = node.now
            sent = len(killed.children)
    assert killed is not None, "no entry parent worked long enough: the test proves nothing"
    assert killed.status is ParentStatus.CANCELED
    assert killed.reason == "kill_switch"
    assert len(killed.children) == sent  # no child after the cancel
    assert all(not node.orders[c].is_open for c in killed.children)
    assert node.position(killed.strategy_id, "ETH/BTC") == 0
    assert node.paused == "operator stop"
    assert stopped_at <= node.now


def test_a_halt_stops_adding_parents_and_lets_reduce_only_ones_go_on(frame: pd.DataFrame) -> None:
    spec = BacktestSpec(account=Account(cash=1, stake="50%"),
                        execution=parse_algo("twap:horizon=1h,slices=12"))  # fmt: skip
    prepared = prepare({"ETH/BTC": frame.iloc[:300]}, spec)
    driver = PaperDriver(prepared, strategies_from("sma_cross", None))
    full = BarSeries.from_frame(frame, "ETH/BTC", Timeframe.parse("5m"))
    desk = driver.node.desk
    checked = set()
    for i in range(300, BARS):
        driver.add("ETH/BTC", full.bar(i))
        driver.flush()
        exits = [p for p in desk.working if p.reduce_only]
        adding = [p for p in desk.working if not p.reduce_only]
        if exits and not checked:
            canceled = desk.cancel("breaker daily_loss: halted", driver.node.now, adding_only=True)
            assert set(canceled) == {p.parent_id for p in adding}
            checked = {p.parent_id for p in exits}
    assert checked, "no exit parent worked: the test proves nothing"
    for parent_id in checked:
        parent = desk.engine.parents[parent_id]
        assert parent.status is not ParentStatus.CANCELED  # the reduce-only parent went on
        assert parent.filled_quantity > 0


class Named(Strategy):
    """Every 40 bars, enters or exits with an iceberg it names itself."""

    name = "named_iceberg"

    def on_bar(self, ctx: StrategyContext, bars: BarSeries, i: int) -> None:
        if i % 40 == 0:
            held = ctx.position("ETH/BTC")
            action = IntentAction.EXIT_LONG if held > 0 else IntentAction.ENTER_LONG
            ctx.emit("ETH/BTC", action, algo=ICEBERG)


ICEBERG = AlgoSpec(algo=Algo.ICEBERG, visible=Decimal(2), horizon_ms=3_600_000)


def test_an_intent_naming_an_algorithm_wins_over_the_default(frame: pd.DataFrame) -> None:
    bus = MessageBus()
    seen: list[Any] = []
    bus.subscribe("parent", lambda topic, payload: seen.append((topic, payload)))
    spec = BacktestSpec(account=Account(cash=1, stake="50%"),
                        execution=parse_algo("twap:horizon=20m,slices=4"))  # fmt: skip
    result = run(Named(), prepare({"ETH/BTC": frame}, spec), bus=bus)
    parents = _parents(seen)
    assert len(parents) > 5
    assert {p.spec for p in parents.values()} == {ICEBERG}
    assert (result.orders["quantity"] <= 2).all()


def test_a_working_buy_parent_reserves_what_it_may_still_spend(frame: pd.DataFrame) -> None:
    spec = BacktestSpec(account=Account(cash=1, stake="50%"),
                        execution=parse_algo("twap:horizon=1h,slices=12"))  # fmt: skip
    driver = PaperDriver(prepare({"ETH/BTC": frame.iloc[:300]}, spec),
                         strategies_from("sma_cross", None))  # fmt: skip
    full = prepare({"ETH/BTC": frame}, BacktestSpec()).bars["ETH/BTC"]
    node = driver.node
    checked = 0
    for i in range(300, BARS):
        driver.add("ETH/BTC", full.bar(i))
        driver.flush()
        buying = [p for p in node.desk.working if not p.reduce_only]
        if not buying:
            assert node.manager.reserved.get("BTC", Decimal(0)) == 0  # released in full
            continue
        (parent,) = buying
        open_children = [node.orders[c] for c in parent.children if node.orders[c].is_open]
        rest = parent.quantity - parent.filled_quantity - sum(o.remaining for o in open_children)
        guard = parent.arrival_mid * (1 + parent.spec.guard_bps / Decimal(10_000))
        children = sum((o.quantity * (o.price or 0) for o in open_children), Decimal(0))
        assert node.manager.reserved["BTC"] == rest * guard + children
        # What the next entry would be sized from is what the parent does not hold back.
        assert node.account.free("BTC") == node.portfolio.cash["BTC"] - rest * guard - children
        checked += 1
    assert checked > 20


def test_auto_lets_the_policy_choose_by_size_against_the_volume(frame: pd.DataFrame) -> None:
    # Half the account against 0.5% of the volume the last 20 bars promise over 30 minutes: most
    # orders fit (a TWAP), the ones after quiet bars do not (POV at that share).
    result, seen = _run(frame, parse_algo("auto:horizon=30m,participation=0.005"))
    parents = _parents(seen)
    rules = {p.chosen_by.split(":")[0] for p in parents.values()}
    assert rules == {"rule 4", "rule 5"}
    for parent in parents.values():
        if parent.spec.algo is Algo.TWAP:
            assert parent.chosen_by.startswith("rule 4")
            assert parent.spec.slices == 6  # a slice per 5-minute bar of the 30-minute horizon
        else:
            assert parent.spec.algo is Algo.POV
            assert parent.chosen_by.startswith("rule 5")
            assert parent.spec.participation == 0.005
    assert {r["algo"] for r in result.tca["records"] if r["kind"] == "parent"} <= {"twap", "pov"}


def test_an_abnormal_slippage_is_published_when_its_child_ends(frame: pd.DataFrame) -> None:
    longer = pd.read_feather(bundled_recorded_dir() / "candles" / "ETH_BTC-5m.feather").iloc[:4000]
    bus = MessageBus()
    published: list[Any] = []
    bus.subscribe("tca.alert", lambda _topic, alert: published.append(alert))
    ended: dict[str, int] = {}

    def child_end(_topic: str, event: Any) -> None:
        ended.setdefault(event.fill.client_id, event.fill.ts)

    bus.subscribe("order.filled", child_end)
    spec = BacktestSpec(account=Account(cash=1, stake="50%"),
                        execution=parse_algo("twap:horizon=20m,slices=4"))  # fmt: skip
    run("sma_cross", prepare({"ETH/BTC": longer}, spec), bus=bus)
    assert published, "no execution was abnormal in 4,000 bars: the test proves nothing"
    assert {a.algo for a in published} <= {"twap", "twap.child"}
    for alert in published:
        assert abs(alert.slippage_bps - alert.mean_bps) > 3 * alert.std_bps
        if alert.algo == "twap.child":
            assert alert.ts >= ended[alert.execution_id]  # measured once it ended, not before
