"""The L2 order book: a snapshot plus deltas, sequence-checked, stored in sorted NumPy arrays.

The book never guesses. A lost message (a sequence gap), a crossed book after an update, an invalid
level or a delta before any snapshot puts it in the *resync needed* state: the update returns
:attr:`UpdateStatus.RESYNC_NEEDED`, ``resync_reason`` says why, and further deltas are refused until
a snapshot rebuilds it. Old or duplicate messages are dropped and reported as
:attr:`UpdateStatus.DROPPED`.

Prices and sizes are ``float64``: the book serves analytics and screening; exact money stays in
``Decimal`` at orders and fills (see the design's "money is exact" rule). Parsing a decimal string
to the nearest double is deterministic, so a level's price compares equal across messages.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import NamedTuple

import numpy as np

from tradewind.book import _ladder
from tradewind.book.sequencing import Sequencer, UnsequencedSequencer, Verdict
from tradewind.book.stream import DecodedBookStream
from tradewind.core.errors import DataError, UserError
from tradewind.core.records import BookDelta, BookSide

BID = _ladder.BID
ASK = _ladder.ASK


class UpdateStatus(Enum):
    """Outcome of one message."""

    APPLIED = "applied"
    DROPPED = "dropped"
    RESYNC_NEEDED = "resync_needed"


class TopLevels(NamedTuple):
    """The best ``k`` levels of each side, best first (views into the book; copy to keep)."""

    bid_prices: np.ndarray
    bid_sizes: np.ndarray
    ask_prices: np.ndarray
    ask_sizes: np.ndarray


class OrderBook:
    """An L2 book for one instrument.

    Parameters
    ----------
    symbol
        Instrument name, for messages.
    sequencer
        The exchange's update-id rule (:mod:`tradewind.book.sequencing`); by default every message
        is accepted once a snapshot exists.
    capacity
        Initial number of levels per side; the arrays grow when needed.
    max_age_ms
        A book whose last message is older than this (see :meth:`is_stale`) is stale.

    Notes
    -----
    Arrays returned by :meth:`top`, :meth:`bids` and :meth:`asks` are views: the next update changes
    them. Copy what must outlive the update.
    """

    def __init__(
        self,
        symbol: str = "",
        *,
        sequencer: Sequencer | None = None,
        capacity: int = 1024,
        max_age_ms: int | None = None,
    ) -> None:
        if capacity < 1:
            raise UserError(f"book capacity must be at least 1 level, got {capacity}")
        self.symbol = symbol
        self.sequencer = sequencer if sequencer is not None else UnsequencedSequencer()
        self.max_age_ms = max_age_ms
        self._px = np.zeros((2, capacity), dtype=np.float64)
        self._sz = np.zeros((2, capacity), dtype=np.float64)
        self._n = np.zeros(2, dtype=np.int64)
        self._views()
        self.ts = 0
        self.update_id = -1
        self.needs_resync = True
        self.resync_reason: str | None = "no snapshot yet"
        self.updates = 0
        self._pending: list[BookDelta] = []

    # ----------------------------------------------------------------------------- writing

    def _reserve(self, extra: int) -> None:
        cap = self._px.shape[1]
        need = max(int(self._n[0]), int(self._n[1])) + extra
        if need <= cap:
            return
        new_cap = max(need, 2 * cap)
        px = np.zeros((2, new_cap), dtype=np.float64)
        sz = np.zeros((2, new_cap), dtype=np.float64)
        px[:, :cap] = self._px
        sz[:, :cap] = self._sz
        self._px, self._sz = px, sz
        self._views()

    def _views(self) -> None:
        # Row views and reversed row views, made once per allocation: slicing a 1-D view costs a
        # fraction of indexing the 2-D array, and the reversed rows read best-first in one slice
        # (live levels of a side sit at reversed indices cap - n .. cap - 1).
        self._cap = self._px.shape[1]
        self._bp, self._ap = self._px[0], self._px[1]
        self._bs, self._as = self._sz[0], self._sz[1]
        self._bp_rev, self._ap_rev = self._bp[::-1], self._ap[::-1]
        self._bs_rev, self._as_rev = self._bs[::-1], self._as[::-1]

    @staticmethod
    def _check_bounds(
        sides: np.ndarray, prices: np.ndarray, sizes: np.ndarray, start: int, stop: int
    ) -> None:
        # the compiled kernels do not check bounds: a short array would read foreign memory
        if not (0 <= start <= stop <= len(sides) and stop <= len(prices) and stop <= len(sizes)):
            raise UserError(
                f"level range {start}:{stop} does not fit arrays of {len(sides)} sides, "
                f"{len(prices)} prices and {len(sizes)} sizes"
            )

    def _fail(self, reason: str) -> UpdateStatus:
        self.needs_resync = True
        self.resync_reason = reason
        return UpdateStatus.RESYNC_NEEDED

    def _check_kernel(
        self, code: int, sides: np.ndarray, prices: np.ndarray, sizes: np.ndarray
    ) -> UpdateStatus:
        if code == _ladder.OK:
            return UpdateStatus.APPLIED
        if code == _ladder.CROSSED:
            return self._fail(
                f"crossed book: best bid {self.best_bid()} >= best ask {self.best_ask()}"
            )
        self._fail("invalid level")
        side = "bid" if sides[code] == BID else "ask"
        raise DataError(
            f"{self.symbol or 'book'}: invalid {side} level price={prices[code]!r} "
            f"size={sizes[code]!r} (prices must be positive and sizes finite and >= 0)"
        )

    def apply_snapshot(
        self,
        sides: np.ndarray,
        prices: np.ndarray,
        sizes: np.ndarray,
        *,
        ts: int,
        last_id: int = -1,
        start: int = 0,
        end: int | None = None,
    ) -> UpdateStatus:
        """Replace the book with levels ``start:end`` of the arrays.

        Parameters
        ----------
        sides, prices, sizes
            ``int8`` side (0 bid, 1 ask), ``float64`` price and size per level.
        ts
            Message time, UTC ms.
        last_id
            The snapshot's update id (Binance ``lastUpdateId``, Bybit ``u``), -1 if none.

        Returns
        -------
        UpdateStatus
            APPLIED, or RESYNC_NEEDED if the snapshot itself is crossed.

        Raises
        ------
        DataError
            If a level has a non-positive price or a negative or non-finite size.
        """
        stop = len(prices) if end is None else end
        self._check_bounds(sides, prices, sizes, start, stop)
        self._reserve(stop - start)
        code = _ladder.load_snapshot(self._px, self._sz, self._n, sides, prices, sizes, start, stop)
        self.ts = ts
        self.update_id = last_id
        self.updates += 1
        self.sequencer.on_snapshot(last_id)
        self.needs_resync = False
        self.resync_reason = None
        return self._check_kernel(code, sides, prices, sizes)

    def apply_update(
        self,
        sides: np.ndarray,
        prices: np.ndarray,
        sizes: np.ndarray,
        *,
        ts: int,
        first_id: int = -1,
        last_id: int = -1,
        prev_id: int = -1,
        start: int = 0,
        end: int | None = None,
    ) -> UpdateStatus:
        """Apply one delta message (levels ``start:end``) after checking its ids.

        Parameters
        ----------
        sides, prices, sizes
            As in :meth:`apply_snapshot`; a size of 0 deletes the level.
        ts
            Message time, UTC ms.
        first_id, last_id, prev_id
            The message's ids for the sequencer (Binance ``U``, ``u``, ``pu``; Bybit ``u`` twice).

        Returns
        -------
        UpdateStatus
            APPLIED; DROPPED for an old or duplicate message (the book is unchanged);
            RESYNC_NEEDED on a gap, a crossed result, or while a resync is pending.
        """
        if self.needs_resync:
            return UpdateStatus.RESYNC_NEEDED
        verdict, why = self.sequencer.check(first_id, last_id, prev_id)
        if verdict is Verdict.DROP:
            return UpdateStatus.DROPPED
        if verdict is Verdict.GAP:
            return self._fail(why)
        stop = len(prices) if end is None else end
        self._check_bounds(sides, prices, sizes, start, stop)
        self._reserve(stop - start)
        code = _ladder.apply_levels(self._px, self._sz, self._n, sides, prices, sizes, start, stop)
        self.ts = ts
        self.update_id = last_id
        self.updates += 1
        if code == _ladder.OK:
            return UpdateStatus.APPLIED
        return self._check_kernel(code, sides, prices, sizes)

    def apply_message(self, stream: DecodedBookStream, i: int) -> UpdateStatus:
        """Apply message ``i`` of a decoded stream (snapshot or delta)."""
        start = int(stream.msg_start[i])
        end = int(stream.msg_end[i])
        if stream.msg_snapshot[i]:
            return self.apply_snapshot(
                stream.level_side,
                stream.level_price,
                stream.level_size,
                ts=int(stream.msg_ts[i]),
                last_id=int(stream.msg_last_id[i]),
                start=start,
                end=end,
            )
        return self.apply_update(
            stream.level_side,
            stream.level_price,
            stream.level_size,
            ts=int(stream.msg_ts[i]),
            first_id=int(stream.msg_first_id[i]),
            last_id=int(stream.msg_last_id[i]),
            prev_id=int(stream.msg_prev_id[i]),
            start=start,
            end=end,
        )

    def apply_delta(self, delta: BookDelta) -> UpdateStatus | None:
        """Apply core records one level at a time; the message is applied at its last level.

        Returns None for levels before the last of a message (they are buffered), and the
        message's status at its last level. Only the last update id travels with a record, so
        sequencers that need Binance's ``U``/``pu`` are refused here: use :meth:`apply_update`.

        Raises
        ------
        UserError
            If the book's sequencer needs ids that records do not carry.
        """
        if self.sequencer.needs_first_and_prev_ids:
            raise UserError(
                f"the {self.sequencer.name} rule needs each message's first and previous update "
                "ids, which BookDelta records do not carry; decode the stream and use apply_update"
            )
        self._pending.append(delta)
        if not delta.is_last:
            return None
        pending, self._pending = self._pending, []
        sides = np.array([0 if d.side is BookSide.BID else 1 for d in pending], dtype=np.int8)
        prices = np.array([float(d.price) for d in pending], dtype=np.float64)
        sizes = np.array([float(d.size) for d in pending], dtype=np.float64)
        if pending[0].is_snapshot:
            return self.apply_snapshot(sides, prices, sizes, ts=delta.ts, last_id=delta.sequence)
        return self.apply_update(
            sides, prices, sizes, ts=delta.ts, first_id=delta.sequence, last_id=delta.sequence
        )

    def invalidate(self, reason: str) -> None:
        """Mark the book as needing a resync (e.g. the connection dropped)."""
        self._fail(reason)

    # ----------------------------------------------------------------------------- reading

    @property
    def bid_count(self) -> int:
        """Number of bid levels."""
        return int(self._n[0])

    @property
    def ask_count(self) -> int:
        """Number of ask levels."""
        return int(self._n[1])

    def best_bid(self) -> float:
        """Best bid price, NaN when there are no bids."""
        n: int = self._n.item(0)
        return self._bp.item(n - 1) if n else float("nan")  # type: ignore[no-any-return]

    def best_ask(self) -> float:
        """Best ask price, NaN when there are no asks."""
        n: int = self._n.item(1)
        return self._ap.item(n - 1) if n else float("nan")  # type: ignore[no-any-return]

    def best_bid_size(self) -> float:
        """Size at the best bid, 0.0 when there are no bids."""
        n: int = self._n.item(0)
        return self._bs.item(n - 1) if n else 0.0  # type: ignore[no-any-return]

    def best_ask_size(self) -> float:
        """Size at the best ask, 0.0 when there are no asks."""
        n: int = self._n.item(1)
        return self._as.item(n - 1) if n else 0.0  # type: ignore[no-any-return]

    def mid(self) -> float:
        """Midpoint of the best bid and ask (NaN if a side is empty)."""
        return 0.5 * (self.best_bid() + self.best_ask())

    def spread(self) -> float:
        """Best ask minus best bid (NaN if a side is empty)."""
        return self.best_ask() - self.best_bid()

    def top(self, k: int) -> TopLevels:
        """Return the best ``k`` levels per side, best first, as views (fewer on a thin side)."""
        cap = self._cap
        b0 = cap - self._n.item(0)
        a0 = cap - self._n.item(1)
        return TopLevels(
            self._bp_rev[b0 : b0 + k],
            self._bs_rev[b0 : b0 + k],
            self._ap_rev[a0 : a0 + k],
            self._as_rev[a0 : a0 + k],
        )

    def bids(self) -> tuple[np.ndarray, np.ndarray]:
        """All bid prices and sizes, best (highest) first, as views."""
        b0 = self._cap - self._n.item(0)
        return self._bp_rev[b0:], self._bs_rev[b0:]

    def asks(self) -> tuple[np.ndarray, np.ndarray]:
        """All ask prices and sizes, best (lowest) first, as views."""
        a0 = self._cap - self._n.item(1)
        return self._ap_rev[a0:], self._as_rev[a0:]

    def side_levels(self, side: BookSide) -> tuple[np.ndarray, np.ndarray]:
        """Prices and sizes of one side, best first."""
        return self.bids() if side is BookSide.BID else self.asks()

    def size_at(self, side: BookSide, price: float) -> float:
        """Size resting at ``price`` (0.0 if no level there)."""
        s = BID if side is BookSide.BID else ASK
        return float(_ladder.size_at(self._px, self._sz, self._n, s, float(price)))

    def depth_within_bps(self, bps: float) -> tuple[float, float]:
        """Bid and ask size within ``bps`` bps of the mid (NaN if a side is empty)."""
        mid = self.mid()
        if math.isnan(mid):
            return float("nan"), float("nan")
        band = mid * bps * 1e-4
        bid, _ = _ladder.depth_to_price(self._px, self._sz, self._n, BID, mid - band)
        ask, _ = _ladder.depth_to_price(self._px, self._sz, self._n, ASK, mid + band)
        return bid, ask

    def notional_within_bps(self, bps: float) -> tuple[float, float]:
        """Bid and ask notional (price x size) within ``bps`` basis points of the mid."""
        mid = self.mid()
        if math.isnan(mid):
            return float("nan"), float("nan")
        band = mid * bps * 1e-4
        _, bid = _ladder.depth_to_price(self._px, self._sz, self._n, BID, mid - band)
        _, ask = _ladder.depth_to_price(self._px, self._sz, self._n, ASK, mid + band)
        return bid, ask

    def cumulative_depth(
        self, side: BookSide, k: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Prices and running size from the touch outwards, best ``k`` levels (new arrays)."""
        prices, sizes = self.side_levels(side)
        if k is not None:
            prices, sizes = prices[:k], sizes[:k]
        return prices.copy(), np.cumsum(sizes)

    def is_stale(self, now_ms: int) -> bool:
        """Tell whether no message arrived within ``max_age_ms`` before ``now_ms``.

        A book without a snapshot is stale; a book without ``max_age_ms`` is stale only then.
        """
        if self.needs_resync:
            return True
        return self.max_age_ms is not None and now_ms - self.ts > self.max_age_ms

    def to_dict(self) -> dict[str, dict[float, float]]:
        """The book as ``{"bids": {price: size}, "asks": {...}}`` (for tests and debugging)."""
        bp, bs = self.bids()
        ap, as_ = self.asks()
        return {
            "bids": dict(zip(bp.tolist(), bs.tolist(), strict=True)),
            "asks": dict(zip(ap.tolist(), as_.tolist(), strict=True)),
        }


def replay(
    stream: DecodedBookStream, book: OrderBook | None = None
) -> tuple[OrderBook, list[UpdateStatus]]:
    """Apply every message of ``stream`` in order; return the book and each message's status."""
    target = book if book is not None else OrderBook(stream.symbol)
    statuses = [target.apply_message(stream, i) for i in range(stream.message_count)]
    return target, statuses
