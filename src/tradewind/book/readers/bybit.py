"""Bybit v5 ``orderbook.N`` WebSocket recordings: one JSON message per line, optionally zipped.

Each line is ``{"topic", "type": "snapshot"|"delta", "ts", "data": {"s", "b", "a", "u", "seq"},
"cts"}`` with levels as ``["price", "size"]`` strings; size "0" deletes a level.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import orjson

from tradewind.book.readers import _bybit_scan
from tradewind.book.readers._files import read_bytes
from tradewind.book.stream import DecodedBookStream
from tradewind.core.errors import DataError
from tradewind.core.records import BookDelta, BookSide


def _symbol_of(raw: bytes) -> str:
    # The symbol is the first "s" key of the stream; a byte search avoids parsing a 20 kB line.
    key = b'"s":"'
    at = raw.find(key)
    if at < 0:
        return ""
    end = raw.find(b'"', at + len(key))
    return raw[at + len(key) : end].decode("utf-8", "replace") if end > 0 else ""


def decode_bybit_orderbook(
    source: str | Path | bytes, *, symbol: str | None = None
) -> DecodedBookStream:
    """Decode a Bybit order-book recording into arrays (the fast path).

    Parameters
    ----------
    source
        Path to the ``.data``/``.jsonl`` file or a ``.zip`` holding it, or the raw bytes.
    symbol
        Instrument name; read from the first message when omitted.

    Returns
    -------
    DecodedBookStream
        One message per line; Bybit's ``u`` is in ``msg_first_id`` and ``msg_last_id``, ``seq``
        in ``msg_seq``; ``msg_prev_id`` is -1.

    Raises
    ------
    DataError
        On a line that is not a Bybit order-book message, naming the line.
    """
    origin = "bytes" if isinstance(source, bytes) else str(source)
    raw = source if isinstance(source, bytes) else read_bytes(source)
    buf = np.frombuffer(raw, dtype=np.uint8)
    max_msgs = int(np.count_nonzero(buf == _bybit_scan.NEWLINE)) + 1
    max_levels = int(np.count_nonzero(buf == _bybit_scan.LBRACK)) + 1
    msg_ts = np.empty(max_msgs, dtype=np.int64)
    msg_snapshot = np.empty(max_msgs, dtype=np.bool_)
    msg_id = np.empty(max_msgs, dtype=np.int64)
    msg_seq = np.empty(max_msgs, dtype=np.int64)
    msg_start = np.empty(max_msgs, dtype=np.int64)
    msg_end = np.empty(max_msgs, dtype=np.int64)
    level_side = np.empty(max_levels, dtype=np.int8)
    level_price = np.empty(max_levels, dtype=np.float64)
    level_size = np.empty(max_levels, dtype=np.float64)
    slow = np.empty((2 * max_levels, 4), dtype=np.int64)
    m, lv, ns, err = _bybit_scan.scan(
        buf, msg_ts, msg_snapshot, msg_id, msg_seq, msg_start, msg_end,
        level_side, level_price, level_size, slow, _bybit_scan._POW10,
    )  # fmt: skip
    if err >= 0:
        line = raw.count(b"\n", 0, err) + 1
        raise DataError(
            f"{origin}: line {line} is not a Bybit order-book message "
            '(expected type, ts, data.u and b/a arrays of ["price", "size"] strings)'
        )
    for row in range(ns):
        level, field, a, b = (int(x) for x in slow[row])
        text = raw[a:b]
        try:
            value = float(text)
        except ValueError:
            line = raw.count(b"\n", 0, a) + 1
            raise DataError(f"{origin}: line {line}: {text!r} is not a number") from None
        (level_price if field == 0 else level_size)[level] = value
    return DecodedBookStream(
        symbol=symbol if symbol is not None else _symbol_of(raw),
        msg_ts=msg_ts[:m].copy(),
        msg_snapshot=msg_snapshot[:m].copy(),
        msg_first_id=msg_id[:m].copy(),
        msg_last_id=msg_id[:m].copy(),
        msg_prev_id=np.full(m, -1, dtype=np.int64),
        msg_seq=msg_seq[:m].copy(),
        msg_start=msg_start[:m].copy(),
        msg_end=msg_end[:m].copy(),
        level_side=level_side[:lv].copy(),
        level_price=level_price[:lv].copy(),
        level_size=level_size[:lv].copy(),
    )


def read_bybit_orderbook(path: str | Path) -> Iterator[BookDelta]:
    """Yield a Bybit order-book recording as :class:`BookDelta` records with exact ``Decimal``s.

    ``sequence`` is Bybit's ``u``; a snapshot's levels carry ``is_snapshot=True``; the last level
    of each message has ``is_last=True``. Messages with no levels are skipped.

    Raises
    ------
    DataError
        On a line that is not a Bybit order-book message, naming the line.
    """
    raw = read_bytes(path)
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            message = orjson.loads(line)
            data = message["data"]
            is_snapshot = message["type"] == "snapshot"
            ts = int(message["ts"])
            update_id = int(data["u"])
            symbol = str(data["s"])
            levels = [(BookSide.BID, lv) for lv in data.get("b", [])]
            levels += [(BookSide.ASK, lv) for lv in data.get("a", [])]
            for k, (side, (price, size)) in enumerate(levels):
                yield BookDelta(
                    ts=ts,
                    symbol=symbol,
                    side=side,
                    price=Decimal(price),
                    size=Decimal(size),
                    sequence=update_id,
                    is_snapshot=is_snapshot,
                    is_last=k == len(levels) - 1,
                )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise DataError(
                f"{path}: line {number} is not a Bybit order-book message ({exc!r})"
            ) from exc
