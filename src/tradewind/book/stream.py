"""A recorded depth stream decoded into flat NumPy arrays: the fast path between readers and books.

Readers that decode whole files return a :class:`DecodedBookStream` instead of one object per
level. Levels of all messages sit back to back in three arrays; message ``i`` owns the levels
``msg_start[i]:msg_end[i]``. Sizes are absolute (0 deletes the level), as every supported exchange
sends them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from tradewind.book.tape import QuoteTape
from tradewind.core.errors import DataError
from tradewind.core.records import BookDelta, BookSide

NO_ID = -1


@dataclass(frozen=True, slots=True)
class DecodedBookStream:
    """Depth messages as arrays.

    Attributes
    ----------
    symbol
        Instrument the stream belongs to.
    msg_ts
        ``int64[m]`` exchange timestamp of each message, UTC milliseconds.
    msg_snapshot
        ``bool[m]``: the message replaces the whole book.
    msg_first_id, msg_last_id, msg_prev_id
        ``int64[m]`` update ids (Binance ``U``, ``u``, ``pu``; Bybit ``u`` in first and last).
        :data:`NO_ID` (-1) where the source has none.
    msg_seq
        ``int64[m]`` the exchange's cross-sequence number (Bybit ``seq``), -1 where absent.
    msg_start, msg_end
        ``int64[m]`` level range of each message in the level arrays.
    level_side
        ``int8[n]``: 0 bid, 1 ask.
    level_price, level_size
        ``float64[n]`` price and new absolute size of each level.
    """

    symbol: str
    msg_ts: np.ndarray
    msg_snapshot: np.ndarray
    msg_first_id: np.ndarray
    msg_last_id: np.ndarray
    msg_prev_id: np.ndarray
    msg_seq: np.ndarray
    msg_start: np.ndarray
    msg_end: np.ndarray
    level_side: np.ndarray
    level_price: np.ndarray
    level_size: np.ndarray

    def __post_init__(self) -> None:
        m = len(self.msg_ts)
        for name in ("msg_snapshot", "msg_first_id", "msg_last_id", "msg_prev_id", "msg_seq"):
            if len(getattr(self, name)) != m:
                raise DataError(f"decoded book stream: {name} has {len(getattr(self, name))} rows")
        if len(self.msg_start) != m or len(self.msg_end) != m:
            raise DataError("decoded book stream: message ranges do not match the message count")
        n = len(self.level_price)
        if len(self.level_side) != n or len(self.level_size) != n:
            raise DataError("decoded book stream: level arrays have different lengths")
        if m and (self.msg_end[-1] > n or np.any(self.msg_start > self.msg_end)):
            raise DataError("decoded book stream: a message's level range lies outside the levels")

    @property
    def message_count(self) -> int:
        """Number of exchange messages."""
        return len(self.msg_ts)

    @property
    def level_count(self) -> int:
        """Number of levels over all messages."""
        return len(self.level_price)

    def __len__(self) -> int:
        return len(self.msg_ts)

    def head(self, messages: int) -> DecodedBookStream:
        """Return the first ``messages`` messages (a cheap view, for causality tests)."""
        end = int(self.msg_end[messages - 1]) if messages > 0 else 0
        return DecodedBookStream(
            symbol=self.symbol,
            msg_ts=self.msg_ts[:messages],
            msg_snapshot=self.msg_snapshot[:messages],
            msg_first_id=self.msg_first_id[:messages],
            msg_last_id=self.msg_last_id[:messages],
            msg_prev_id=self.msg_prev_id[:messages],
            msg_seq=self.msg_seq[:messages],
            msg_start=self.msg_start[:messages],
            msg_end=self.msg_end[:messages],
            level_side=self.level_side[:end],
            level_price=self.level_price[:end],
            level_size=self.level_size[:end],
        )

    def to_deltas(self) -> Iterator[BookDelta]:
        """Yield the stream as core records (prices and sizes through their shortest repr)."""
        sides = (BookSide.BID, BookSide.ASK)
        for i in range(self.message_count):
            start, end = int(self.msg_start[i]), int(self.msg_end[i])
            for k in range(start, end):
                yield BookDelta(
                    ts=int(self.msg_ts[i]),
                    symbol=self.symbol,
                    side=sides[int(self.level_side[k])],
                    price=Decimal(repr(float(self.level_price[k]))),
                    size=Decimal(repr(float(self.level_size[k]))),
                    sequence=max(int(self.msg_last_id[i]), 0),
                    is_snapshot=bool(self.msg_snapshot[i]),
                    is_last=k == end - 1,
                )


def stream_from_messages(
    symbol: str,
    messages: list[tuple[int, bool, int, int, int, int, list[tuple[int, float, float]]]],
) -> DecodedBookStream:
    """Build a stream from ``(ts, is_snapshot, first_id, last_id, prev_id, seq, levels)`` tuples.

    ``levels`` holds ``(side, price, size)`` with side 0 for bids and 1 for asks. This is the slow
    path used by readers of small files and by tests.
    """
    m = len(messages)
    total = sum(len(msg[6]) for msg in messages)
    side = np.empty(total, dtype=np.int8)
    price = np.empty(total, dtype=np.float64)
    size = np.empty(total, dtype=np.float64)
    start = np.empty(m, dtype=np.int64)
    end = np.empty(m, dtype=np.int64)
    pos = 0
    for i, msg in enumerate(messages):
        start[i] = pos
        for s, p, q in msg[6]:
            side[pos] = s
            price[pos] = p
            size[pos] = q
            pos += 1
        end[i] = pos
    return DecodedBookStream(
        symbol=symbol,
        msg_ts=np.array([msg[0] for msg in messages], dtype=np.int64),
        msg_snapshot=np.array([msg[1] for msg in messages], dtype=np.bool_),
        msg_first_id=np.array([msg[2] for msg in messages], dtype=np.int64),
        msg_last_id=np.array([msg[3] for msg in messages], dtype=np.int64),
        msg_prev_id=np.array([msg[4] for msg in messages], dtype=np.int64),
        msg_seq=np.array([msg[5] for msg in messages], dtype=np.int64),
        msg_start=start,
        msg_end=end,
        level_side=side,
        level_price=price,
        level_size=size,
    )


def stream_from_quotes(tape: QuoteTape) -> DecodedBookStream:
    """Top-of-book quotes as a book stream: each quote is a one-level-a-side snapshot.

    Vectorised: quote ``k`` becomes message ``k`` with levels ``2k`` (bid) and ``2k + 1`` (ask).
    """
    m = len(tape)
    ids = np.full(m, NO_ID, dtype=np.int64)
    side = np.tile(np.array([0, 1], dtype=np.int8), m)
    price = np.empty(2 * m, dtype=np.float64)
    size = np.empty(2 * m, dtype=np.float64)
    price[0::2], price[1::2] = tape.bid, tape.ask
    size[0::2], size[1::2] = tape.bid_size, tape.ask_size
    start = np.arange(0, 2 * m, 2, dtype=np.int64)
    return DecodedBookStream(
        symbol=tape.symbol,
        msg_ts=np.asarray(tape.ts, dtype=np.int64),
        msg_snapshot=np.ones(m, dtype=np.bool_),
        msg_first_id=ids,
        msg_last_id=ids.copy(),
        msg_prev_id=ids.copy(),
        msg_seq=ids.copy(),
        msg_start=start,
        msg_end=start + 2,
        level_side=side,
        level_price=price,
        level_size=size,
    )
