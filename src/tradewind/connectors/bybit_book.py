"""Keep a local L2 book equal to Bybit's from its v5 ``orderbook.{50|200}.{SYM}`` stream.

Bybit's procedure differs from Binance's (:mod:`.book_sync`): the stream itself carries the
snapshot. On subscribe the first message is a ``snapshot`` of the top levels; every later one is a
``delta`` (absolute sizes, size ``"0"`` removes the level) whose update id ``u`` is one more than
the previous message's (:class:`~tradewind.book.sequencing.BybitSequencer`). A ``snapshot`` in
mid-stream (Bybit's service restart, ``u`` = 1) replaces the book whatever its ids.

A gap in ``u`` (a delta was lost), a crossed book after a delta, or a lost connection marks the
book *resync needed*, and the resync asks the stream for a new snapshot: the topic is
unsubscribed and subscribed again on the same connection (``resubscribe``), whose first message
is a fresh snapshot. Deltas that arrive before it (the old subscription's) are dropped: the
snapshot supersedes them. No :class:`~tradewind.core.market_events.BookUpdated` is emitted while
the book is out of sync.
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
from tradewind.book.sequencing import BybitSequencer
from tradewind.core.market_events import BookUpdated

_log = logging.getLogger(__name__)


def book_depth(levels: int) -> int:
    """Return the Bybit ``orderbook`` depth that serves ``levels`` levels (50 or 200: the depths
    both spot and linear markets stream)."""
    return 50 if levels <= 50 else 200


def _arrays(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = [(0, r) for r in data.get("b", [])] + [(1, r) for r in data.get("a", [])]
    n = len(rows)
    sides = np.fromiter((side for side, _ in rows), dtype=np.int8, count=n)
    prices = np.fromiter((float(r[0]) for _, r in rows), dtype=np.float64, count=n)
    sizes = np.fromiter((float(r[1]) for _, r in rows), dtype=np.float64, count=n)
    return sides, prices, sizes


class BybitBookSync:
    """One symbol's local book from Bybit's ``orderbook`` stream (see the module docstring).

    Parameters
    ----------
    symbol
        Unified symbol (for events).
    resubscribe
        Unsubscribes and subscribes the symbol's book topic again (a fresh snapshot follows).
    emit
        Receives each :class:`BookUpdated`.
    on_resync
        Called with the reason each time a resync starts (not for the first snapshot).
    clock
        This machine's time in ms.
    """

    def __init__(
        self,
        symbol: str,
        *,
        resubscribe: Callable[[], Awaitable[None]],
        emit: Callable[[BookUpdated], None],
        on_resync: Callable[[str], None],
        clock: Callable[[], int],
    ) -> None:
        self.symbol = symbol
        self._resubscribe = resubscribe
        self._emit = emit
        self._on_resync = on_resync
        self._clock = clock
        self.book = OrderBook(symbol, sequencer=BybitSequencer())
        self._awaiting_snapshot = True
        self._task: asyncio.Task[None] | None = None
        self.resyncs = 0
        self.snapshots = 0
        self.last_resync_reason: str | None = None

    @property
    def in_sync(self) -> bool:
        """Tell whether the book reflects the exchange (no resync pending)."""
        return not self._awaiting_snapshot and not self.book.needs_resync

    def on_diff(self, msg: dict[str, Any], received_ms: int) -> None:
        """Take one raw ``orderbook`` message: a snapshot replaces the book, a delta is applied
        when it follows the last one (a gap starts a resync)."""
        data = msg["data"]
        update_id = int(data["u"])
        exchange_ms = int(msg.get("cts") or msg.get("ts") or received_ms)
        sides, prices, sizes = _arrays(data)
        if msg.get("type") == "snapshot":
            status = self.book.apply_snapshot(sides, prices, sizes, ts=exchange_ms,
                                              last_id=update_id)  # fmt: skip
            self.snapshots += 1
            if status is UpdateStatus.RESYNC_NEEDED:
                self.resync(self.book.resync_reason or "crossed snapshot")
                return
            self._awaiting_snapshot = False
            self._update(exchange_ms, received_ms, resynced=True)
            return
        if self._awaiting_snapshot:
            return  # the snapshot on its way supersedes it
        status = self.book.apply_update(sides, prices, sizes, ts=exchange_ms,
                                        first_id=update_id, last_id=update_id)  # fmt: skip
        if status is UpdateStatus.APPLIED:
            self._update(exchange_ms, received_ms, resynced=False)
        elif status is UpdateStatus.RESYNC_NEEDED:
            self.resync(self.book.resync_reason or "resync needed")

    def invalidate(self, reason: str) -> None:
        """Mark the book out of sync (the connection dropped: its resubscription brings the
        next snapshot)."""
        self.book.invalidate(reason)
        self._awaiting_snapshot = True

    def resync(self, reason: str) -> None:
        """Ask the stream for a fresh snapshot (once; later calls while one is awaited are
        no-ops)."""
        if self._awaiting_snapshot and self._task is not None:
            return
        self.book.invalidate(reason)
        self._awaiting_snapshot = True
        self.resyncs += 1
        self.last_resync_reason = reason
        self._on_resync(reason)
        self._task = asyncio.get_running_loop().create_task(
            self._ask(), name=f"book-resync {self.symbol}"
        )

    async def _ask(self) -> None:
        try:
            await self._resubscribe()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The connection is going down: its reconnect subscribes afresh, with a snapshot.
            _log.warning("%s: could not resubscribe the book (%s)", self.symbol, exc)
        finally:
            if self._task is asyncio.current_task():
                self._task = None

    async def close(self) -> None:
        """Stop a resync in progress."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def current(self, received_ms: int) -> BookUpdated | None:
        """Return the book as it stands as a resynced update (None while it is out of sync)."""
        if not self.in_sync:
            return None
        return self._event(int(self.book.ts), received_ms, resynced=True)

    def _update(self, exchange_ms: int, received_ms: int, *, resynced: bool) -> None:
        self._emit(self._event(exchange_ms, received_ms, resynced=resynced))

    def _event(self, exchange_ms: int, received_ms: int, *, resynced: bool) -> BookUpdated:
        bid = Decimal(repr(self.book.best_bid())) if self.book.bid_count else None
        ask = Decimal(repr(self.book.best_ask())) if self.book.ask_count else None
        return BookUpdated(self.symbol, self.book.update_id, bid, ask, resynced, exchange_ms,
                           received_ms)  # fmt: skip
