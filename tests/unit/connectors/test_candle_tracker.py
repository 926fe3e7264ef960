"""CandleTracker: closed bars once and in order from stream updates and REST pages (real candles)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from tradewind.connectors.candles import CandleTracker, KlineUpdate
from tradewind.core.market_events import BarClosed, BarRevised, BarSource
from tradewind.core.timeframe import Timeframe

TF = Timeframe.parse("5m")


@pytest.fixture(scope="module")
def rows(shared_data: Path) -> list[KlineUpdate]:
    """The first 60 real ETH/BTC 5m candles as exchange rows (decimal strings, as Binance sends)."""
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather").head(60)
    out = []
    for r in frame.itertuples():
        out.append(
            KlineUpdate(
                open_ms=int(pd.Timestamp(r.date).value // 1_000_000),
                open=Decimal(repr(r.open)),
                high=Decimal(repr(r.high)),
                low=Decimal(repr(r.low)),
                close=Decimal(repr(r.close)),
                volume=Decimal(repr(r.volume)),
            )
        )
    return out


def _partial(row: KlineUpdate, *, closed: bool = False) -> KlineUpdate:
    """An earlier state of ``row``: closes at the open, volume halved."""
    return KlineUpdate(row.open_ms, row.open, row.open, row.open, row.open, row.volume / 2, closed)


def _final(row: KlineUpdate) -> KlineUpdate:
    return KlineUpdate(row.open_ms, row.open, row.high, row.low, row.close, row.volume, True)


def _closed(events: list[object]) -> list[int]:
    return [e.bar.ts for e in events if isinstance(e, BarClosed)]


def test_a_bar_closes_on_the_closed_flag_not_before(rows: list[KlineUpdate]) -> None:
    tracker = CandleTracker("ETH/BTC", TF)
    assert tracker.on_update(_partial(rows[0])) == []
    events = tracker.on_update(_final(rows[0]))
    assert _closed(events) == [rows[0].open_ms]
    bar = events[0].bar
    assert (bar.high, bar.low, bar.close) == (rows[0].high, rows[0].low, rows[0].close)
    assert events[0].source is BarSource.STREAM


def test_the_next_bars_first_update_closes_the_forming_one(rows: list[KlineUpdate]) -> None:
    tracker = CandleTracker("ETH/BTC", TF)
    tracker.on_update(_partial(rows[0]))
    last = KlineUpdate(rows[0].open_ms, rows[0].open, rows[0].high, rows[0].low, rows[0].close,
                       rows[0].volume)  # fmt: skip
    tracker.on_update(last)
    events = tracker.on_update(_partial(rows[1]))
    assert _closed(events) == [rows[0].open_ms]
    assert events[0].bar.close == rows[0].close


def test_a_bar_closed_without_its_final_update_is_checked_and_revised(
    rows: list[KlineUpdate],
) -> None:
    tracker = CandleTracker("ETH/BTC", TF)
    tracker.on_update(_partial(rows[0]))  # the flagged final update of rows[0] is lost
    events = tracker.on_update(_partial(rows[1]))
    assert _closed(events) == [rows[0].open_ms]
    assert tracker.unconfirmed == [rows[0].open_ms]
    # The REST check (what the feed fetches) finds the real values: a revision.
    checked = tracker.on_history([rows[0]], BarSource.BACKFILL, to_present=False)
    assert len(checked) == 1
    assert isinstance(checked[0], BarRevised)
    assert checked[0].bar.close == rows[0].close
    # A bar closed on its flag needs no check.
    tracker.on_update(_final(rows[1]))
    assert tracker.unconfirmed == [rows[0].open_ms]


def test_a_stall_inside_a_bar_never_closes_it(rows: list[KlineUpdate]) -> None:
    tracker = CandleTracker("ETH/BTC", TF)
    for _ in range(50):
        assert tracker.on_update(_partial(rows[3])) == []
    assert tracker.last_closed is None
    assert tracker.forming is not None
    assert tracker.forming.open_ms == rows[3].open_ms


def test_warmup_then_stream_then_backfill_announce_every_bar_once(rows: list[KlineUpdate]) -> None:
    tracker = CandleTracker("ETH/BTC", TF)
    events = tracker.on_history(rows[:20], BarSource.WARMUP, to_present=True)
    assert _closed(events) == [r.open_ms for r in rows[:19]]  # the last row is still forming
    events = []
    for r in rows[19:30]:
        events += tracker.on_update(_partial(r))
        events += tracker.on_update(_final(r))
    # Disconnected during 30..39; the stream comes back at 40, the backfill overlaps both sides.
    tracker.forming = None
    held = tracker.on_update(_final(rows[40]))
    assert held == []
    assert tracker.hole == (rows[30].open_ms, rows[40].open_ms)
    events += tracker.on_history(rows[25:42], BarSource.BACKFILL, to_present=True)
    announced = [r.open_ms for r in rows[:19]] + _closed(events)
    assert announced == [r.open_ms for r in rows[:41]]
    assert len(set(announced)) == len(announced)
    assert not any(isinstance(e, BarRevised) for e in events)
    assert tracker.hole is None


def test_a_bar_changed_after_its_close_is_a_revision(rows: list[KlineUpdate]) -> None:
    tracker = CandleTracker("ETH/BTC", TF)
    tracker.on_history(rows[:10], BarSource.WARMUP, to_present=False)
    changed = KlineUpdate(rows[5].open_ms, rows[5].open, rows[5].high + Decimal("0.001"),
                          rows[5].low, rows[5].close, rows[5].volume)  # fmt: skip
    events = tracker.on_history([rows[4], changed, rows[6]], BarSource.BACKFILL, to_present=False)
    assert len(events) == 1
    assert isinstance(events[0], BarRevised)
    assert events[0].previous.high == rows[5].high
    assert events[0].bar.high == rows[5].high + Decimal("0.001")
    # The same values again are not a second revision.
    assert tracker.on_update(_final(changed)) == []
    assert tracker.revisions == 1


def test_a_hole_the_exchange_cannot_fill_is_accepted_in_order(rows: list[KlineUpdate]) -> None:
    tracker = CandleTracker("ETH/BTC", TF)
    tracker.on_history(rows[:5], BarSource.WARMUP, to_present=False)
    assert tracker.on_update(_final(rows[8])) == []
    assert tracker.on_update(_final(rows[9])) == []
    assert tracker.hole == (rows[5].open_ms, rows[8].open_ms)
    filled = tracker.on_history([rows[5]], BarSource.BACKFILL, to_present=False)
    assert _closed(filled) == [rows[5].open_ms]
    released = tracker.accept_hole()
    assert _closed(released) == [rows[8].open_ms, rows[9].open_ms]
    assert tracker.hole is None
    assert tracker.last_closed == rows[9].open_ms


def test_forming_updates_that_arrive_after_the_close_are_stale_not_revisions(
    rows: list[KlineUpdate],
) -> None:
    # The warm-up page is fetched after bar 9 closed, while the stream's earlier updates of bar 9
    # (still forming when sent) are in flight: they arrive after the page and change nothing.
    tracker = CandleTracker("ETH/BTC", TF)
    tracker.on_history(rows[:11], BarSource.WARMUP, to_present=True)
    assert tracker.last_closed == rows[9].open_ms
    late = [tracker.on_update(_partial(rows[9])) for _ in range(3)]
    assert late == [[], [], []]
    assert (tracker.revisions, tracker.stale) == (0, 3)
    # The exchange's own closed word with other values is still a revision.
    changed = KlineUpdate(rows[9].open_ms, rows[9].open, rows[9].high, rows[9].low,
                          rows[9].close, rows[9].volume + 1, True)  # fmt: skip
    events = tracker.on_update(changed)
    assert [type(e) for e in events] == [BarRevised]
    assert tracker.revisions == 1
