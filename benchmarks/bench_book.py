"""Order-book speed on the real Bybit XRPUSDT ``orderbook.500`` stream, looped for >= 1 s.

An "update" is one exchange message (1 snapshot + 49 deltas per loop; the snapshot resets the book
each loop, as a Bybit snapshot does). Measured here, in the same run:

- decoding: levels/s from the raw JSON lines, ours (compiled byte scanner) against ``json`` and
  ``orjson`` with ``float()`` per price and size;
- applying: levels/s from decoded arrays into the book, ours against a plain Python book of two
  ``sortedcontainers.SortedDict``;
- reading: best bid/ask plus the top 20 levels per side after every update (ours: NumPy views;
  SortedDict: lists of the 20 items);
- wall detection per update (ours against the same rule written in plain NumPy).

NautilusTrader's figures are the ones published in the issue, not measured here (it is not
installed); they appear as reference rows. Before any speed is reported, the final books are
compared with an independent dict rebuild and the decoded levels with ``orjson`` + ``float()``.
"""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Callable
from itertools import islice

import numpy as np
import orjson
from sortedcontainers import SortedDict

from benchmarks.common import Row
from tradewind.book.book import OrderBook
from tradewind.book.readers.bybit import decode_bybit_orderbook
from tradewind.book.sequencing import BybitSequencer
from tradewind.book.stream import DecodedBookStream
from tradewind.book.walls import WallParams, detect_walls
from tradewind.testing.shared_data import shared_data_dir

GROUP = "book"


def _raw() -> bytes:
    root = shared_data_dir()
    if root is None:
        raise FileNotFoundError(
            "recorded data not found: the book benchmark needs the Bybit stream"
        )
    with zipfile.ZipFile(root / "orderbook" / "bybit-xrpusdt-ob500.data.zip") as archive:
        return archive.read(archive.namelist()[0])


def _loop_for(seconds: float, once: Callable[[], int]) -> tuple[float, int, int]:
    """Call ``once`` (returns a work count) until ``seconds`` have passed; return time, work, calls."""
    once()  # warm-up (JIT)
    work = calls = 0
    start = time.perf_counter()
    while True:
        work += once()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed, work, calls


def _decode_python(raw: bytes, loads: Callable[[bytes], dict]) -> list:
    out = []
    for line in raw.splitlines():
        data = loads(line)["data"]
        out.append([(float(p), float(q)) for p, q in data["b"]])
        out.append([(float(p), float(q)) for p, q in data["a"]])
    return out


class SortedDictBook:
    """The peer: a plain Python L2 book of two SortedDicts (price -> size)."""

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()

    def apply(
        self, sides: list[int], prices: list[float], sizes: list[float], snapshot: bool
    ) -> None:
        if snapshot:
            self.bids.clear()
            self.asks.clear()
        bids, asks = self.bids, self.asks
        for s, p, q in zip(sides, prices, sizes, strict=True):
            book = bids if s == 0 else asks
            if q == 0.0:
                book.pop(p, None)
            else:
                book[p] = q

    def top(self, k: int) -> tuple[float, float, list, list]:
        bids = list(islice(reversed(self.bids.items()), k))
        asks = list(islice(self.asks.items(), k))
        return bids[0][0], asks[0][0], bids, asks


def _messages(stream: DecodedBookStream) -> list[tuple[bool, int, int, int, int]]:
    return list(
        zip(
            stream.msg_snapshot.tolist(),
            stream.msg_ts.tolist(),
            stream.msg_last_id.tolist(),
            stream.msg_start.tolist(),
            stream.msg_end.tolist(),
            strict=True,
        )
    )


def _apply_all(book: OrderBook, stream: DecodedBookStream, msgs: list) -> int:
    side, price, size = stream.level_side, stream.level_price, stream.level_size
    for snap, ts, uid, a, b in msgs:
        if snap:
            book.apply_snapshot(side, price, size, ts=ts, last_id=uid, start=a, end=b)
        else:
            book.apply_update(side, price, size, ts=ts, first_id=uid, last_id=uid, start=a, end=b)
    return stream.level_count


def _numpy_walls(prices: np.ndarray, sizes: np.ndarray, params: WallParams) -> int:
    # The same robust-z rule in plain NumPy (the peer for wall detection).
    x = sizes[: params.levels]
    med = np.median(x)
    dev = np.abs(x - med)
    scale = 1.4826 * np.median(dev) or 1.2533 * dev.mean()
    flagged = (x >= params.min_multiple * med) & ((x - med) / scale >= params.threshold)
    idx = np.flatnonzero(flagged)
    return int(len(idx) - np.count_nonzero(np.diff(idx) == 1)) if len(idx) else 0


def _check(book: OrderBook, peer: SortedDictBook, stream: DecodedBookStream, raw: bytes) -> None:
    reference: tuple[dict[float, float], dict[float, float]] = ({}, {})
    for i in range(stream.message_count):
        if stream.msg_snapshot[i]:
            reference = ({}, {})
        for k in range(int(stream.msg_start[i]), int(stream.msg_end[i])):
            side = reference[int(stream.level_side[k])]
            p, q = float(stream.level_price[k]), float(stream.level_size[k])
            if q == 0.0:
                side.pop(p, None)
            else:
                side[p] = q
    ours = book.to_dict()
    if ours["bids"] != reference[0] or ours["asks"] != reference[1]:
        raise AssertionError("the book differs from the independent dict rebuild")
    if dict(peer.bids) != reference[0] or dict(peer.asks) != reference[1]:
        raise AssertionError("the SortedDict peer differs from the dict rebuild")
    levels = [lv for part in _decode_python(raw, orjson.loads) for lv in part]
    if np.array_equal(np.array(levels), np.column_stack([stream.level_price, stream.level_size])):
        return
    raise AssertionError("decoded levels differ from orjson + float()")


def run(quick: bool) -> list[Row]:
    """Measure decode, apply, top-20 and wall detection on the looped Bybit stream."""
    seconds = 0.25 if quick else 1.0
    raw = _raw()
    stream = decode_bybit_orderbook(raw)
    msgs = _messages(stream)
    n_levels = stream.level_count
    n_msgs = stream.message_count

    # --- decode
    t, work, _ = _loop_for(seconds, lambda: decode_bybit_orderbook(raw).level_count)
    ours_decode = work / t / 1e6
    t, calls_json, _ = _loop_for(seconds, lambda: len(_decode_python(raw, json.loads)) and n_levels)
    json_decode = calls_json / t / 1e6
    t, calls_orjson, _ = _loop_for(
        seconds, lambda: len(_decode_python(raw, orjson.loads)) and n_levels
    )
    orjson_decode = calls_orjson / t / 1e6

    # --- apply (whole stream per call; the snapshot resets the book each loop)
    book = OrderBook(stream.symbol, sequencer=BybitSequencer())
    t, work, _ = _loop_for(seconds, lambda: _apply_all(book, stream, msgs))
    ours_apply = work / t / 1e6
    side_l, price_l, size_l = (
        stream.level_side.tolist(),
        stream.level_price.tolist(),
        stream.level_size.tolist(),
    )
    peer = SortedDictBook()

    def peer_all() -> int:
        for snap, _ts, _uid, a, b in msgs:
            peer.apply(side_l[a:b], price_l[a:b], size_l[a:b], snap)
        return n_levels

    t, work, _ = _loop_for(seconds, peer_all)
    peer_apply = work / t / 1e6

    # --- best bid/ask + top 20 after every update, and walls after every update
    params = WallParams()
    clock = time.perf_counter
    side, price, size = stream.level_side, stream.level_price, stream.level_size

    def timed_reads(reader: Callable[[], object]) -> tuple[float, int]:
        spent = 0.0
        updates = 0
        deadline = clock() + seconds
        while clock() < deadline:
            for snap, ts, uid, a, b in msgs:
                if snap:
                    book.apply_snapshot(side, price, size, ts=ts, last_id=uid, start=a, end=b)
                else:
                    book.apply_update(
                        side, price, size, ts=ts, first_id=uid, last_id=uid, start=a, end=b
                    )
                t0 = clock()
                reader()
                spent += clock() - t0
                updates += 1
        return spent / updates, updates

    def ours_top() -> object:
        return book.best_bid(), book.best_ask(), book.top(20)

    ours_top()
    top_ours, updates_top = timed_reads(ours_top)
    detect_walls(book, params)
    walls_ours, _ = timed_reads(lambda: detect_walls(book, params))

    def peer_timed(reader: Callable[[], object]) -> float:
        spent = 0.0
        updates = 0
        deadline = clock() + seconds
        while clock() < deadline:
            for snap, _ts, _uid, a, b in msgs:
                peer.apply(side_l[a:b], price_l[a:b], size_l[a:b], snap)
                t0 = clock()
                reader()
                spent += clock() - t0
                updates += 1
        return spent / updates

    top_peer = peer_timed(lambda: peer.top(20))

    def numpy_walls() -> int:
        bp, bs = book.bids()
        ap, as_ = book.asks()
        return _numpy_walls(bp, bs, params) + _numpy_walls(ap, as_, params)

    walls_numpy, _ = timed_reads(numpy_walls)

    # --- correctness before reporting: both books end on the last message of a full loop
    _apply_all(book, stream, msgs)
    peer_all()
    _check(book, peer, stream, raw)

    loop_note = f"{n_msgs} msgs, {n_levels} levels per loop"
    return [
        Row(GROUP, "decode Bybit JSON", ours_decode, "M levels/s", "json + float()",
            json_decode, True, ">= 4", loop_note),
        Row(GROUP, "decode Bybit JSON", ours_decode, "M levels/s", "orjson + float()",
            orjson_decode, True, ">= 4", "issue: ~2M levels/s"),
        Row(GROUP, "apply deltas", ours_apply, "M deltas/s", "SortedDict book",
            peer_apply, True, ">= 5", "issue: SortedDict 2.0-2.9M/s"),
        Row(GROUP, "apply deltas", ours_apply, "M deltas/s", "NautilusTrader (published)",
            7.7, True, ">= 5", "published 5.4-7.7M/s, objects pre-built"),
        Row(GROUP, "best bid/ask + top-20 per update", top_ours, "s", "SortedDict book",
            top_peer, False, "<= 3 us", f"{updates_top} updates"),
        Row(GROUP, "best bid/ask + top-20 per update", top_ours, "s",
            "NautilusTrader Rust (published)", 8e-6, False, "<= 3 us", "published 8-10 us"),
        Row(GROUP, "best bid/ask + top-20 per update", top_ours, "s",
            "NautilusTrader Cython (published)", 25e-6, False, "<= 3 us", "published 25-222 us"),
        Row(GROUP, "wall detection per update", walls_ours, "s", "same rule in NumPy",
            walls_numpy, False, "<= 20 us", "100 levels/side, robust z"),
    ]  # fmt: skip
