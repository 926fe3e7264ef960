"""The live order book of one simulated market: replayed liquidity plus resting simulated orders.

Each price level holds two kinds of quantity:

- **replayed** liquidity, set by the recording (or the candle flow) as absolute sizes, and
- **resting simulated orders** (from any account), first in first out.

The published level, served by ``/depth`` and the diff-depth stream, is their sum. Every change
to a published level is collected and flushed as one diff with a continuous update-id range
(``U = previous u + 1``), so a client that syncs snapshot-plus-diffs always matches the server.

Priority within a level: replayed quantity ranks ahead of simulated orders resting there (a
conservative queue position for the simulated order: the recording's queue was there first), and
simulated orders rank among themselves by time.

When a fill takes replayed liquidity, the level shrinks (and the diff says so). The recording
does not know about the simulated fill: the next recorded update of that level sets it to its
recorded size again, so consumed liquidity comes back when the replay next touches the level.
Levels the recording never touches again stay consumed until the replay loops (its rewind resets
the whole book).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Iterator
from decimal import Decimal

from tradewind.exchange_sim.accounts import ZERO, fmt_dec
from tradewind.exchange_sim.orders import SimOrder

Level = tuple[Decimal, Decimal]


class BookSide:
    """One side of the book; prices kept sorted ascending."""

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.replay: dict[Decimal, Decimal] = {}
        self.own: dict[Decimal, deque[SimOrder]] = {}
        self.own_qty: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []

    def published(self, price: Decimal) -> Decimal:
        """Return the size shown at ``price``."""
        return self.replay.get(price, ZERO) + self.own_qty.get(price, ZERO)

    def _touch(self, price: Decimal) -> None:
        shown = self.published(price) > 0
        i = bisect_left(self.prices, price)
        present = i < len(self.prices) and self.prices[i] == price
        if shown and not present:
            self.prices.insert(i, price)
        elif present and not shown:
            del self.prices[i]

    def best(self) -> Decimal | None:
        """Best published price, or None for an empty side."""
        if not self.prices:
            return None
        return self.prices[-1] if self.is_bid else self.prices[0]

    def best_replay(self) -> Decimal | None:
        """Best price with replayed liquidity, or None."""
        for price in self.walk():
            if self.replay.get(price, ZERO) > 0:
                return price
        return None

    def walk(self) -> Iterator[Decimal]:
        """Yield published prices from the best outwards (a copy: safe while fills change it)."""
        return reversed(self.prices.copy()) if self.is_bid else iter(self.prices.copy())

    def levels(self, limit: int) -> list[Level]:
        """Return the best ``limit`` published levels."""
        seq = self.prices[::-1] if self.is_bid else self.prices
        return [(p, self.published(p)) for p in seq[:limit]]


class MarketBook:
    """Both sides of one market's book, with the update-id sequence of its diff stream.

    Parameters
    ----------
    first_update_id
        The update id of the initial state (``lastUpdateId`` of a snapshot taken before any diff).
    """

    def __init__(self, first_update_id: int = 1_000_000) -> None:
        self.bids = BookSide(True)
        self.asks = BookSide(False)
        self.last_update_id = first_update_id
        self.prev_final_id = first_update_id
        self._changed: set[tuple[bool, Decimal]] = set()

    def side(self, is_bid: bool) -> BookSide:
        """Return the bid or the ask side."""
        return self.bids if is_bid else self.asks

    def set_replay(self, is_bid: bool, price: Decimal, size: Decimal) -> None:
        """Set the replayed size at ``price`` (0 deletes the replayed part of the level)."""
        side = self.side(is_bid)
        if size > 0:
            side.replay[price] = size
        elif price in side.replay:
            del side.replay[price]
        else:
            return
        side._touch(price)
        self._changed.add((is_bid, price))
        self._trim_queues(side, price)

    def replace_replay(self, bids: dict[Decimal, Decimal], asks: dict[Decimal, Decimal]) -> None:
        """Replace the whole replayed book (a snapshot or a rewind), as level-by-level changes."""
        for is_bid, new in ((True, bids), (False, asks)):
            side = self.side(is_bid)
            for price in [p for p in side.replay if p not in new]:
                self.set_replay(is_bid, price, ZERO)
            for price, size in new.items():
                if side.replay.get(price) != size:
                    self.set_replay(is_bid, price, size)

    def take_replay(self, is_bid: bool, price: Decimal, qty: Decimal) -> None:
        """Remove ``qty`` of replayed liquidity at ``price`` (a simulated fill consumed it)."""
        side = self.side(is_bid)
        left = side.replay.get(price, ZERO) - qty
        self.set_replay(is_bid, price, left if left > 0 else ZERO)

    def _trim_queues(self, side: BookSide, price: Decimal) -> None:
        # Replayed size that leaves a level was ahead of (or beside) our orders; a simulated
        # order's place in the queue can only improve, never exceed what is left at the level.
        queue = side.own.get(price)
        if queue:
            limit = side.replay.get(price, ZERO)
            for order in queue:
                order.queue_ahead = min(order.queue_ahead, limit)

    def add_own(self, order: SimOrder) -> None:
        """Rest ``order`` at its price, behind the replayed size there now."""
        assert order.price is not None
        side = self.side(order.is_buy)
        price = order.price
        order.queue_ahead = side.replay.get(price, ZERO)
        side.own.setdefault(price, deque()).append(order)
        side.own_qty[price] = side.own_qty.get(price, ZERO) + order.remaining
        side._touch(price)
        self._changed.add((order.is_buy, price))

    def own_reduced(self, order: SimOrder, qty: Decimal) -> None:
        """Record that a resting order's remaining quantity fell by ``qty`` (a fill)."""
        assert order.price is not None
        side = self.side(order.is_buy)
        side.own_qty[order.price] -= qty
        side._touch(order.price)
        self._changed.add((order.is_buy, order.price))

    def remove_own(self, order: SimOrder) -> None:
        """Take a resting order out of the book with whatever quantity it has left."""
        if order.price is None:
            return
        side = self.side(order.is_buy)
        queue = side.own.get(order.price)
        if not queue or order not in queue:
            return
        queue.remove(order)
        left = side.own_qty[order.price] - order.remaining
        if queue:
            side.own_qty[order.price] = left
        else:
            del side.own[order.price]
            del side.own_qty[order.price]
        side._touch(order.price)
        self._changed.add((order.is_buy, order.price))

    def flush(self) -> tuple[int, int, int, list[Level], list[Level]] | None:
        """Close the pending changes into one diff.

        Returns
        -------
        tuple or None
            ``(U, u, pu, bids, asks)`` with absolute published sizes (0 deletes), or None when
            nothing changed.
        """
        if not self._changed:
            return None
        bids: list[Level] = []
        asks: list[Level] = []
        for is_bid, price in self._changed:
            side = self.side(is_bid)
            (bids if is_bid else asks).append((price, side.published(price)))
        self._changed.clear()
        first = self.last_update_id + 1
        self.last_update_id += max(1, len(bids) + len(asks))
        prev = self.prev_final_id
        self.prev_final_id = self.last_update_id
        return first, self.last_update_id, prev, bids, asks

    def skip_ids(self, count: int) -> None:
        """Burn ``count`` update ids without a diff (a sequence-gap fault)."""
        self.last_update_id += count
        self.prev_final_id = self.last_update_id

    def snapshot(self, limit: int) -> tuple[int, list[list[str]], list[list[str]]]:
        """Return ``(lastUpdateId, bids, asks)`` rendered for ``/depth`` (pending diffs flushed first).

        The caller must publish what :meth:`flush` returned before calling this, so the snapshot's
        id is one the stream has sent (or will send next).
        """
        return (
            self.last_update_id,
            [[fmt_dec(p), fmt_dec(q)] for p, q in self.bids.levels(limit)],
            [[fmt_dec(p), fmt_dec(q)] for p, q in self.asks.levels(limit)],
        )

    @property
    def pending(self) -> bool:
        """Tell whether changes wait to be flushed."""
        return bool(self._changed)


def own_orders_best_first(side: BookSide) -> Iterator[SimOrder]:
    """Yield resting simulated orders of ``side`` by price (best first), then time."""
    prices = sorted(side.own, reverse=side.is_bid)
    for price in prices:
        yield from list(side.own.get(price, ()))
