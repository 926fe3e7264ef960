"""A parent resumed with a child still resting at the venue (a live restart adopts it) carries on
from that child: it is tracked and reserved as a working order, no second child is posted while
it rests, and its fills before and after the restart are counted once. On the looped Bybit
XRPUSDT book with the book-fed simulated venue (tradewind.venues.sim.book_venue)."""

from __future__ import annotations

import copy
from decimal import Decimal

from tradewind.core.orders import ClientIdFactory, Order
from tradewind.core.records import Side
from tradewind.execution.algos import Algo, AlgoSpec
from tradewind.execution.order_manager import OrderManager
from tradewind.execution.parent import MarketView, Parent, ParentEngine, ParentStatus
from tradewind.testing.execution_replay import XRPUSDT, bybit_ticks
from tradewind.venues.sim.book_venue import BookVenue


def _engine(venue: BookVenue) -> ParentEngine:
    instruments = {"XRPUSDT": XRPUSDT}
    manager = OrderManager(venue, ClientIdFactory("t", session="s"), instruments, lambda *_: None)
    return ParentEngine(manager, instruments, lambda *_: None)


def test_a_resumed_smart_limit_carries_on_from_its_resting_child(shared_data: object) -> None:
    venue = BookVenue({"XRPUSDT": XRPUSDT})
    submitted: list[str] = []
    real_submit = venue.submit

    def counting_submit(order: Order, ts: int) -> None:
        submitted.append(order.client_id)
        real_submit(order, ts)

    venue.submit = counting_submit  # type: ignore[method-assign]
    first = _engine(venue)
    sink = [first]
    venue.subscribe(lambda events: [sink[0].apply(e, venue.now) for e in events])  # type: ignore[arg-type, func-returns-value]
    ticks = list(bybit_ticks(4))
    t0 = ticks[0]
    venue.on_book("XRPUSDT", t0.ts, t0.bids, t0.asks)
    spec = AlgoSpec(algo=Algo.SMART_LIMIT, timeout_ms=3_000, chase_bps=Decimal(5))
    parent = first.create("p9", strategy_id="s", symbol="XRPUSDT", side=Side.BUY,
                          quantity=Decimal(3000), spec=spec,
                          market=MarketView(t0.ts, t0.bids[0][0], t0.asks[0][0]))  # fmt: skip
    [child] = parent.children
    resting = first.manager.orders[child]
    assert resting.is_open
    assert resting.post_only
    # kill -9 with the post resting: the repository gives back the parent and the open child.
    second = _engine(venue)
    sink[0] = second
    restored = Parent(parent.parent_id, parent.strategy_id, parent.symbol, parent.side,
                      parent.quantity, parent.spec, parent.reduce_only, parent.created_ts,
                      parent.arrival_mid)  # fmt: skip
    second.resume(restored, 1, [copy.deepcopy(resting)], t0.ts)
    adopted = second.manager.orders[child]
    assert child in second.manager.working[("s", "XRPUSDT")]  # a working order of the bot's
    assert second.manager.reserved[XRPUSDT.quote] == adopted.remaining * adopted.price
    assert second.open_quantity(restored) == adopted.remaining
    # The same book again: the post is where the parent wants it, so nothing new goes out.
    second.on_market("XRPUSDT", MarketView(t0.ts + 1, t0.bids[0][0], t0.asks[0][0]))
    assert submitted == [child]
    for tick in ticks[1:]:
        venue.on_book("XRPUSDT", tick.ts, tick.bids, tick.asks)
        second.on_market("XRPUSDT", MarketView(tick.ts, tick.bids[0][0], tick.asks[0][0]))
    assert restored.status is ParentStatus.DONE, restored.reason
    assert restored.children[0] == child
    assert submitted == restored.children  # every child once, numbered on from the adopted one
    assert len(set(submitted)) == len(submitted) > 1
    assert adopted.status.is_terminal  # repriced (canceled) or filled: the parent ended it
    assert second.filled(restored) == venue.filled_by_venue("p9-") == Decimal(3000)
    assert second.manager.reserved[XRPUSDT.quote] == 0  # every reservation released once
