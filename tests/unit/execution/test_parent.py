"""Parent orders on the looped real recordings and the bundled 1m month (see
tradewind.testing.execution_replay for the replay and tradewind.venues.sim.book_venue for its
matching rules)."""

from __future__ import annotations

import asyncio
import copy
import math
from decimal import Decimal

import pytest

from tradewind.core.errors import UserError
from tradewind.core.orders import ClientIdFactory, OrderStatus, TimeInForce
from tradewind.core.records import Side
from tradewind.execution.algos import (
    Algo,
    AlgoSpec,
    Timeout,
    guard_price,
    learn_volume_curve,
    merge_small,
    schedule,
)
from tradewind.execution.order_manager import OrderManager
from tradewind.execution.parent import MarketView, Parent, ParentEngine, ParentStatus
from tradewind.testing.execution_replay import (
    BTCPERP,
    BTCUSDT,
    XRPUSDT,
    binance_ticks,
    bybit_ticks,
    candle_ticks,
    perp_history,
    run_parent,
)
from tradewind.venues.sim.book_venue import BookVenue


def test_twap_keeps_within_one_slice_of_its_plan(shared_data: object) -> None:
    spec = AlgoSpec(algo=Algo.TWAP, horizon_ms=20_000, slices=10, guard_bps=Decimal(30))
    quantity = Decimal(20_000)
    slice_qty = quantity / 10
    worst = Decimal(0)

    def observe(engine: ParentEngine, parent: Parent, venue: BookVenue) -> None:
        nonlocal worst
        now = venue.now
        if parent.is_working and now < parent.created_ts + spec.horizon_ms:
            worst = max(worst, abs(engine.filled(parent) - parent.due(now)))

    result = run_parent(bybit_ticks(10), XRPUSDT, Side.BUY, quantity, spec, observe=observe)
    assert result.parent.status is ParentStatus.DONE
    assert result.engine.filled(result.parent) == quantity
    assert worst <= slice_qty
    assert len(result.parent.plan) == 10
    ids = result.parent.children
    assert ids[0] == "p1-1"
    assert len(set(ids)) == len(ids)


def test_twap_jitter_is_seeded() -> None:
    a = AlgoSpec(algo=Algo.TWAP, horizon_ms=60_000, slices=6, jitter=0.3, seed=7)
    b = AlgoSpec(algo=Algo.TWAP, horizon_ms=60_000, slices=6, jitter=0.3, seed=8)
    plan_a = schedule(a, Decimal(6), 0, Decimal("0.001"))
    assert plan_a == schedule(a, Decimal(6), 0, Decimal("0.001"))
    assert plan_a != schedule(b, Decimal(6), 0, Decimal("0.001"))
    times = [t for t, _ in plan_a]
    assert times == sorted(times)
    assert all(abs(t - k * 10_000) <= 3_000 for k, t in enumerate(times))
    assert sum(q for _, q in plan_a) == 6


def test_iceberg_never_shows_more_than_its_slice(shared_data: object) -> None:
    shown: list[Decimal] = []

    def observe(engine: ParentEngine, parent: Parent, venue: BookVenue) -> None:
        shown.append(engine.open_quantity(parent))

    # The iceberg rests at the arrival's best bid and fills as sell trades print through it:
    # the Binance trades are the only recording with a tape.
    spec = AlgoSpec(algo=Algo.ICEBERG, visible=Decimal("0.05"), horizon_ms=120_000)
    result = run_parent(binance_ticks(4), BTCUSDT, Side.BUY, Decimal("0.4"), spec, observe=observe)
    assert max(shown) <= Decimal("0.05")
    assert len(result.parent.children) >= 2  # refilled on fill
    assert all(
        result.engine.manager.orders[c].quantity <= Decimal("0.05") for c in result.parent.children
    )
    with pytest.raises(UserError, match="visible"):
        run_parent(bybit_ticks(1), XRPUSDT, Side.BUY, Decimal(1000),
                   AlgoSpec(algo=Algo.ICEBERG, visible=Decimal(1)))  # fmt: skip


def test_vwap_reports_its_tracking_error_against_the_market_vwap(shared_data: object) -> None:
    ts, volume = perp_history()
    learn = len(ts) * 3 // 4
    curve = learn_volume_curve(ts[:learn], volume[:learn])
    assert math.isclose(sum(curve), 1.0)
    spec = AlgoSpec(algo=Algo.VWAP, horizon_ms=6 * 3_600_000, slices=24, volume_curve=curve,
                    guard_bps=Decimal(20))  # fmt: skip
    result = run_parent(candle_ticks(learn, 420), BTCPERP, Side.BUY, Decimal("5"), spec)
    tca = result.tca
    assert result.engine.filled(result.parent) == Decimal("5")
    assert not math.isnan(tca.slippage_vwap_bps)
    assert abs(tca.slippage_vwap_bps) < 50  # tracks the market's VWAP within 50 bps
    weights = [q for _, q in result.parent.plan]
    assert max(weights) != min(weights)  # sized by the learned curve, not equal slices


def test_smart_limit_posts_reprices_within_its_chase_then_crosses_or_cancels(
    shared_data: object,
) -> None:
    # The recorded XRPUSDT book rises through the run: the bid is chased up, never past the
    # chase limit, then the timeout policy acts.
    cross = AlgoSpec(algo=Algo.SMART_LIMIT, timeout_ms=3_000, chase_bps=Decimal(5))
    result = run_parent(bybit_ticks(4), XRPUSDT, Side.BUY, Decimal(3000), cross)
    orders = [result.engine.manager.orders[c] for c in result.parent.children]
    posted, last = orders[:-1], orders[-1]
    limit = result.parent.arrival_mid * (1 + Decimal(5) / 10_000)
    assert len(posted) >= 2
    assert all(o.post_only and o.price <= limit for o in posted)
    assert [o.price for o in posted] == sorted(o.price for o in posted)  # repriced as it rose
    assert last.time_in_force is TimeInForce.IOC
    assert not last.post_only
    assert result.engine.filled(result.parent) == Decimal(3000)
    cancel = AlgoSpec(algo=Algo.SMART_LIMIT, timeout_ms=3_000, on_timeout=Timeout.CANCEL)
    result = run_parent(bybit_ticks(4), XRPUSDT, Side.BUY, Decimal(3000), cancel)
    assert result.parent.reason == "timeout: remainder canceled"
    assert result.tca.fill_rate < 1
    assert result.tca.opportunity_bps != 0
    assert all(result.engine.manager.orders[c].post_only for c in result.parent.children)


def test_slippage_guard_caps_the_fill_price(shared_data: object) -> None:
    spec = AlgoSpec(algo=Algo.MARKET, guard_bps=Decimal(5))
    result = run_parent(bybit_ticks(1), XRPUSDT, Side.BUY, Decimal(2_000_000), spec)
    cap = guard_price(Side.BUY, result.parent.arrival_mid, Decimal(5), XRPUSDT.price_step)
    child = result.engine.manager.orders[result.parent.children[0]]
    assert child.price == cap
    assert all(f.price <= cap for f in child.fills)
    assert child.status is OrderStatus.EXPIRED
    assert result.tca.fill_rate < 1
    assert result.tca.shortfall_bps <= 5


def test_small_slices_merge_and_a_too_small_parent_is_refused() -> None:
    merged = merge_small(
        [(0, Decimal(1)), (1, Decimal(1)), (2, Decimal(5)), (3, Decimal(1))], Decimal(3)
    )
    assert merged == [(2, Decimal(8))]
    venue = BookVenue({"XRPUSDT": XRPUSDT})
    manager = OrderManager(venue, ClientIdFactory("t", session="s"), {"XRPUSDT": XRPUSDT},
                           lambda *_: None)  # fmt: skip
    engine = ParentEngine(manager, {"XRPUSDT": XRPUSDT}, lambda *_: None)
    market = MarketView(0, Decimal("2.5"), Decimal("2.5001"))
    with pytest.raises(UserError, match="below the market's minimum"):
        engine.create("p9", strategy_id="s", symbol="XRPUSDT", side=Side.BUY, quantity=Decimal(1),
                      spec=AlgoSpec(algo=Algo.MARKET), market=market)  # fmt: skip


def test_halt_cancels_adding_parents_and_lets_reduce_only_ones_go_on(shared_data: object) -> None:
    venue = BookVenue({"XRPUSDT": XRPUSDT})
    manager = OrderManager(venue, ClientIdFactory("t", session="s"), {"XRPUSDT": XRPUSDT},
                           lambda *_: None)  # fmt: skip
    published: list[str] = []
    engine = ParentEngine(manager, {"XRPUSDT": XRPUSDT}, lambda topic, *_: published.append(topic))
    venue.subscribe(lambda events: [engine.apply(e, venue.now) for e in events])  # type: ignore[arg-type, func-returns-value]
    ticks = iter(bybit_ticks(3))
    first = next(ticks)
    venue.on_book("XRPUSDT", first.ts, first.bids, first.asks)
    market = MarketView(first.ts, first.bids[0][0], first.asks[0][0])
    spec = AlgoSpec(algo=Algo.TWAP, horizon_ms=10_000, slices=5)
    adding = engine.create("add", strategy_id="s", symbol="XRPUSDT", side=Side.BUY,
                           quantity=Decimal(5000), spec=spec, market=market)  # fmt: skip
    reducing = engine.create("red", strategy_id="s", symbol="XRPUSDT", side=Side.SELL,
                             quantity=Decimal(5000), spec=spec, market=market, reduce_only=True)  # fmt: skip
    assert engine.reserved("XRPUSDT") == Decimal(5000) - engine.filled(adding)
    assert engine.halt_adding("breaker.daily_loss", first.ts) == ["add"]
    assert adding.status is ParentStatus.CANCELED
    assert adding.reason == "breaker.daily_loss"
    sent = len(adding.children)
    for tick in ticks:
        venue.on_book("XRPUSDT", tick.ts, tick.bids, tick.asks)
        engine.on_market("XRPUSDT", MarketView(tick.ts, tick.bids[0][0], tick.asks[0][0]))
    assert len(adding.children) == sent
    assert reducing.status is ParentStatus.DONE
    assert engine.filled(reducing) == Decimal(5000)
    assert engine.reserved() == 0
    assert published[0] == "parent.created"
    assert "parent.ended" in published


def test_replenishment_setting_changes_the_cost_of_a_large_order(shared_data: object) -> None:
    # Ten slices of a large TWAP on a book that refills at the next update versus one that
    # refills over 5 s: taking the same levels again costs more in the second.
    spec = AlgoSpec(algo=Algo.TWAP, horizon_ms=2_000, slices=10, guard_bps=Decimal(100))
    quantity = Decimal(400_000)
    fast = run_parent(bybit_ticks(3), XRPUSDT, Side.BUY, quantity, spec, replenish_ms=0)
    slow = run_parent(bybit_ticks(3), XRPUSDT, Side.BUY, quantity, spec, replenish_ms=5_000)
    assert fast.tca.filled > 0
    assert slow.tca.filled > 0
    assert slow.tca.total_cost_bps >= fast.tca.total_cost_bps


def test_a_restarted_twap_looks_its_slices_up_and_finishes_without_a_duplicate(
    shared_data: object,
) -> None:
    instruments = {"XRPUSDT": XRPUSDT}
    venue = BookVenue(instruments)
    submitted: list[str] = []
    real_submit = venue.submit

    def counting_submit(order: object, ts: int) -> None:
        submitted.append(order.client_id)  # type: ignore[attr-defined]
        real_submit(order, ts)  # type: ignore[arg-type]

    venue.submit = counting_submit  # type: ignore[method-assign]

    def engine_on(v: BookVenue) -> ParentEngine:
        manager = OrderManager(v, ClientIdFactory("t", session="s"), instruments, lambda *_: None)
        engine = ParentEngine(manager, instruments, lambda *_: None)
        return engine

    first = engine_on(venue)
    sink = [first]
    venue.subscribe(lambda events: [sink[0].apply(e, venue.now) for e in events])  # type: ignore[arg-type, func-returns-value]
    ticks = list(bybit_ticks(8))
    t0 = ticks[0]
    venue.on_book("XRPUSDT", t0.ts, t0.bids, t0.asks)
    spec = AlgoSpec(algo=Algo.TWAP, horizon_ms=30_000, slices=10)
    parent = first.create("p7", strategy_id="s", symbol="XRPUSDT", side=Side.BUY,
                          quantity=Decimal(10_000), spec=spec,
                          market=MarketView(t0.ts, t0.bids[0][0], t0.asks[0][0]))  # fmt: skip
    half = len(ticks) // 2
    for tick in ticks[1:half]:
        venue.on_book("XRPUSDT", tick.ts, tick.bids, tick.asks)
        first.on_market("XRPUSDT", MarketView(tick.ts, tick.bids[0][0], tick.asks[0][0]))
    sent_before = len(parent.children)
    assert 0 < sent_before < 10
    # kill -9: the engine and its order manager are gone; the parent's written state comes back.
    second = engine_on(venue)
    sink[0] = second
    restored = Parent(parent.parent_id, parent.strategy_id, parent.symbol, parent.side,
                      parent.quantity, parent.spec, parent.reduce_only, parent.created_ts,
                      parent.arrival_mid, plan=list(parent.plan))  # fmt: skip
    second.restore(restored)
    assert asyncio.run(second.recover("p7", venue)) == sent_before
    assert second.filled(restored) == venue.filled_by_venue("p7-")
    for tick in ticks[half:]:
        venue.on_book("XRPUSDT", tick.ts, tick.bids, tick.asks)
        second.on_market("XRPUSDT", MarketView(tick.ts, tick.bids[0][0], tick.asks[0][0]))
    assert restored.status is ParentStatus.DONE
    assert len(submitted) == len(set(submitted))  # no child id sent twice
    assert venue.filled_by_venue("p7-") == Decimal(10_000)


def test_a_resumed_twap_numbers_on_after_every_id_it_wrote_ahead(shared_data: object) -> None:
    instruments = {"XRPUSDT": XRPUSDT}
    venue = BookVenue(instruments)
    submitted: list[str] = []
    real_submit = venue.submit

    def counting_submit(order: object, ts: int) -> None:
        submitted.append(order.client_id)  # type: ignore[attr-defined]
        real_submit(order, ts)  # type: ignore[arg-type]

    venue.submit = counting_submit  # type: ignore[method-assign]

    def engine_on(v: BookVenue) -> ParentEngine:
        manager = OrderManager(v, ClientIdFactory("t", session="s"), instruments, lambda *_: None)
        return ParentEngine(manager, instruments, lambda *_: None)

    first = engine_on(venue)
    sink = [first]
    venue.subscribe(lambda events: [sink[0].apply(e, venue.now) for e in events])  # type: ignore[arg-type, func-returns-value]
    ticks = list(bybit_ticks(8))
    t0 = ticks[0]
    venue.on_book("XRPUSDT", t0.ts, t0.bids, t0.asks)
    spec = AlgoSpec(algo=Algo.TWAP, horizon_ms=30_000, slices=10)
    parent = first.create("p8", strategy_id="s", symbol="XRPUSDT", side=Side.BUY,
                          quantity=Decimal(10_000), spec=spec,
                          market=MarketView(t0.ts, t0.bids[0][0], t0.asks[0][0]))  # fmt: skip
    half = len(ticks) // 2
    for tick in ticks[1:half]:
        venue.on_book("XRPUSDT", tick.ts, tick.bids, tick.asks)
        first.on_market("XRPUSDT", MarketView(tick.ts, tick.bids[0][0], tick.asks[0][0]))
    sent = len(parent.children)
    assert 0 < sent < 10
    # kill -9 after the parent's row counted one more child that was never recorded nor sent:
    # the repository gives back the recorded children (copies, all ended: IOC) and the count.
    recorded = [copy.deepcopy(first.manager.orders[c]) for c in parent.children]
    assert all(o.status.is_terminal for o in recorded)
    second = engine_on(venue)
    sink[0] = second
    restored = Parent(parent.parent_id, parent.strategy_id, parent.symbol, parent.side,
                      parent.quantity, parent.spec, parent.reduce_only, parent.created_ts,
                      parent.arrival_mid, plan=list(parent.plan))  # fmt: skip
    second.resume(restored, sent + 1, list(reversed(recorded)), ticks[half].ts)
    assert restored.children == parent.children
    assert second.filled(restored) == venue.filled_by_venue("p8-")
    for tick in ticks[half:]:
        venue.on_book("XRPUSDT", tick.ts, tick.bids, tick.asks)
        second.on_market("XRPUSDT", MarketView(tick.ts, tick.bids[0][0], tick.asks[0][0]))
    assert restored.status is ParentStatus.DONE
    assert len(submitted) == len(set(submitted))  # no child id sent twice
    assert f"p8-{sent + 1}" not in submitted  # the number written ahead stays used
    assert restored.children[sent] == f"p8-{sent + 2}"
    assert venue.filled_by_venue("p8-") == Decimal(10_000)
