"""Keep a local L2 book equal to the exchange's: a REST snapshot plus buffered diffs, rebuilt on
every gap, crossed book or reconnect.

Binance's procedure (``web-socket-streams.md``), with the update-id rules of
:mod:`tradewind.book.sequencing`:

1. Diffs are buffered from the moment the stream is subscribed.
2. A snapshot is fetched over REST (through the shared :class:`~.rate_budget.RateBudget`, so many
   books resyncing at once are staggered and cannot earn a 429).
3. Buffered diffs older than the snapshot are dropped; the first one applied must straddle the
   snapshot's ``lastUpdateId`` (spot ``U <= L + 1 <= u``, USDT-M ``U <= L <= u`` or ``pu == L``);
   when the snapshot is older than every buffered diff, a newer snapshot is fetched.
4. Every later diff must follow the previous one (spot ``U == u + 1``, USDT-M ``pu == u``).

A gap, a crossed book after a diff, or a lost connection marks the book *resync needed*: diffs
are buffered again and a new snapshot is fetched. No :class:`BookUpdated` is emitted while the
book is out of sync, so no consumer ever sees a broken book.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import numpy as np

from tradewind.book.book import OrderBook, UpdateStatus
from tradewind.book.sequencing import BinanceFuturesSequencer, BinanceSpotSequencer
from tradewind.connectors.rate_budget import RateBudget
from tradewind.core.market_events import BookUpdated

_log = logging.getLogger(__name__)

SnapshotFetch = Callable[[], Awaitable[dict[str, Any]]]
"""Returns Binance's raw depth answer: ``lastUpdateId``, ``bids``, ``asks`` (and ``E`` on USDT-M)."""

_MAX_BUFFER = 10_000


def snapshot_weight(limit: int) -> int:
    """Return Binance's request weight of a depth snapshot of ``limit`` levels."""
    for top, weight in ((100, 5), (500, 25), (1000, 50)):
        if limit <= top:
            return weight
    return 250


def _levels(rows: list[list[str]], side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(rows)
    sides = np.full(n, side, dtype=np.int8)
    prices = np.fromiter((float(r[0]) for r in rows), dtype=np.float64, count=n)
    sizes = np.fromiter((float(r[1]) for r in rows), dtype=np.float64, count=n)
    return sides, prices, sizes


def _message_levels(msg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    bs, bp, bz = _levels(msg.get("b", []), 0)
    as_, ap, az = _levels(msg.get("a", []), 1)
    return np.concatenate((bs, as_)), np.concatenate((bp, ap)), np.concatenate((bz, az))


class BookSync:
    """One symbol's local book, kept in sync with the exchange.

    Parameters
    ----------
    symbol
        Unified symbol (for events and messages).
    futures
        USDT-M rules (``pu``) instead of spot's.
    fetch_snapshot
        Fetches the REST snapshot.
    budget
        The shared weight budget; ``weight`` is spent per snapshot.
    emit
        Receives each :class:`BookUpdated`.
    on_resync
        Called with the reason each time a resync starts (not for the initial snapshot).
    clock
        This machine's time in ms (the receive time of events emitted by a resync).
    weight
        Request weight of one snapshot.
    """

    def __init__(
        self,
        symbol: str,
        *,
        futures: bool,
        fetch_snapshot: SnapshotFetch,
        budget: RateBudget,
        emit: Callable[[BookUpdated], None],
        on_resync: Callable[[str], None],
        clock: Callable[[], int],
        weight: int = 50,
    ) -> None:
        self.symbol = symbol
        self.futures = futures
        self._fetch = fetch_snapshot
        self._budget = budget
        self._emit = emit
        self._on_resync = on_resync
        self._clock = clock
        self.weight = weight
        sequencer = BinanceFuturesSequencer() if futures else BinanceSpotSequencer()
        self.book = OrderBook(symbol, sequencer=sequencer)
        self._buffer: list[tuple[dict[str, Any], int]] = []
        self._task: asyncio.Task[None] | None = None
        self.resyncs = 0
        self.snapshots = 0
        self.last_resync_reason: str | None = None

    @property
    def in_sync(self) -> bool:
        """Tell whether the book reflects the exchange (no resync pending)."""
        return not self.book.needs_resync and self._task is None

    def on_diff(self, msg: dict[str, Any], received_ms: int) -> None:
        """Take one raw ``depthUpdate``: apply it, or buffer it while a snapshot is coming."""
        if self._task is not None or self.book.needs_resync:
            self._buffer.append((msg, received_ms))
            if len(self._buffer) > _MAX_BUFFER:
                # A snapshot that never comes must not eat the memory: keep the newest diffs.
                del self._buffer[: len(self._buffer) - _MAX_BUFFER]
            if self._task is None:
                self.resync(self.book.resync_reason or "no snapshot yet")
            return
        status = self._apply(msg)
        if status is UpdateStatus.APPLIED:
            self._emit_update(msg, received_ms, resynced=False)
        elif status is UpdateStatus.RESYNC_NEEDED:
            self._buffer.append((msg, received_ms))
            self.resync(self.book.resync_reason or "resync needed")

    def invalidate(self, reason: str) -> None:
        """Mark the book out of sync (the connection dropped); diffs buffer until a snapshot."""
        self.book.invalidate(reason)
        self._buffer.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def resync(self, reason: str) -> None:
        """Start rebuilding the book from a fresh snapshot (once; later calls while it runs are
        no-ops)."""
        if self._task is not None:
            return
        self.book.invalidate(reason)
        if self.snapshots:
            # The first snapshot is the initial sync, not a resync.
            self.resyncs += 1
            self.last_resync_reason = reason
            self._on_resync(reason)
        self._task = asyncio.get_running_loop().create_task(
            self._rebuild(), name=f"book-resync {self.symbol}"
        )

    async def close(self) -> None:
        """Stop a resync in progress."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _rebuild(self) -> None:
        try:
            while True:
                await self._budget.acquire(self.weight)
                try:
                    snap = await self._fetch()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Transient or not, the book cannot be trusted without a snapshot: retry
                    # through the budget (which paces the retries).
                    _log.warning("%s: depth snapshot failed (%s); retrying", self.symbol, exc)
                    await asyncio.sleep(0.5)
                    continue
                self.snapshots += 1
                if self._install(snap):
                    return
        finally:
            if self._task is asyncio.current_task():
                self._task = None

    def _install(self, snap: dict[str, Any]) -> bool:
        last_id = int(snap["lastUpdateId"])
        buffered = self._buffer
        if buffered and self._first_id(buffered[0][0]) > last_id + 1:
            # The oldest buffered diff starts after the snapshot: diffs between the two are
            # missing, so the snapshot is too old; Binance says fetch again.
            return False
        bs, bp, bz = _levels(snap.get("bids", []), 0)
        as_, ap, az = _levels(snap.get("asks", []), 1)
        ts = int(snap.get("E") or snap.get("T") or self._clock())
        status = self.book.apply_snapshot(
            np.concatenate((bs, as_)),
            np.concatenate((bp, ap)),
            np.concatenate((bz, az)),
            ts=ts,
            last_id=last_id,
        )
        if status is UpdateStatus.RESYNC_NEEDED:
            self.book.invalidate(self.book.resync_reason or "crossed snapshot")
            return False
        self._buffer = []
        received = self._clock()
        for msg, _ in buffered:
            result = self._apply(msg)
            if result is UpdateStatus.RESYNC_NEEDED:
                # The buffer does not chain to this snapshot (a diff was lost while buffering):
                # start over with what is left, on a fresh snapshot.
                self._buffer = [(m, r) for m, r in buffered if self._last_id(m) > last_id]
                self.book.invalidate(self.book.resync_reason or "gap in buffered diffs")
                return False
        self._emit(
            BookUpdated(
                self.symbol,
                self.book.update_id,
                self._best(bid=True),
                self._best(bid=False),
                True,
                int(self.book.ts),
                received,
            )
        )
        return True

    def _apply(self, msg: dict[str, Any]) -> UpdateStatus:
        sides, prices, sizes = _message_levels(msg)
        return self.book.apply_update(
            sides,
            prices,
            sizes,
            ts=int(msg.get("E", 0)),
            first_id=self._first_id(msg),
            last_id=self._last_id(msg),
            prev_id=int(msg.get("pu", -1)),
        )

    @staticmethod
    def _first_id(msg: dict[str, Any]) -> int:
        return int(msg["U"])

    @staticmethod
    def _last_id(msg: dict[str, Any]) -> int:
        return int(msg["u"])

    def current(self, received_ms: int) -> BookUpdated | None:
        """Return the book as it stands as a resynced update (None while it is out of sync): a
        consumer that switches to this book starts from it."""
        if not self.in_sync:
            return None
        return BookUpdated(self.symbol, self.book.update_id, self._best(bid=True),
                           self._best(bid=False), True, int(self.book.ts),
                           received_ms)  # fmt: skip

    def _best(self, *, bid: bool) -> Decimal | None:
        count = self.book.bid_count if bid else self.book.ask_count
        if not count:
            return None
        value = self.book.best_bid() if bid else self.book.best_ask()
        return Decimal(repr(value))

    def _emit_update(self, msg: dict[str, Any], received_ms: int, *, resynced: bool) -> None:
        self._emit(
            BookUpdated(
                self.symbol,
                self.book.update_id,
                self._best(bid=True),
                self._best(bid=False),
                resynced,
                int(msg.get("E", received_ms)),
                received_ms,
            )
        )
