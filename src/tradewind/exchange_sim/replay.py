"""Replay sources: recorded books and trades, looped forever with a continuous update-id sequence.

A source yields :class:`ReplayStep` objects forever, each stamped with its offset in ms from the
start of the replay. The driver (:mod:`.driver`) applies each step to the market's live book when
the replay clock reaches it. Three kinds of source:

- :class:`RecordedBook`: an L2 recording (a snapshot, then diffs of absolute sizes), with
  optional recorded trades merged in by time; built by :func:`book_from_depth_stream` or
  :func:`book_from_quotes`. When the recording ends it starts again: the first step of every
  later pass is a *rewind* that turns the book back into the first snapshot through ordinary level
  changes. Because the live book numbers its own diffs (:class:`~.sim_book.MarketBook`), update ids
  never jump or repeat across passes.
- :class:`~.candle_flow.CandleFlow`: a book and trade flow derived from candles (see there).

Recorded times are re-based: offset 0 is the first recorded message. Prices are put on the
listing's tick grid and sizes on its step grid.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

import numpy as np

from tradewind.book.stream import DecodedBookStream
from tradewind.exchange_sim.accounts import ZERO


@dataclass(frozen=True)
class ReplayTrade:
    """One public trade of the recording: price, base quantity, and whether the buyer was maker."""

    price: Decimal
    qty: Decimal
    buyer_maker: bool


@dataclass
class ReplayStep:
    """What happens at one instant of the replay.

    ``snapshot`` replaces the whole replayed book with ``bids``/``asks``; otherwise they are
    absolute level sizes (0 deletes). ``trades`` happen after the book change.
    """

    offset_ms: int
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)
    snapshot: bool = False
    trades: list[ReplayTrade] = field(default_factory=list)


def on_grid(value: float, step: Decimal) -> Decimal:
    """Return ``value`` as a Decimal rounded down to a multiple of ``step``."""
    d = Decimal(repr(float(value)))
    return (d / step).to_integral_value(ROUND_DOWN) * step


class RecordedBook:
    """A recording of book steps (and trades), looped.

    Parameters
    ----------
    steps
        The recording; the first must be a snapshot, offsets non-decreasing from 0.
    period_ms
        Length of one pass (the last offset plus one typical gap); a timeline may lengthen it.
    origin_ms
        Recording time of offset 0 (the first message), when known.

    Raises
    ------
    ValueError
        For an empty recording or one that does not start with a snapshot.
    """

    def __init__(self, steps: list[ReplayStep], period_ms: int, origin_ms: int = 0) -> None:
        if not steps or not steps[0].snapshot:
            raise ValueError("a recorded book needs at least one step, the first a snapshot")
        self.steps = steps
        self.period_ms = max(period_ms, steps[-1].offset_ms + 1)
        self.origin_ms = origin_ms

    def __iter__(self) -> Iterator[ReplayStep]:
        return self.steps_from(0)

    def steps_from(self, offset_ms: int) -> Iterator[ReplayStep]:
        """Yield steps forever from the start of the pass that contains ``offset_ms``.

        A recording of diffs cannot start in the middle: the steps before ``offset_ms`` come
        first, and the driver applies them at once (the catch-up).
        """
        first = self.steps[0]
        loop = max(0, offset_ms // self.period_ms)
        while True:
            base = loop * self.period_ms
            for k, step in enumerate(self.steps):
                if k == 0 and loop > 0:
                    # The rewind: the first snapshot again, as changes on the same id sequence.
                    yield ReplayStep(base, dict(first.bids), dict(first.asks), True, first.trades)
                    continue
                yield ReplayStep(
                    base + step.offset_ms, step.bids, step.asks, step.snapshot, step.trades
                )
            loop += 1


def _typical_gap(offsets: list[int]) -> int:
    if len(offsets) < 2:
        return 1000
    return max(1, int(np.median(np.diff(np.asarray(offsets)))))


def book_from_depth_stream(
    stream: DecodedBookStream,
    tick: Decimal,
    step: Decimal,
    trades: list[tuple[int, ReplayTrade]] | None = None,
) -> RecordedBook:
    """Build a looped book from decoded depth messages (the first must be a snapshot).

    ``trades`` are ``(time_ms, trade)`` pairs on the same clock as the messages; each is
    attached to the last book step at or before it.
    """
    if len(stream.msg_ts) == 0 or not bool(stream.msg_snapshot[0]):
        raise ValueError(f"{stream.symbol}: a depth recording must start with a snapshot")
    t0 = int(stream.msg_ts[0])
    steps: list[ReplayStep] = []
    for m in range(len(stream.msg_ts)):
        lo, hi = int(stream.msg_start[m]), int(stream.msg_end[m])
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        for k in range(lo, hi):
            price = on_grid(stream.level_price[k], tick)
            size = on_grid(stream.level_size[k], step)
            (bids if stream.level_side[k] == 0 else asks)[price] = size
        steps.append(
            ReplayStep(int(stream.msg_ts[m]) - t0, bids, asks, bool(stream.msg_snapshot[m]))
        )
    _attach_trades(steps, trades or [], t0)
    offsets = [s.offset_ms for s in steps]
    return RecordedBook(steps, offsets[-1] + _typical_gap(offsets), t0)


def book_from_quotes(
    ts: np.ndarray,
    bid: np.ndarray,
    bid_size: np.ndarray,
    ask: np.ndarray,
    ask_size: np.ndarray,
    tick: Decimal,
    step: Decimal,
    trades: list[tuple[int, ReplayTrade]] | None = None,
) -> RecordedBook:
    """Build a looped one-level book from best bid/ask quotes, with trades merged in by time."""
    if len(ts) == 0:
        raise ValueError("a quote recording needs at least one quote")
    t0 = int(ts[0])
    steps = [
        ReplayStep(
            int(ts[k]) - t0,
            {on_grid(bid[k], tick): on_grid(bid_size[k], step)},
            {on_grid(ask[k], tick): on_grid(ask_size[k], step)},
            snapshot=True,
        )
        for k in range(len(ts))
    ]
    _attach_trades(steps, trades or [], t0)
    offsets = [s.offset_ms for s in steps]
    return RecordedBook(steps, offsets[-1] + _typical_gap(offsets), t0)


def _attach_trades(steps: list[ReplayStep], trades: list[tuple[int, ReplayTrade]], t0: int) -> None:
    offsets = np.asarray([s.offset_ms for s in steps], dtype=np.int64)
    for time_ms, trade in trades:
        k = int(np.searchsorted(offsets, time_ms - t0, side="right")) - 1
        steps[max(k, 0)].trades.append(trade)


def trades_from_arrays(
    ts: np.ndarray,
    price: np.ndarray,
    amount: np.ndarray,
    buyer_maker: np.ndarray,
    tick: Decimal,
    step: Decimal,
) -> list[tuple[int, ReplayTrade]]:
    """Return ``(time_ms, trade)`` pairs from trade arrays, on the listing's grids."""
    out = []
    for k in range(len(ts)):
        qty = on_grid(amount[k], step)
        if qty > ZERO:
            out.append(
                (int(ts[k]), ReplayTrade(on_grid(price[k], tick), qty, bool(buyer_maker[k])))
            )
    return out
