"""Importers: CSV mapping, epoch detection, Freqtrade names and layouts, refusal of bad data."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from tradewind.core.errors import DataError, UserError
from tradewind.core.instrument import FeeSide, MarketType
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.importers import (
    ColumnMapping,
    FileFormat,
    detect_format,
    parse_columns,
    parse_freqtrade_name,
    scan_freqtrade_folder,
)
from tradewind.data.ingest import (
    ImportOptions,
    import_file,
    import_freqtrade_folder,
    key_for_file,
    read_file,
)
from tradewind.data.kinds import DataKind
from tradewind.data.meta import MetaOverrides, VolumeUnit
from tradewind.data.repair import RepairMode

BTC_PERP_CSV = "btc-perp-20211231-20220201_1m.csv"


@pytest.mark.parametrize(
    ("name", "symbol", "tf", "kind", "market", "fmt"),
    [
        ("ETH_BTC-5m.feather", "ETH/BTC", "5m", DataKind.CANDLES, MarketType.SPOT, "feather"),
        (
            "XRP_USDT_USDT-1h-futures.feather",
            "XRP/USDT:USDT",
            "1h",
            DataKind.CANDLES,
            MarketType.SWAP,
            "feather",
        ),
        (
            "XRP_USDT_USDT-8h-funding_rate.feather",
            "XRP/USDT:USDT",
            "8h",
            DataKind.FUNDING,
            MarketType.SWAP,
            "feather",
        ),
        (
            "XRP_USDT_USDT-1h-mark.json",
            "XRP/USDT:USDT",
            "1h",
            DataKind.MARK,
            MarketType.SWAP,
            "json",
        ),
        ("XRP_ETH-trades.feather", "XRP/ETH", None, DataKind.TRADES, MarketType.SPOT, "feather"),
        ("BTC_USDT-1d.json.gz", "BTC/USDT", "1d", DataKind.CANDLES, MarketType.SPOT, "json"),
    ],
)
def test_freqtrade_file_names(
    name: str, symbol: str, tf: str | None, kind: DataKind, market: MarketType, fmt: str
) -> None:
    parsed = parse_freqtrade_name(Path(name))
    assert (parsed.symbol, parsed.timeframe, parsed.kind, parsed.market_type, parsed.format) == (
        symbol,
        tf,
        kind,
        market,
        FileFormat(fmt),
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("notes.txt", "not a Freqtrade data file name"),
        ("BTC_USDT-1h-premiumIndex.feather", "not a supported data kind"),
        ("BTC_USDT-1M.feather", "calendar months are not supported"),
    ],
)
def test_freqtrade_names_that_are_refused(name: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_freqtrade_name(Path(name))


def test_detect_format() -> None:
    assert detect_format(Path("a.csv.gz")) is FileFormat.CSV
    assert detect_format(Path("a-5m.json.gz")) is FileFormat.JSON
    with pytest.raises(UserError, match="use --format"):
        detect_format(Path("a.xlsx"))


def test_parse_columns() -> None:
    assert parse_columns("ts=date, qty=amount") == {"ts": "date", "qty": "amount"}
    with pytest.raises(UserError, match="is not old=new"):
        parse_columns("ts:date")


def test_csv_with_iso_dates_reads_exactly(shared_data: Path) -> None:
    path = shared_data / "candles" / BTC_PERP_CSV
    frame = read_file(path, DataKind.CANDLES)
    raw = pd.read_csv(path)
    assert len(frame) == 45_031
    assert frame["date"].iloc[0] == pd.Timestamp("2021-12-31 23:01", tz="UTC")
    np.testing.assert_array_equal(frame["close"], raw["close"])


def _write_variant(shared_data: Path, tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """The first 500 rows of the BTC-perp CSV with other names, ';', epoch seconds."""
    raw = pd.read_csv(shared_data / "candles" / BTC_PERP_CSV, nrows=500)
    seconds = (
        pd.to_datetime(raw["timestamp"], utc=True).astype("datetime64[s, UTC]").astype("int64")
    )
    variant = pd.DataFrame(
        {
            "Time": seconds,
            "O": raw["open"],
            "H": raw["high"],
            "L": raw["low"],
            "C": raw["close"],
            "Vol": raw["volume"],
        }
    )
    path = tmp_path / "variant.csv"
    variant.to_csv(path, sep=";", index=False)
    return path, raw


def test_csv_column_mapping_delimiter_and_epoch_seconds(shared_data: Path, tmp_path: Path) -> None:
    path, raw = _write_variant(shared_data, tmp_path)
    mapping = ColumnMapping(
        date_column="Time",
        columns={"O": "open", "H": "high", "L": "low", "C": "close", "Vol": "volume"},
        delimiter=";",
    )
    frame = read_file(path, DataKind.CANDLES, mapping=mapping)
    expected = pd.to_datetime(raw["timestamp"], utc=True).astype("datetime64[ms, UTC]")
    pd.testing.assert_series_equal(frame["date"], expected, check_names=False)
    np.testing.assert_array_equal(frame["volume"], raw["volume"])
    # The same file read with the unit named explicitly gives the same dates.
    explicit = ColumnMapping(
        date_column="Time", columns=mapping.columns, delimiter=";", date_format="epoch-s"
    )
    pd.testing.assert_frame_equal(read_file(path, DataKind.CANDLES, mapping=explicit), frame)
    as_ms = ColumnMapping(
        date_column="Time", columns=mapping.columns, delimiter=";", date_format="epoch-ms"
    )
    assert read_file(path, DataKind.CANDLES, mapping=as_ms)["date"].iloc[0].year == 1970


def test_csv_strftime_date_format(shared_data: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(shared_data / "candles" / BTC_PERP_CSV, nrows=50)
    stamps = pd.to_datetime(raw["timestamp"], utc=True)
    raw["timestamp"] = stamps.dt.strftime("%d.%m.%Y %H:%M")
    path = tmp_path / "eu.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"row 0 \(0-based, as read\): cannot read the date"):
        read_file(path, DataKind.CANDLES)
    frame = read_file(path, DataKind.CANDLES, mapping=ColumnMapping(date_format="%d.%m.%Y %H:%M"))
    assert (frame["date"] == stamps.astype("datetime64[ms, UTC]")).all()


def test_missing_columns_are_named(shared_data: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(shared_data / "candles" / BTC_PERP_CSV, nrows=5).drop(columns=["low"])
    path = tmp_path / "nolow.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"lacks the candles column\(s\) low"):
        read_file(path, DataKind.CANDLES)
    with pytest.raises(UserError, match="--date-column 'when' not found"):
        read_file(path, DataKind.CANDLES, mapping=ColumnMapping(date_column="when"))


def test_freqtrade_json_layout_plain_and_gzipped(shared_data: Path, tmp_path: Path) -> None:
    feather = pd.read_feather(shared_data / "candles" / "XRP_ETH-5m.feather")
    rows = [
        [int(d.value // 1_000_000), o, h, lo, c, v]
        for d, o, h, lo, c, v in feather.itertuples(index=False)
    ]
    plain = tmp_path / "XRP_ETH-5m.json"
    plain.write_bytes(orjson.dumps(rows))
    zipped = tmp_path / "XRP_ETH-5m.json.gz"
    zipped.write_bytes(gzip.compress(orjson.dumps(rows)))
    expected = read_file(shared_data / "candles" / "XRP_ETH-5m.feather", DataKind.CANDLES)
    pd.testing.assert_frame_equal(read_file(plain, DataKind.CANDLES), expected)
    pd.testing.assert_frame_equal(read_file(zipped, DataKind.CANDLES), expected)


def test_freqtrade_trades_json_layout(shared_data: Path, tmp_path: Path) -> None:
    trades = pd.read_feather(shared_data / "trades" / "XRP_ETH-trades.feather").head(300)
    rows = [
        [int(t), str(i), None, s, p, a, c] for t, i, _, s, p, a, c in trades.itertuples(index=False)
    ]
    path = tmp_path / "XRP_ETH-trades.json"
    path.write_bytes(orjson.dumps(rows))
    frame = read_file(path, DataKind.TRADES)
    assert list(frame.columns) == ["date", "id", "price", "amount", "side", "cost"]
    assert frame["id"].tolist() == trades["id"].tolist()
    assert frame["date"].iloc[0] == pd.Timestamp(1570752011620, unit="ms", tz="UTC")


def test_json_rows_of_the_wrong_width_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "BAD_PAIR-5m.json"
    path.write_bytes(orjson.dumps([[1, 2, 3, 4, 5, 6], [1, 2, 3]]))
    with pytest.raises(DataError, match=r"row 1 \(0-based, as read\) is not a list of 6 values"):
        read_file(path, DataKind.CANDLES)


def test_nautilus_trades_parquet_maps_buyer_maker_to_the_aggressor_side(shared_data: Path) -> None:
    path = shared_data / "trades" / "binance-btcusdt-trades.parquet"
    raw = pd.read_parquet(path)
    frame = read_file(path, DataKind.TRADES)
    maker_bought = raw["buyer_maker"].astype(str) == "True"
    assert (frame.loc[maker_bought.to_numpy(), "side"] == "sell").all()
    assert (frame.loc[~maker_bought.to_numpy(), "side"] == "buy").all()
    assert frame["id"].iloc[0] == str(raw["trade_id"].iloc[0])


def test_import_refuses_data_with_errors_and_names_the_first_bad_row(
    catalog: Catalog, shared_data: Path, tmp_path: Path
) -> None:
    frame = pd.read_feather(shared_data / "candles" / "LTC_BTC-5m.feather")
    frame.loc[123, "high"] = frame.loc[123, "low"] / 2
    frame.loc[456, "close"] = np.nan
    path = tmp_path / "LTC_BTC-5m.feather"
    frame.to_feather(path)
    key, market = key_for_file(path, exchange="binance", symbol=None, timeframe=None, kind=None)
    with pytest.raises(DataError) as caught:
        import_file(catalog, path, key, market_type=market)
    assert str(caught.value).startswith(
        "LTC_BTC-5m.feather refused (see --repair drop|ffill|snap): 2 errors; first: row 123 "
        "(0-based, as read) at 2018-01-10 15:10:00 UTC: high "
    )
    assert not catalog.exists(key)
    result = import_file(
        catalog, path, key, options=ImportOptions(repairs=(RepairMode.DROP,)), market_type=market
    )
    assert result.rows == len(frame) - 2
    assert [a.row for a in result.repair.actions] == [123, 456]  # type: ignore[union-attr]
    assert "repaired on import: drop: 2 row(s) dropped" in catalog.meta(key).notes


def test_import_meta_defaults_and_overrides(catalog: Catalog, shared_data: Path) -> None:
    path = shared_data / "futures" / "XRP_USDT_USDT-5m-futures.feather"
    key, market = key_for_file(path, exchange="binance", symbol=None, timeframe=None, kind=None)
    default = import_file(catalog, path, key, market_type=market).meta
    inst = default.instrument
    assert (inst.market_type, inst.settle, inst.fee_side) == (
        MarketType.SWAP,
        "USDT",
        FeeSide.QUOTE,
    )
    assert (inst.maker_fee, inst.taker_fee) == (Decimal("0.0002"), Decimal("0.0005"))
    assert inst.price_step == Decimal("0.0001")
    assert "price_step" in default.defaulted
    assert default.volume_unit is VolumeUnit.BASE
    overrides = MetaOverrides(
        price_step=Decimal("0.0001"),
        maker_fee=Decimal("0"),
        volume_unit=VolumeUnit.QUOTE,
    )
    given = import_file(
        catalog, path, key, options=ImportOptions(overrides=overrides), market_type=market
    ).meta
    assert given.instrument.maker_fee == Decimal("0")
    assert given.volume_unit is VolumeUnit.QUOTE
    assert "price_step" not in given.defaulted
    assert "maker_fee" not in given.defaulted
    assert catalog.meta(key) == given


def test_key_for_file_needs_symbol_and_timeframe_for_plain_files(shared_data: Path) -> None:
    path = shared_data / "candles" / BTC_PERP_CSV
    with pytest.raises(UserError, match="give --symbol"):
        key_for_file(path, exchange="x", symbol=None, timeframe=None, kind=None)
    with pytest.raises(UserError, match="give --timeframe"):
        key_for_file(path, exchange="x", symbol="BTC/USD:USD", timeframe=None, kind=None)
    key, _ = key_for_file(path, exchange="x", symbol="BTC/USD:USD", timeframe="1m", kind=None)
    assert key == SeriesKey("x", "BTC/USD:USD", "1m", DataKind.CANDLES)


def _freqtrade_folder(shared_data: Path, root: Path) -> Path:
    folder = root / "binance"
    (folder / "futures").mkdir(parents=True)
    for path in (shared_data / "candles").glob("*.feather"):
        (folder / path.name).write_bytes(path.read_bytes())
    for path in (shared_data / "futures").iterdir():
        (folder / "futures" / path.name).write_bytes(path.read_bytes())
    trades = shared_data / "trades" / "XRP_ETH-trades.feather"
    (folder / trades.name).write_bytes(trades.read_bytes())
    return folder


def test_import_freqtrade_folder_reads_everything_from_file_names(
    catalog: Catalog, shared_data: Path, tmp_path: Path
) -> None:
    folder = _freqtrade_folder(shared_data, tmp_path)
    (folder / "README.txt").write_text("not data")
    seen: list[str] = []
    outcome = import_freqtrade_folder(folder, catalog, on_file=lambda f: seen.append(f.path.name))
    assert len(outcome.imported) == 15
    assert not outcome.refused
    assert len(seen) == 15
    assert [p.name for p, _ in outcome.skipped] == ["README.txt"]
    stored = catalog.keys()
    assert len(stored) == 15
    assert sorted({k.kind.value for k in stored}) == ["candles", "funding_rate", "mark", "trades"]
    assert {k.exchange for k in stored} == {"binance"}
    gaps = {str(r.key): r.report.gap_count for r in outcome.imported}
    assert gaps["binance UNITTEST/BTC 1m candles"] == 538
    assert gaps["binance XRP/ETH 1m candles"] == 676


def test_scan_prefers_feather_when_a_series_exists_twice(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "candles" / "XRP_ETH-5m.feather"
    (tmp_path / source.name).write_bytes(source.read_bytes())
    (tmp_path / "XRP_ETH-5m.json").write_bytes(b"[]")
    scan = scan_freqtrade_folder(tmp_path)
    assert [f.path.name for f in scan.files] == ["XRP_ETH-5m.feather"]
    assert scan.skipped == [(tmp_path / "XRP_ETH-5m.json", "same series as XRP_ETH-5m.feather")]
