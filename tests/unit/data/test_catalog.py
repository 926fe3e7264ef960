"""The parquet catalog: layout, round trips, append/resume, metadata."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.core.errors import DataError, UserError
from tradewind.core.instrument import FeeSide, Instrument, MarketType
from tradewind.data.catalog import Catalog, SeriesKey, filename_to_symbol, symbol_to_filename
from tradewind.data.ingest import read_file
from tradewind.data.kinds import DataKind
from tradewind.data.meta import MarketMeta, VolumeUnit


def _meta(symbol: str) -> MarketMeta:
    instrument = Instrument(
        symbol=symbol,
        base="XRP",
        quote="USDT",
        settle="USDT",
        exchange="binance",
        market_type=MarketType.SWAP,
        price_step=Decimal("0.0001"),
        amount_step=Decimal("0.1"),
        min_notional=Decimal("5"),
        maker_fee=Decimal("0.0002"),
        taker_fee=Decimal("0.0005"),
        fee_side=FeeSide.QUOTE,
    )
    return MarketMeta.downloaded(instrument, exchange="binance", volume_unit=VolumeUnit.BASE)


@pytest.mark.parametrize(
    ("symbol", "name"),
    [("BTC/USDT", "BTC_USDT"), ("XRP/USDT:USDT", "XRP_USDT_USDT"), ("BTC-PERP", "BTC-PERP")],
)
def test_symbols_round_trip_through_file_names(symbol: str, name: str) -> None:
    assert symbol_to_filename(symbol) == name
    assert filename_to_symbol(name) == symbol


@pytest.mark.parametrize("symbol", ["A_B/C", "../etc/passwd", "BTC/USDT:USDT:X", ""])
def test_symbols_that_would_not_round_trip_are_refused(symbol: str) -> None:
    with pytest.raises(UserError, match="cannot be stored"):
        SeriesKey("binance", symbol, "1m", DataKind.CANDLES)


def test_key_rules() -> None:
    assert SeriesKey("binance", "BTC/USDT", "60m", DataKind.CANDLES).timeframe == "1h"
    with pytest.raises(UserError, match="need a timeframe"):
        SeriesKey("binance", "BTC/USDT", None, DataKind.CANDLES)
    with pytest.raises(UserError, match="have no timeframe"):
        SeriesKey("binance", "BTC/USDT", "1m", DataKind.TRADES)
    with pytest.raises(UserError, match="invalid exchange"):
        SeriesKey("Bin ance", "BTC/USDT", "1m", DataKind.CANDLES)


def test_write_read_round_trip_with_layout_and_meta(catalog: Catalog, shared_data: Path) -> None:
    path = shared_data / "futures" / "XRP_USDT_USDT-5m-futures.feather"
    frame = read_file(path, DataKind.CANDLES)
    key = SeriesKey("binance", "XRP/USDT:USDT", "5m", DataKind.CANDLES)
    stored = catalog.write(key, frame, meta=_meta(key.symbol))
    assert stored == catalog.root / "binance" / "candles" / "XRP_USDT_USDT-5m.parquet"
    assert catalog.meta_path(key).name == "XRP_USDT_USDT-5m.meta.json"
    back = catalog.read(key)
    pd.testing.assert_frame_equal(back, frame)
    assert str(back["date"].dtype) == "datetime64[ms, UTC]"
    assert catalog.keys() == [key]
    assert catalog.row_count(key) == 1_999
    assert catalog.last_timestamp(key) == pd.Timestamp("2021-11-21 22:30", tz="UTC")
    assert catalog.meta(key) == _meta(key.symbol)


def test_read_a_date_range_is_start_inclusive_end_exclusive(
    catalog: Catalog, eth_btc_5m: pd.DataFrame
) -> None:
    key = SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)
    catalog.write(key, eth_btc_5m)
    part = catalog.read(
        key, start=pd.Timestamp("2018-01-11", tz="UTC"), end=pd.Timestamp("2018-01-12", tz="UTC")
    )
    assert len(part) == 288
    assert part["date"].iloc[0] == pd.Timestamp("2018-01-11 00:00", tz="UTC")
    assert part["date"].iloc[-1] == pd.Timestamp("2018-01-11 23:55", tz="UTC")


def test_append_resumes_and_merges_identical_overlap(
    catalog: Catalog, eth_btc_5m: pd.DataFrame
) -> None:
    key = SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)
    catalog.write(key, eth_btc_5m.iloc[:3000])
    assert catalog.last_timestamp(key) == eth_btc_5m["date"].iloc[2999]
    # The next download overlaps the stored tail by 100 rows, as a resume does.
    catalog.write(key, eth_btc_5m.iloc[2900:], mode="append")
    pd.testing.assert_frame_equal(catalog.read(key), eth_btc_5m)


def test_append_refuses_an_overlap_that_differs(catalog: Catalog, eth_btc_5m: pd.DataFrame) -> None:
    key = SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)
    catalog.write(key, eth_btc_5m.iloc[:100])
    changed = eth_btc_5m.iloc[90:200].copy()
    changed.loc[95, "close"] = changed.loc[95, "close"] * 1.01
    with pytest.raises(DataError, match=r"differs from the stored data at 2018-01-10 12:50:00"):
        catalog.write(key, changed, mode="append")
    pd.testing.assert_frame_equal(catalog.read(key), eth_btc_5m.iloc[:100])


def test_append_trades_keeps_same_millisecond_trades(catalog: Catalog, shared_data: Path) -> None:
    trades = read_file(shared_data / "trades" / "XRP_ETH-trades.feather", DataKind.TRADES)
    key = SeriesKey("binance", "XRP/ETH", None, DataKind.TRADES)
    catalog.write(key, trades.iloc[:1])
    catalog.write(key, trades.iloc[:5000], mode="append")
    catalog.write(key, trades.iloc[4000:], mode="append")
    pd.testing.assert_frame_equal(catalog.read(key), trades)
    assert catalog.path(key).name == "XRP_ETH.parquet"


def test_write_refuses_unsorted_or_duplicate_dates(
    catalog: Catalog, eth_btc_5m: pd.DataFrame
) -> None:
    key = SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)
    reordered = eth_btc_5m.iloc[[0, 2, 1]].reset_index(drop=True)
    with pytest.raises(DataError, match="row 2 goes back in time"):
        catalog.write(key, reordered)
    doubled = eth_btc_5m.iloc[[0, 1, 1]].reset_index(drop=True)
    with pytest.raises(DataError, match="duplicate date"):
        catalog.write(key, doubled)
    with pytest.raises(DataError, match="lacks the candles column"):
        catalog.write(key, eth_btc_5m.drop(columns=["volume"]))
    assert not catalog.exists(key)


def test_missing_series_and_meta_are_clear_errors(catalog: Catalog) -> None:
    key = SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)
    with pytest.raises(DataError, match="no stored series binance ETH/BTC 5m candles"):
        catalog.read(key)
    assert catalog.last_timestamp(key) is None
    with pytest.raises(DataError, match="no market metadata stored"):
        catalog.meta(key)


def test_meta_json_is_exact_decimal_text(catalog: Catalog, eth_btc_5m: pd.DataFrame) -> None:
    key = SeriesKey("binance", "XRP/USDT:USDT", "5m", DataKind.CANDLES)
    catalog.write(key, eth_btc_5m, meta=_meta(key.symbol))
    text = catalog.meta_path(key).read_text()
    assert '"price_step": "0.0001"' in text
    assert '"fee_side": "quote"' in text
    broken = catalog.meta_path(key)
    broken.write_text(text.replace('"price_step": "0.0001"', '"price_step": "abc"'))
    with pytest.raises(DataError, match="malformed"):
        catalog.meta(key)


def test_mark_volume_nan_survives_storage(catalog: Catalog, shared_data: Path) -> None:
    mark = read_file(shared_data / "futures" / "XRP_USDT_USDT-1h-mark.feather", DataKind.MARK)
    key = SeriesKey("binance", "XRP/USDT:USDT", "1h", DataKind.MARK)
    catalog.write(key, mark)
    assert np.isnan(catalog.read(key)["volume"]).all()
