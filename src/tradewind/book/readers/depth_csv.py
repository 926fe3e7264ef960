"""Depth recordings in CSV: Binance snapshot/diff files and tardis.dev ``incremental_book_L2``.

Binance layout (one row per level): ``symbol, timestamp (ms), first_update_id, last_update_id,
side (b/a), update_type (snap/set), price, qty, pu``. Rows of one message share their ids and
update type. ``pu`` is the previous event's ``u`` (USDT-M futures), -1 or blank where absent.

tardis layout: ``exchange, symbol, timestamp (us), local_timestamp (us), is_snapshot, side
(bid/ask), price, amount``. Rows of one message share their timestamps and snapshot flag; a run of
snapshot rows after deltas replaces the book. tardis has no update ids.

Numbers are parsed with Python's ``float()``, so they equal what every other reader gets.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from tradewind.book.readers._files import exact_floats, require_columns
from tradewind.book.stream import NO_ID, DecodedBookStream
from tradewind.core.errors import DataError
from tradewind.core.records import BookDelta, BookSide

BINANCE_COLUMNS = [
    "symbol", "timestamp", "first_update_id", "last_update_id", "side", "update_type", "price",
    "qty", "pu",
]  # fmt: skip
TARDIS_COLUMNS = [
    "symbol",
    "timestamp",
    "local_timestamp",
    "is_snapshot",
    "side",
    "price",
    "amount",
]


def _read_csv(path: str | Path, columns: list[str]) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"recorded file not found: {p}")
    try:
        # numbers are read as text and parsed by float(), which rounds correctly (pandas' own parser
        # need not), so a price equals the one any other reader of the same text gets
        frame = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{p}: cannot read CSV: {exc}") from exc
    require_columns(p, columns, list(frame.columns))
    if frame.empty:
        raise DataError(f"{p}: no rows")
    return frame


def _boundaries(keys: list[np.ndarray]) -> np.ndarray:
    # Row indices where a new message starts: any key differs from the row before.
    n = len(keys[0])
    change = np.zeros(n, dtype=np.bool_)
    change[0] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    return np.flatnonzero(change)


def _side_codes(path: str | Path, raw: pd.Series, bid: str, ask: str) -> np.ndarray:
    text = raw.astype(str).str.lower().to_numpy()
    codes = np.where(text == bid, 0, np.where(text == ask, 1, -1)).astype(np.int8)
    bad = np.flatnonzero(codes < 0)
    if len(bad):
        raise DataError(
            f"{path}: row {bad[0] + 2}: side {text[bad[0]]!r} is neither {bid!r} nor {ask!r}"
        )
    return codes


def _numbers(path: str | Path, frame: pd.DataFrame, column: str) -> np.ndarray:
    return exact_floats(path, frame[column], column)


def _integers(path: str | Path, frame: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy())
    if len(bad):
        raise DataError(
            f"{path}: row {bad[0] + 2}: {column} {frame[column].iloc[bad[0]]!r} is not an integer"
        )
    return values.to_numpy(dtype=np.int64)


def _build(
    symbol: str,
    starts: np.ndarray,
    n: int,
    ts: np.ndarray,
    snapshot: np.ndarray,
    first_id: np.ndarray,
    last_id: np.ndarray,
    prev_id: np.ndarray,
    side: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
) -> DecodedBookStream:
    ends = np.append(starts[1:], n)
    return DecodedBookStream(
        symbol=symbol,
        msg_ts=ts[starts].astype(np.int64),
        msg_snapshot=snapshot[starts].astype(np.bool_),
        msg_first_id=first_id[starts].astype(np.int64),
        msg_last_id=last_id[starts].astype(np.int64),
        msg_prev_id=prev_id[starts].astype(np.int64),
        msg_seq=np.full(len(starts), NO_ID, dtype=np.int64),
        msg_start=starts.astype(np.int64),
        msg_end=ends.astype(np.int64),
        level_side=side,
        level_price=price,
        level_size=size,
    )


def decode_binance_depth_csv(*paths: str | Path) -> DecodedBookStream:
    """Decode Binance depth CSV files (snapshot and/or diffs), in the order given, into arrays.

    Returns
    -------
    DecodedBookStream
        ``msg_first_id``/``msg_last_id``/``msg_prev_id`` hold ``U``/``u``/``pu`` (-1 when blank);
        rows with ``update_type == "snap"`` form snapshot messages.

    Raises
    ------
    DataError
        On a missing file or column, an unknown side or update type, or a non-numeric value.
    """
    if not paths:
        raise DataError("decode_binance_depth_csv needs at least one file")
    parts = []
    for path in paths:
        frame = _read_csv(path, BINANCE_COLUMNS)
        kinds = frame["update_type"].astype(str).str.lower().to_numpy()
        bad = np.flatnonzero((kinds != "snap") & (kinds != "set"))
        if len(bad):
            raise DataError(
                f"{path}: row {bad[0] + 2}: update_type {kinds[bad[0]]!r} is not 'snap' or 'set'"
            )
        pu = pd.to_numeric(frame["pu"], errors="coerce").fillna(NO_ID).to_numpy(dtype=np.int64)
        ids = {
            c: _integers(path, frame, c) for c in ("timestamp", "first_update_id", "last_update_id")
        }
        parts.append(
            (
                str(frame["symbol"].iloc[0]),
                ids["timestamp"],
                kinds == "snap",
                ids["first_update_id"],
                ids["last_update_id"],
                pu,
                _side_codes(path, frame["side"], "b", "a"),
                _numbers(path, frame, "price"),
                _numbers(path, frame, "qty"),
            )
        )
    symbol = parts[0][0]
    ts, snap, first, last, pu, side, price, size = (
        np.concatenate([part[k] for part in parts]) for k in range(1, 9)
    )
    # A message is a run of rows with the same ids, kind and time. A snapshot row's pu is -1 on the
    # first row and blank afterwards in these files (both read as -1), so pu is not part of the key.
    starts = _boundaries([ts, snap, first, last])
    return _build(symbol, starts, len(ts), ts, snap, first, last, pu, side, price, size)


def decode_tardis_l2_csv(path: str | Path) -> DecodedBookStream:
    """Decode a tardis.dev ``incremental_book_L2`` CSV into arrays (timestamps to UTC ms).

    Raises
    ------
    DataError
        On a missing file or column, an unknown side, or a non-numeric value.
    """
    frame = _read_csv(path, TARDIS_COLUMNS)
    snap_text = frame["is_snapshot"].astype(str).str.lower().to_numpy()
    snap = snap_text == "true"
    bad = np.flatnonzero(~snap & (snap_text != "false"))
    if len(bad):
        raise DataError(
            f"{path}: row {bad[0] + 2}: is_snapshot {snap_text[bad[0]]!r} is not true/false"
        )
    ts_us = _integers(path, frame, "timestamp")
    local_us = _integers(path, frame, "local_timestamp")
    starts = _boundaries([ts_us, local_us, snap])
    none = np.full(len(frame), NO_ID, dtype=np.int64)
    return _build(
        str(frame["symbol"].iloc[0]),
        starts,
        len(frame),
        ts_us // 1000,
        snap,
        none,
        none,
        none,
        _side_codes(path, frame["side"], "bid", "ask"),
        _numbers(path, frame, "price"),
        _numbers(path, frame, "amount"),
    )


def _records(
    path: str | Path, rows: Iterator[tuple[int, str, BookSide, str, str, int, bool, bool]]
) -> Iterator[BookDelta]:
    for row_number, (ts, symbol, side, price, size, seq, snap, last) in enumerate(rows, start=2):
        try:
            level = BookDelta(
                ts=ts,
                symbol=symbol,
                side=side,
                price=Decimal(price),
                size=Decimal(size),
                sequence=seq,
                is_snapshot=snap,
                is_last=last,
            )
        except InvalidOperation:
            raise DataError(
                f"{path}: row {row_number}: price {price!r} or size {size!r} is not a number"
            ) from None
        yield level


def read_binance_depth_csv(path: str | Path) -> Iterator[BookDelta]:
    """Yield a Binance depth CSV as :class:`BookDelta` records (``sequence`` = ``u``)."""
    stream = decode_binance_depth_csv(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    last_rows = set((stream.msg_end - 1).tolist())
    sides = {"b": BookSide.BID, "a": BookSide.ASK}
    rows = (
        (int(r.timestamp), r.symbol, sides[r.side.lower()], r.price, r.qty, int(r.last_update_id),
         r.update_type.lower() == "snap", i in last_rows)
        for i, r in enumerate(raw.itertuples(index=False))
    )  # fmt: skip
    return _records(path, rows)


def read_tardis_l2_csv(path: str | Path) -> Iterator[BookDelta]:
    """Yield a tardis ``incremental_book_L2`` CSV as :class:`BookDelta` records (``sequence`` 0)."""
    stream = decode_tardis_l2_csv(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    last_rows = set((stream.msg_end - 1).tolist())
    sides = {"bid": BookSide.BID, "ask": BookSide.ASK}
    rows = (
        (int(r.timestamp) // 1000, r.symbol, sides[r.side.lower()], r.price, r.amount, 0,
         r.is_snapshot.lower() == "true", i in last_rows)
        for i, r in enumerate(raw.itertuples(index=False))
    )  # fmt: skip
    return _records(path, rows)
