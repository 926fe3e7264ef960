"""Our book against independent rebuilds on the real recordings, after every message.

References: a plain dict rebuild (conftest.DictBook) and ccxt's own order-book code, which
ccxt.pro uses to keep books: for Bybit the whole ``ccxt.pro.bybit.handle_order_book`` message
handler, for Binance its ``OrderBook`` class fed with the levels.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import ccxt.pro
import orjson
from book_reference import DictBook
from ccxt.async_support.base.ws.order_book import OrderBook as CcxtOrderBook

from tradewind.book.book import OrderBook, UpdateStatus
from tradewind.book.readers.bybit import read_bybit_orderbook
from tradewind.book.readers.depth_csv import (
    decode_binance_depth_csv,
    decode_tardis_l2_csv,
    read_tardis_l2_csv,
)
from tradewind.book.sequencing import BinanceFuturesSequencer, BybitSequencer
from tradewind.book.stream import DecodedBookStream


class _LoopbackClient:
    """The two attributes ccxt.pro.bybit's handler reads from its websocket client."""

    url = "wss://stream.bybit.com/v5/public/linear"

    def resolve(self, result: object, message_hash: str) -> None:
        """ccxt hands the updated book to waiting watchers here; nobody waits in this test."""


def _as_levels(book: OrderBook) -> tuple[list[list[float]], list[list[float]]]:
    bp, bs = book.bids()
    ap, as_ = book.asks()
    return [list(x) for x in zip(bp.tolist(), bs.tolist(), strict=True)], [
        list(x) for x in zip(ap.tolist(), as_.tolist(), strict=True)
    ]


def test_bybit_matches_dict_rebuild_and_ccxt_after_every_message(
    bybit_path: Path, bybit_stream: DecodedBookStream
) -> None:
    archive = zipfile.ZipFile(bybit_path)
    lines = archive.read(archive.namelist()[0]).splitlines()
    assert len(lines) == bybit_stream.message_count == 50
    exchange = ccxt.pro.bybit()
    client = _LoopbackClient()
    book = OrderBook("XRPUSDT", sequencer=BybitSequencer())
    reference = DictBook()
    for i, line in enumerate(lines):
        assert book.apply_message(bybit_stream, i) is UpdateStatus.APPLIED
        reference.apply(bybit_stream, i)
        exchange.handle_order_book(client, orjson.loads(line))
        theirs = exchange.orderbooks["XRPUSDT"]
        bids, asks = _as_levels(book)
        assert book.to_dict() == reference.as_dict(), f"message {i}"
        assert bids == [list(x) for x in reference.levels(0)]
        assert bids == [[p, s] for p, s in theirs["bids"]], f"message {i}: bids differ from ccxt"
        assert asks == [[p, s] for p, s in theirs["asks"]], f"message {i}: asks differ from ccxt"
        assert book.best_bid() < book.best_ask()
    assert book.update_id == 20254918
    assert (book.bid_count, book.ask_count) == (500, 500)


def test_bybit_records_path_builds_the_same_book(
    bybit_path: Path, bybit_stream: DecodedBookStream
) -> None:
    fast = OrderBook(sequencer=BybitSequencer())
    slow = OrderBook(sequencer=BybitSequencer())
    deltas = iter(read_bybit_orderbook(bybit_path))
    for i in range(bybit_stream.message_count):
        fast.apply_message(bybit_stream, i)
        status = None
        while status is None:
            status = slow.apply_delta(next(deltas))
        assert status is UpdateStatus.APPLIED
        assert slow.to_dict() == fast.to_dict()


def test_bybit_dropped_message_is_reported_as_a_gap(bybit_stream: DecodedBookStream) -> None:
    book = OrderBook(sequencer=BybitSequencer())
    for i in range(10):
        book.apply_message(bybit_stream, i)
    # message 10 is lost in transit; message 11 must not be applied on top
    assert book.apply_message(bybit_stream, 11) is UpdateStatus.RESYNC_NEEDED
    assert book.resync_reason == "gap: expected u=20254879, got u=20254880"
    # a replayed older message is dropped, not applied
    replay = OrderBook(sequencer=BybitSequencer())
    for i in range(5):
        replay.apply_message(bybit_stream, i)
    before = replay.to_dict()
    assert replay.apply_message(bybit_stream, 3) is UpdateStatus.DROPPED
    assert replay.to_dict() == before


def test_binance_snapshot_matches_ccxt_and_the_unchained_diff_is_a_gap(shared_data: Path) -> None:
    folder = shared_data / "orderbook"
    stream = decode_binance_depth_csv(
        folder / "binance-btcusdt-depth-snap.csv", folder / "binance-btcusdt-depth-update.csv"
    )
    assert stream.message_count == 2
    book = OrderBook("BTCUSDT", sequencer=BinanceFuturesSequencer())
    reference = DictBook()
    assert book.apply_message(stream, 0) is UpdateStatus.APPLIED
    reference.apply(stream, 0)
    start, end = int(stream.msg_start[0]), int(stream.msg_end[0])
    theirs = CcxtOrderBook(
        {
            "bids": [
                [float(stream.level_price[k]), float(stream.level_size[k])]
                for k in range(start, end)
                if stream.level_side[k] == 0
            ],
            "asks": [],
        }
    )
    bids, asks = _as_levels(book)
    assert book.to_dict() == reference.as_dict()
    assert bids == [[p, s] for p, s in theirs["bids"]]
    assert asks == []  # the recorded snapshot is bid-only
    # SOURCES.md: the diff's ids do not chain to the snapshot; the book must say so
    assert book.apply_message(stream, 1) is UpdateStatus.RESYNC_NEEDED
    assert "gap" in (book.resync_reason or "")
    assert book.to_dict() == reference.as_dict()


def test_binance_diff_without_sequencing_matches_dict_and_ccxt(shared_data: Path) -> None:
    folder = shared_data / "orderbook"
    stream = decode_binance_depth_csv(
        folder / "binance-btcusdt-depth-snap.csv", folder / "binance-btcusdt-depth-update.csv"
    )
    book = OrderBook("BTCUSDT")  # unsequenced: apply the diff as if it chained
    reference = DictBook()
    theirs = CcxtOrderBook({})
    for i in range(2):
        status = book.apply_message(stream, i)
        reference.apply(stream, i)
        for k in range(int(stream.msg_start[i]), int(stream.msg_end[i])):
            side = theirs["bids"] if stream.level_side[k] == 0 else theirs["asks"]
            side.store(float(stream.level_price[k]), float(stream.level_size[k]))
        assert book.to_dict() == reference.as_dict()
        bids, asks = _as_levels(book)
        assert bids == [[p, s] for p, s in theirs["bids"]]
        assert asks == [[p, s] for p, s in theirs["asks"]]
        assert status is UpdateStatus.APPLIED
    assert book.best_bid() < book.best_ask()


def test_tardis_snapshot_matches_dict_rebuild(shared_data: Path) -> None:
    path = shared_data / "orderbook" / "tardis-deribit-incremental_book_L2_BTC-PERPETUAL.csv"
    stream = decode_tardis_l2_csv(path)
    book = OrderBook(stream.symbol)
    reference = DictBook()
    for i in range(stream.message_count):
        assert book.apply_message(stream, i) is UpdateStatus.APPLIED
        reference.apply(stream, i)
        assert book.to_dict() == reference.as_dict()
    assert book.best_ask() == 6421.5
    records = OrderBook()
    statuses = [records.apply_delta(d) for d in read_tardis_l2_csv(path)]
    assert statuses[-1] is UpdateStatus.APPLIED
    assert records.to_dict() == book.to_dict()
