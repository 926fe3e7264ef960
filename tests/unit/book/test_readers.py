"""Every recorded order-book and trade file is read; fast and record paths agree; bad input is named."""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson
import pytest

from tradewind.book.readers.bybit import decode_bybit_orderbook, read_bybit_orderbook
from tradewind.book.readers.depth_csv import (
    decode_binance_depth_csv,
    decode_tardis_l2_csv,
    read_binance_depth_csv,
    read_tardis_l2_csv,
)
from tradewind.book.readers.trades import (
    decode_binance_quotes_parquet,
    decode_binance_trades_parquet,
    decode_freqtrade_trades,
    read_binance_quotes_parquet,
    read_binance_trades_parquet,
    read_freqtrade_trades,
)
from tradewind.book.stream import DecodedBookStream
from tradewind.core.errors import DataError
from tradewind.core.records import BookSide, Side


def test_every_recorded_file_has_a_reader(shared_data: Path) -> None:
    readers = {
        "bybit-xrpusdt-ob500.data.zip": read_bybit_orderbook,
        "binance-btcusdt-depth-snap.csv": read_binance_depth_csv,
        "binance-btcusdt-depth-update.csv": read_binance_depth_csv,
        "tardis-deribit-incremental_book_L2_BTC-PERPETUAL.csv": read_tardis_l2_csv,
        "binance-btcusdt-trades.parquet": read_binance_trades_parquet,
        "binance-btcusdt-quotes.parquet": read_binance_quotes_parquet,
        "XRP_ETH-trades.feather": read_freqtrade_trades,
        "freqtrade-orderflow-public_trades_list.csv": read_freqtrade_trades,
    }
    files = sorted((shared_data / "orderbook").iterdir()) + sorted(
        (shared_data / "trades").iterdir()
    )
    assert {f.name for f in files} == set(readers)
    counts = {f.name: sum(1 for _ in readers[f.name](f)) for f in files}  # type: ignore[operator]
    assert counts == {
        "bybit-xrpusdt-ob500.data.zip": 3966,
        "binance-btcusdt-depth-snap.csv": 100,
        "binance-btcusdt-depth-update.csv": 100,
        "tardis-deribit-incremental_book_L2_BTC-PERPETUAL.csv": 15,
        "binance-btcusdt-trades.parquet": 2001,
        "binance-btcusdt-quotes.parquet": 451,
        "XRP_ETH-trades.feather": 12477,
        "freqtrade-orderflow-public_trades_list.csv": 1000,
    }


def test_bybit_fast_decoder_equals_orjson_and_float(
    bybit_path: Path, bybit_stream: DecodedBookStream
) -> None:
    with zipfile.ZipFile(bybit_path) as archive:
        lines = archive.read(archive.namelist()[0]).splitlines()
    for i, line in enumerate(lines):
        message = orjson.loads(line)
        a, b = int(bybit_stream.msg_start[i]), int(bybit_stream.msg_end[i])
        levels = [(0, float(p), float(q)) for p, q in message["data"]["b"]]
        levels += [(1, float(p), float(q)) for p, q in message["data"]["a"]]
        got = list(
            zip(
                bybit_stream.level_side[a:b].tolist(),
                bybit_stream.level_price[a:b].tolist(),
                bybit_stream.level_size[a:b].tolist(),
                strict=True,
            )
        )
        assert got == levels
        assert bybit_stream.msg_ts[i] == message["ts"]
        assert bybit_stream.msg_last_id[i] == message["data"]["u"]
        assert bybit_stream.msg_seq[i] == message["data"]["seq"]
        assert bybit_stream.msg_snapshot[i] == (message["type"] == "snapshot")
    assert bybit_stream.symbol == "XRPUSDT"


def test_bybit_records_carry_exact_decimals(bybit_path: Path) -> None:
    first = next(iter(read_bybit_orderbook(bybit_path)))
    assert (first.side, first.price, first.size) == (BookSide.BID, Decimal("1.9531"), Decimal(6203))
    assert first.is_snapshot
    assert first.sequence == 20254869


def test_bybit_decoder_falls_back_to_float_for_long_and_exponent_numbers() -> None:
    line = (
        b'{"type":"delta","ts":5,"data":{"s":"X","b":[["0.12345678901234567890","1e3"]],'
        b'"a":[["2.5","0"]],"u":7,"seq":9}}\n'
    )
    stream = decode_bybit_orderbook(line)
    assert stream.level_price.tolist() == [float("0.12345678901234567890"), 2.5]
    assert stream.level_size.tolist() == [1000.0, 0.0]
    assert stream.msg_last_id.tolist() == [7]


def test_bybit_bad_line_is_named() -> None:
    good = b'{"type":"snapshot","ts":1,"data":{"s":"X","b":[["1","1"]],"a":[],"u":1,"seq":1}}\n'
    with pytest.raises(DataError, match="line 2"):
        decode_bybit_orderbook(good + b'{"type":"delta","ts":2,"data":{"s":"X","b":[["1",]]}}\n')
    with pytest.raises(DataError, match="line 1"):
        decode_bybit_orderbook(b'{"type":"delta","ts":2,"data":{"b":[["1","x"]],"u":3}}\n')


def test_binance_fast_and_record_paths_agree(shared_data: Path) -> None:
    path = shared_data / "orderbook" / "binance-btcusdt-depth-update.csv"
    stream = decode_binance_depth_csv(path)
    records = list(read_binance_depth_csv(path))
    assert [float(r.price) for r in records] == stream.level_price.tolist()
    assert [float(r.size) for r in records] == stream.level_size.tolist()
    assert [r.is_last for r in records].count(True) == stream.message_count == 1
    assert (stream.msg_first_id[0], stream.msg_last_id[0], stream.msg_prev_id[0]) == (
        2098041693435, 2098041696700, 2098041693400,
    )  # fmt: skip
    assert records[0].sequence == 2098041696700


def test_tardis_timestamps_become_milliseconds(shared_data: Path) -> None:
    path = shared_data / "orderbook" / "tardis-deribit-incremental_book_L2_BTC-PERPETUAL.csv"
    stream = decode_tardis_l2_csv(path)
    assert stream.msg_ts.tolist() == [1585699200245]
    assert stream.msg_snapshot.tolist() == [True]


def test_csv_with_a_missing_column_or_bad_value_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "depth.csv"
    bad.write_text("symbol,timestamp,side,price\nX,1,b,1\n")
    with pytest.raises(DataError, match="missing column"):
        decode_binance_depth_csv(bad)
    bad.write_text(
        "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu\n"
        "X,1,1,1,b,snap,abc,1,-1\n"
    )
    with pytest.raises(DataError, match="row 2: price 'abc'"):
        decode_binance_depth_csv(bad)
    with pytest.raises(DataError, match="not found"):
        decode_tardis_l2_csv(tmp_path / "absent.csv")


def test_trade_readers_map_aggressor_sides(shared_data: Path) -> None:
    folder = shared_data / "trades"
    binance = decode_binance_trades_parquet(folder / "binance-btcusdt-trades.parquet")
    # the first trade is buyer-maker: the seller was the aggressor
    assert binance.side[:3].tolist() == [-1, 1, 1]
    assert binance.ts[0] == 1610064000278
    trade = next(iter(read_binance_trades_parquet(folder / "binance-btcusdt-trades.parquet")))
    assert (trade.side, trade.price, trade.trade_id) == (
        Side.SELL,
        Decimal("39432.48"),
        "553287559",
    )
    quotes = decode_binance_quotes_parquet(folder / "binance-btcusdt-quotes.parquet")
    assert quotes.symbol == "BTC/USDT"
    assert np.all(quotes.bid < quotes.ask)
    xrp = decode_freqtrade_trades(folder / "XRP_ETH-trades.feather")
    assert xrp.symbol == "XRP/ETH"
    assert xrp.side[0] == -1
    eth = decode_freqtrade_trades(folder / "freqtrade-orderflow-public_trades_list.csv")
    assert (eth.price[0], eth.amount[0], eth.side[0]) == (1666.8, 26.062, 1)


def test_trade_file_with_unknown_side_is_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("timestamp,id,side,price,amount\n1,1,long,1.0,1.0\n")
    with pytest.raises(DataError, match="side 'long'"):
        decode_freqtrade_trades(path)
    other = tmp_path / "t.json"
    other.write_text("[]")
    with pytest.raises(DataError, match="unsupported file type"):
        decode_freqtrade_trades(other)
