"""The ``book`` fill model of a paper session: the live L2 book fed to the paper venue, and
recorded so the drift report replays the same book.

Market orders of a session whose fill model walks the book (``FillModel.book_walk``) fill at the
VWAP of walking the venue's copy of the symbol's book as it stood when the order reached the
venue. That copy is fed here: each time the feed's local book changes (a ``BookUpdated``), its
top ``levels`` levels a side become a one-message snapshot stamped with the update's exchange
time and queued with :meth:`~tradewind.session.driver.PaperDriver.add_book`, which applies it in
the backtest runner's order (and passes it to ``on_book``: a symbol's book reaches the
strategies through this path alone).

Why a snapshot of the top levels and not the exchange's diffs: the feed's book is rebuilt from a
REST snapshot on every gap or reconnect, so the diffs alone do not make a book; a snapshot is
whole by itself, and replaying the recorded snapshots rebuilds exactly the book the venue walked.
A change below the top levels is not fed (the walk could not reach it), and a book that did not
change at the top is not fed twice.

Every snapshot fed is recorded (``recording/books``); :func:`recorded_books` reads them back as
the :class:`~tradewind.book.stream.DecodedBookStream` a backtest takes (``books=``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tradewind.book.book import OrderBook
from tradewind.book.stream import NO_ID, DecodedBookStream
from tradewind.core.market_events import BookUpdated
from tradewind.data.session_recording import SessionRecorder, read_table
from tradewind.session.driver import PaperDriver

__all__ = ["BOOK_LEVELS", "BookTape", "recorded_books", "snapshot_stream"]

BOOK_LEVELS = 50
"""Levels a side fed to the venue: deeper than any paper order walks on a liquid market (an
order beyond them trades its rest at the last visible level, as in a backtest)."""


def snapshot_stream(
    symbol: str, ts_ms: int, sides: np.ndarray, prices: np.ndarray, sizes: np.ndarray
) -> DecodedBookStream:
    """A decoded stream of one snapshot message of ``symbol`` at ``ts_ms``."""
    none = np.array([NO_ID], dtype=np.int64)
    return DecodedBookStream(
        symbol=symbol, msg_ts=np.array([ts_ms], dtype=np.int64), msg_snapshot=np.array([True]),
        msg_first_id=none, msg_last_id=none.copy(), msg_prev_id=none.copy(), msg_seq=none.copy(),
        msg_start=np.array([0], dtype=np.int64), msg_end=np.array([len(prices)], dtype=np.int64),
        level_side=sides.astype(np.int8), level_price=prices.astype(np.float64),
        level_size=sizes.astype(np.float64),
    )  # fmt: skip


class BookTape:
    """Feeds each symbol's live book to ``driver`` and records what it fed.

    Parameters
    ----------
    driver
        The paper driver whose venue walks the book.
    recorder
        The session's recorder (the ``books`` table).
    levels
        Levels a side fed (see :data:`BOOK_LEVELS`).
    """

    def __init__(
        self, driver: PaperDriver, recorder: SessionRecorder, *, levels: int = BOOK_LEVELS
    ) -> None:
        self.driver = driver
        self.recorder = recorder
        self.levels = levels
        self.fed = 0
        """Snapshots handed to the driver."""
        self._last: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}

    def on_update(self, event: BookUpdated, book: OrderBook) -> None:
        """The feed's ``book`` of ``event.symbol`` changed: feed its top levels (unless they are
        the ones fed last) at the update's exchange time."""
        symbol = event.symbol
        if symbol not in self.driver.bars or book.needs_resync:
            return
        top = book.top(self.levels)
        prices = np.concatenate((top.bid_prices, top.ask_prices))
        sizes = np.concatenate((top.bid_sizes, top.ask_sizes))
        last = self._last.get(symbol)
        if last is not None and np.array_equal(last[1], prices) and np.array_equal(last[2], sizes):
            return
        sides = np.concatenate((np.zeros(len(top.bid_prices), dtype=np.int8),
                                np.ones(len(top.ask_prices), dtype=np.int8)))  # fmt: skip
        # The exchange's times of one symbol's book run forward; a resync's snapshot may carry
        # an earlier one, which the driver would refuse: it is dated at the last fed instead.
        ts = max(int(event.exchange_ms), last[0] if last is not None else 0)
        self._last[symbol] = (ts, prices, sizes)
        self.driver.add_book(symbol, snapshot_stream(symbol, ts, sides, prices, sizes), 0)
        self.recorder.book_levels(symbol, ts_ms=ts, received_ms=int(event.received_ms),
                                  message=self.fed, levels=(sides, prices, sizes))  # fmt: skip
        self.fed += 1


def recorded_books(run_dir: Path) -> dict[str, DecodedBookStream]:
    """The book snapshots a session fed its venue, per symbol, as backtest book streams (empty
    when it recorded none)."""
    table = read_table(Path(run_dir), "books")
    out: dict[str, DecodedBookStream] = {}
    for symbol, group in table.groupby("symbol", sort=False):
        rows = group.sort_values("message", kind="stable")
        message = rows["message"].to_numpy()
        starts = np.flatnonzero(np.r_[True, message[1:] != message[:-1]])
        ends = np.r_[starts[1:], len(rows)]
        ts = pd.DatetimeIndex(rows["date"]).as_unit("ms").asi8[starts].astype(np.int64)
        m = len(starts)
        none = np.full(m, NO_ID, dtype=np.int64)
        out[str(symbol)] = DecodedBookStream(
            symbol=str(symbol), msg_ts=ts, msg_snapshot=np.ones(m, dtype=bool),
            msg_first_id=none, msg_last_id=none.copy(), msg_prev_id=none.copy(),
            msg_seq=none.copy(), msg_start=starts.astype(np.int64), msg_end=ends.astype(np.int64),
            level_side=rows["side"].to_numpy(dtype=np.int8),
            level_price=rows["price"].to_numpy(dtype=np.float64),
            level_size=rows["size"].to_numpy(dtype=np.float64),
        )  # fmt: skip
    return out
