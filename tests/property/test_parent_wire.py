"""A parent's children over a bad wire: events delayed, duplicated and reordered, submits left
without an answer (the child UNKNOWN until the venue's events arrive), and the parent canceled at
a random moment. The venue is the real book venue on the looped Bybit XRPUSDT recording; the wire
between it and the engine is what hypothesis draws.

Invariants, at every moment:
- the venue's open quantity of the parent's children plus what it filled of them is at most the
  parent's quantity (and so is the engine's own view: committed <= quantity);
- no child is sent after the parent's cancel;
- once the wire is drained, the parent's fills equal the venue's own fills for its children.
"""

from __future__ import annotations

import heapq
import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradewind.core.events import FundingPaid, OrderEvent, PositionLiquidated, VenueEvent
from tradewind.core.orders import ClientIdFactory, Order, OrderStatus
from tradewind.core.records import Side
from tradewind.execution.algos import Algo, AlgoSpec
from tradewind.execution.order_manager import OrderManager
from tradewind.execution.parent import MarketView, ParentEngine
from tradewind.testing.execution_replay import XRPUSDT, bybit_ticks
from tradewind.venues.sim.book_venue import BookVenue

MAX_DELAY_MS = 400

_TICKS = list(bybit_ticks(3))


class BadWire:
    """Between the venue and the engine: each event delivered after a drawn delay (so reordered),
    some twice; some submits get no answer in time (the child goes UNKNOWN)."""

    def __init__(self, venue: BookVenue, data: st.DataObject) -> None:
        self.venue = venue
        self.data = data
        self.queue: list[tuple[int, int, OrderEvent]] = []
        self.seq = itertools.count()
        self.submitted: list[tuple[int, str]] = []
        self.manager: OrderManager | None = None
        venue.subscribe(self._capture)

    def _capture(self, events: list[VenueEvent]) -> None:
        now = self.venue.now
        for event in events:
            if isinstance(event, FundingPaid | PositionLiquidated):
                continue
            copies = 2 if self.data.draw(st.integers(0, 9), label="dup") == 0 else 1
            for _ in range(copies):
                delay = self.data.draw(st.integers(0, MAX_DELAY_MS), label="delay")
                heapq.heappush(self.queue, (now + delay, next(self.seq), event))

    # the venue port, as the order manager sees it
    def subscribe(self, sink: object) -> None:
        self.sink = sink

    def submit(self, order: Order, ts: int) -> None:
        self.submitted.append((ts, order.client_id))
        self.venue.submit(order, ts)
        if (
            self.data.draw(st.integers(0, 5), label="lost") == 0
            and order.status is OrderStatus.SUBMITTED
        ):
            order.mark_unknown()  # no answer in time: the events, when they come, resolve it

    def cancel(self, client_id: str, ts: int) -> None:
        self.venue.cancel(client_id, ts)

    def cancel_replace(self, client_id: str, order: Order, ts: int) -> None:
        self.venue.cancel_replace(client_id, order, ts)

    def deliver(self, until: int, engine: ParentEngine) -> None:
        while self.queue and self.queue[0][0] <= until:
            at, _, event = heapq.heappop(self.queue)
            engine.apply(event, at)


def _venue_open(venue: BookVenue, prefix: str) -> Decimal:
    return sum(
        (
            r.order.quantity - r.filled
            for cid, r in venue._resting.items()
            if cid.startswith(prefix)
        ),
        Decimal(0),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    algo=st.sampled_from([Algo.TWAP, Algo.POV, Algo.ICEBERG, Algo.SMART_LIMIT]),
    quantity=st.integers(3_000, 400_000),
    cancel_at=st.one_of(st.none(), st.integers(2, 120)),
)
def test_children_over_a_bad_wire(
    data: st.DataObject, algo: Algo, quantity: int, cancel_at: int | None
) -> None:
    venue = BookVenue({"XRPUSDT": XRPUSDT})
    wire = BadWire(venue, data)
    manager = OrderManager(wire, ClientIdFactory("t", session="s"), {"XRPUSDT": XRPUSDT},  # type: ignore[arg-type]
                           lambda *_: None)  # fmt: skip
    engine = ParentEngine(
        manager, {"XRPUSDT": XRPUSDT}, lambda *_: None, settle_ms=MAX_DELAY_MS + 1
    )
    spec = {
        Algo.TWAP: AlgoSpec(algo=Algo.TWAP, horizon_ms=8_000, slices=8, guard_bps=Decimal(2)),
        Algo.POV: AlgoSpec(
            algo=Algo.POV, participation=0.5, horizon_ms=8_000, guard_bps=Decimal(2)
        ),
        Algo.ICEBERG: AlgoSpec(algo=Algo.ICEBERG, visible=Decimal(2_000), horizon_ms=8_000),
        Algo.SMART_LIMIT: AlgoSpec(algo=Algo.SMART_LIMIT, timeout_ms=2_000, chase_bps=Decimal(3)),
    }[algo]
    qty = Decimal(quantity)
    first = _TICKS[0]
    venue.on_book("XRPUSDT", first.ts, first.bids, first.asks)
    parent = engine.create("p1", strategy_id="s", symbol="XRPUSDT", side=Side.BUY, quantity=qty,
                           spec=spec, market=MarketView(first.ts, first.bids[0][0], first.asks[0][0],
                                                        Decimal(0)))  # fmt: skip
    canceled_after: int | None = None
    volume = Decimal(0)
    for n, tick in enumerate(_TICKS[1:], start=1):
        venue.on_book("XRPUSDT", tick.ts, tick.bids, tick.asks)
        wire.deliver(tick.ts, engine)
        assert _venue_open(venue, "p1-") + venue.filled_by_venue("p1-") <= qty
        assert engine.committed(parent, tick.ts) <= qty
        if n == cancel_at:
            engine.cancel("p1", "operator", tick.ts)
            canceled_after = len(wire.submitted)
        volume += Decimal(50_000)  # POV reads the volume since start: the book stream has no tape
        engine.on_market("XRPUSDT", MarketView(tick.ts, tick.bids[0][0], tick.asks[0][0], volume))
        assert _venue_open(venue, "p1-") + venue.filled_by_venue("p1-") <= qty
        if canceled_after is not None:
            assert len(wire.submitted) == canceled_after
    wire.deliver(10**15, engine)
    assert engine.filled(parent) == venue.filled_by_venue("p1-")
    assert engine.filled(parent) <= qty
