"""``tradewind.data.download`` with the real ccxt client against the loopback Binance.

Every test downloads real recorded data through ccxt's own ``fetch_ohlcv``,
``fetch_funding_rate_history`` and ``fetch_trades`` and checks the stored series against the
recording it was served from, and the server's request log against the paging it should cause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.connectors.client import create_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.errors import RetriesExhaustedError
from tradewind.connectors.history import HistoryFetcher, RetryPolicy
from tradewind.core.errors import DataError, UserError
from tradewind.core.instrument import MarketType
from tradewind.core.records import Side
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.download import download
from tradewind.data.kinds import DataKind
from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.testing.replay import first_pass_offset

KLINES = "/api/v3/klines"
EPOCH = pd.Timestamp("2017-01-01", tz="UTC")
OHLCV = ["open", "high", "low", "close", "volume"]


def recorded(shared_data: Path, name: str, shift_ms: int = 0) -> pd.DataFrame:
    """A recording as the simulator serves it: shifted onto its clock by ``shift_ms``."""
    frame = pd.read_feather(shared_data / name)
    frame["date"] = frame["date"].astype("datetime64[ms, UTC]") + pd.Timedelta(
        milliseconds=shift_ms
    )
    return frame


Shift = Callable[[str, str], int]


def at(text: str, shift_ms: int) -> pd.Timestamp:
    """A recording's date on the simulator's clock."""
    return pd.Timestamp(text, tz="UTC") + pd.Timedelta(milliseconds=shift_ms)


def ms(dates: pd.Series) -> list[int]:
    return [int(t.value // 1_000_000) for t in dates]


def on_grid(values: pd.Series, grid: str) -> np.ndarray:
    """What Binance published: the file's floats (``0.0016200000000000001``) on the grid."""
    step = Decimal(grid)
    return np.array(
        [np.nan if np.isnan(v) else float(Decimal(repr(float(v))).quantize(step)) for v in values]
    )


def assert_same_candles(stored: pd.DataFrame, source: pd.DataFrame, tick: str = "1e-8") -> None:
    assert len(stored) == len(source)
    assert (stored["date"].to_numpy() == source["date"].to_numpy()).all()
    for column in OHLCV:
        grid = "1e-8" if column == "volume" else tick
        np.testing.assert_array_equal(stored[column].to_numpy(), on_grid(source[column], grid))


def fetcher_for(cfg: ExchangeConfig, waits: list[float]) -> HistoryFetcher:
    """A fetcher like download's own, recording its backoff waits instead of sleeping."""
    return HistoryFetcher(
        create_client(cfg), policy=RetryPolicy.from_config(cfg), sleep=waits.append
    )


def test_pagination_stores_the_source_rows_exactly(
    server: LoopbackServer,
    exchange_cfg: ExchangeConfig,
    catalog: Catalog,
    shared_data: Path,
    shift: Shift,
) -> None:
    source = recorded(shared_data, "candles/UNITTEST_BTC-1m.feather", shift("spot", "UNITTESTBTC"))
    summary = download(catalog, exchange_cfg, "UNITTEST/BTC", "1m", DataKind.CANDLES, EPOCH)
    key = SeriesKey("binance", "UNITTEST/BTC", "1m", DataKind.CANDLES)
    assert_same_candles(catalog.read(key), source)
    assert (summary.rows_added, summary.pages, summary.retries) == (13681, 14, 0)
    assert summary.gaps == 538  # the real gaps SOURCES.md lists for this file
    assert summary.first == source["date"].iloc[0]
    assert summary.last == source["date"].iloc[-1]
    pages = server.requests(KLINES)
    assert len(pages) == 14
    assert all(r.params["limit"] == "1000" for r in pages)
    # Each page starts one minute after the previous page's last candle.
    starts = [int(r.params["startTime"]) for r in pages[1:]]
    assert starts == [t + 60_000 for t in ms(source["date"].iloc[999:13000:1000])]


def test_market_metadata_comes_from_the_exchange(
    exchange_cfg: ExchangeConfig, catalog: Catalog, shift: Shift
) -> None:
    offset = shift("usdm", "XRPUSDT")
    since, until = at("2021-11-15", offset), at("2021-11-16", offset)
    download(catalog, exchange_cfg, "XRP/USDT:USDT", "5m", DataKind.CANDLES, since, until)
    meta = catalog.meta(SeriesKey("binance", "XRP/USDT:USDT", "5m", DataKind.CANDLES))
    inst = meta.instrument
    assert inst.market_type is MarketType.SWAP
    assert inst.settle == "USDT"
    assert inst.linear
    assert (inst.price_step, inst.amount_step) == (Decimal("0.00001"), Decimal("0.1"))
    assert inst.min_notional == Decimal("5")
    assert inst.exchange_id == "XRPUSDT"
    assert (inst.maker_fee, inst.taker_fee) == (Decimal("0.0002"), Decimal("0.0005"))
    assert inst.fee_currency(Side.BUY) == inst.fee_currency(Side.SELL) == "USDT"
    assert meta.source == "downloaded from binance"


def test_resume_fetches_only_the_rest(
    server: LoopbackServer,
    exchange_cfg: ExchangeConfig,
    catalog: Catalog,
    shared_data: Path,
    shift: Shift,
) -> None:
    offset = shift("spot", "ETHBTC")
    source = recorded(shared_data, "candles/ETH_BTC-5m.feather", offset)
    cut = at("2018-01-20", offset)
    first = download(catalog, exchange_cfg, "ETH/BTC", "5m", DataKind.CANDLES, EPOCH, cut)
    assert first.last == cut - pd.Timedelta(minutes=5)
    server.faults.clear_log()

    second = download(catalog, exchange_cfg, "ETH/BTC", "5m", DataKind.CANDLES, EPOCH)

    key = SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)
    assert_same_candles(catalog.read(key), source)
    assert second.resumed_from == first.last
    assert first.rows_added + second.rows_added == len(source)
    asked = server.requests(KLINES)
    # Only the rest was asked for: the first request starts at the cut, none before it.
    assert int(asked[0].params["startTime"]) == cut.value // 1_000_000
    assert len(asked) == -(-second.rows_added // 1000)


def test_a_429_burst_is_retried_with_backoff(
    server: LoopbackServer,
    exchange_cfg: ExchangeConfig,
    catalog: Catalog,
    shared_data: Path,
    shift: Shift,
) -> None:
    server.faults.add(
        Fault(kind=FaultKind.RATE_LIMIT, at_request=2, times=3, path=KLINES, retry_after_s=0)
    )
    waits: list[float] = []
    summary = download(
        catalog,
        exchange_cfg,
        "ETH/BTC",
        "5m",
        DataKind.CANDLES,
        EPOCH,
        fetcher=fetcher_for(exchange_cfg, waits),
    )
    source = recorded(shared_data, "candles/ETH_BTC-5m.feather", shift("spot", "ETHBTC"))
    assert_same_candles(catalog.read(summary.key), source)
    assert summary.retries == 3
    assert waits == [0.001, 0.002, 0.004]  # exponential from retry_base_delay_s
    log = server.requests(KLINES)
    assert [r.status for r in log[:5]] == [200, 429, 429, 429, 200]
    # The retries repeat the same page request.
    assert len({r.params["startTime"] for r in log[1:5]}) == 1


def test_retry_after_is_honoured_when_longer_than_the_backoff(
    server: LoopbackServer, exchange_cfg: ExchangeConfig, catalog: Catalog, shift: Shift
) -> None:
    server.faults.add(Fault(kind=FaultKind.IP_BAN, at_request=1, path=KLINES, retry_after_s=3))
    waits: list[float] = []
    fetcher = fetcher_for(exchange_cfg, waits)
    download(
        catalog,
        exchange_cfg,
        "ETH/BTC",
        "5m",
        DataKind.CANDLES,
        EPOCH,
        at("2018-01-11", shift("spot", "ETHBTC")),
        fetcher=fetcher,
    )
    assert waits == [3.0]
    assert fetcher.stats.retried_errors == ["DDoSProtection"]  # 418, not RateLimitExceeded


@pytest.mark.parametrize(
    ("status", "json_body", "raised"),
    [(503, False, "ExchangeNotAvailable"), (500, True, "OperationFailed")],
)
def test_a_5xx_is_retried(
    server: LoopbackServer,
    exchange_cfg: ExchangeConfig,
    catalog: Catalog,
    shared_data: Path,
    shift: Shift,
    status: int,
    json_body: bool,
    raised: str,
) -> None:
    server.faults.add(
        # Requests 1-3: both exchangeInfo and the exchange's time; 4: the first page.
        Fault(kind=FaultKind.SERVER_ERROR, at_request=4, status=status, json_body=json_body)
    )
    waits: list[float] = []
    fetcher = fetcher_for(exchange_cfg, waits)
    summary = download(
        catalog, exchange_cfg, "ETH/BTC", "5m", DataKind.CANDLES, EPOCH, fetcher=fetcher
    )
    assert_same_candles(
        catalog.read(summary.key),
        recorded(shared_data, "candles/ETH_BTC-5m.feather", shift("spot", "ETHBTC")),
    )
    assert fetcher.stats.retried_errors == [raised]
    assert [r.status for r in server.requests(KLINES)].count(status) == 1


def test_a_stall_past_the_client_timeout_is_retried(
    server: LoopbackServer,
    exchange_cfg: ExchangeConfig,
    catalog: Catalog,
    shared_data: Path,
    shift: Shift,
) -> None:
    cfg = exchange_cfg.model_copy(update={"timeout_ms": 300})
    server.faults.add(Fault(kind=FaultKind.STALL, at_request=2, delay_s=2.0, path=KLINES))
    waits: list[float] = []
    fetcher = fetcher_for(cfg, waits)
    summary = download(catalog, cfg, "ETH/BTC", "5m", DataKind.CANDLES, EPOCH, fetcher=fetcher)
    assert_same_candles(
        catalog.read(summary.key),
        recorded(shared_data, "candles/ETH_BTC-5m.feather", shift("spot", "ETHBTC")),
    )
    assert fetcher.stats.retried_errors == ["RequestTimeout"]
    stalled = server.requests(KLINES)[1]
    assert stalled.fault is FaultKind.STALL
    assert stalled.status is None


def test_when_retries_run_out_what_was_stored_stays_and_a_rerun_resumes(
    server: LoopbackServer,
    exchange_cfg: ExchangeConfig,
    catalog: Catalog,
    shared_data: Path,
    shift: Shift,
) -> None:
    server.faults.add(
        Fault(kind=FaultKind.RATE_LIMIT, at_request=3, times=50, path=KLINES, retry_after_s=0)
    )
    with pytest.raises(RetriesExhaustedError, match="still failing after 5 attempts"):
        download(catalog, exchange_cfg, "ETH/BTC", "5m", DataKind.CANDLES, EPOCH)
    key = SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)
    assert catalog.row_count(key) == 2000  # two full pages arrived before the outage
    server.faults.clear()
    download(catalog, exchange_cfg, "ETH/BTC", "5m", DataKind.CANDLES, EPOCH)
    source = recorded(shared_data, "candles/ETH_BTC-5m.feather", shift("spot", "ETHBTC"))
    assert_same_candles(catalog.read(key), source)


def test_mark_price_candles(
    server: LoopbackServer,
    exchange_cfg: ExchangeConfig,
    catalog: Catalog,
    shared_data: Path,
    shift: Shift,
) -> None:
    summary = download(catalog, exchange_cfg, "XRP/USDT:USDT", "1h", DataKind.MARK, EPOCH)
    stored = catalog.read(summary.key)
    offset = shift("usdm", "XRPUSDT")
    source = recorded(shared_data, "futures/XRP_USDT_USDT-1h-mark.feather", offset)
    assert_same_candles(stored, source, "0.00001")  # volume NaN on both sides: none published
    assert stored["volume"].isna().all()
    assert server.requests("/fapi/v1/markPriceKlines")[0].params["interval"] == "1h"


def test_funding_rates_keep_the_exchange_stamps(
    server: LoopbackServer,
    exchange_cfg: ExchangeConfig,
    catalog: Catalog,
    shared_data: Path,
    shift: Shift,
) -> None:
    summary = download(catalog, exchange_cfg, "XRP/USDT:USDT", None, DataKind.FUNDING, EPOCH)
    assert summary.key.timeframe == "8h"
    stored = catalog.read(summary.key)
    offset = shift("usdm", "XRPUSDT")
    source = recorded(shared_data, "futures/XRP_USDT_USDT-8h-funding_rate.feather", offset)
    assert (stored["date"].to_numpy() == source["date"].to_numpy()).all()
    np.testing.assert_array_equal(stored["rate"].to_numpy(), source["open"].to_numpy())
    assert server.requests("/fapi/v1/fundingRate")[0].params["limit"] == "1000"


def test_funding_resume_starts_after_the_last_event(
    server: LoopbackServer,
    exchange_cfg: ExchangeConfig,
    catalog: Catalog,
    shared_data: Path,
    shift: Shift,
) -> None:
    offset = shift("usdm", "XRPUSDT")
    cut = at("2021-12-01", offset)
    download(catalog, exchange_cfg, "XRP/USDT:USDT", "8h", DataKind.FUNDING, EPOCH, cut)
    server.faults.clear_log()
    download(catalog, exchange_cfg, "XRP/USDT:USDT", "8h", DataKind.FUNDING, EPOCH)
    key = SeriesKey("binance", "XRP/USDT:USDT", "8h", DataKind.FUNDING)
    assert catalog.row_count(key) == 91
    source = recorded(shared_data, "futures/XRP_USDT_USDT-8h-funding_rate.feather", offset)
    last_before_cut = ms(source["date"][source["date"] < cut])[-1]
    (asked,) = server.requests("/fapi/v1/fundingRate")
    assert int(asked.params["startTime"]) == last_before_cut + 1


def test_public_trades_page_by_id_and_resume(
    server: LoopbackServer,
    exchange_cfg: ExchangeConfig,
    catalog: Catalog,
    shared_data: Path,
    shift: Shift,
) -> None:
    source = pd.read_feather(shared_data / "trades" / "XRP_ETH-trades.feather")
    source["timestamp"] += shift("spot", "XRPETH")
    cut = pd.Timestamp(int(source["timestamp"].iloc[5000]), unit="ms", tz="UTC")
    download(catalog, exchange_cfg, "XRP/ETH", None, DataKind.TRADES, EPOCH, cut)
    server.faults.clear_log()
    summary = download(catalog, exchange_cfg, "XRP/ETH", None, DataKind.TRADES, EPOCH)
    stored = catalog.read(summary.key)
    assert stored["id"].tolist() == source["id"].tolist()
    np.testing.assert_array_equal(stored["price"].to_numpy(), source["price"].to_numpy())
    np.testing.assert_array_equal(stored["amount"].to_numpy(), source["amount"].to_numpy())
    assert stored["side"].tolist() == source["side"].tolist()
    assert ms(stored["date"]) == source["timestamp"].tolist()
    resumed = server.requests("/api/v3/aggTrades")
    # The rerun starts at the last stored millisecond (trades may share it) and skips stored ids.
    last_stored = int(source["timestamp"][source["timestamp"] < cut.value // 1_000_000].max())
    assert int(resumed[0].params["startTime"]) == last_stored
    # After the first time window, pages follow the trade ids.
    assert all("fromId" in r.params for r in resumed[1:])


def test_a_bad_symbol_is_a_user_error(exchange_cfg: ExchangeConfig, catalog: Catalog) -> None:
    with pytest.raises(UserError, match=r"binance has no such market .*NOPE/BTC"):
        download(catalog, exchange_cfg, "NOPE/BTC", "5m", DataKind.CANDLES, EPOCH)


def test_mark_candles_of_a_spot_market_are_refused(
    exchange_cfg: ExchangeConfig, catalog: Catalog
) -> None:
    with pytest.raises(UserError, match="ETH/BTC is a spot market"):
        download(catalog, exchange_cfg, "ETH/BTC", "1h", DataKind.MARK, EPOCH)


def test_an_unserved_interval_is_a_user_error(
    exchange_cfg: ExchangeConfig, catalog: Catalog
) -> None:
    with pytest.raises(UserError, match="Invalid interval"):
        download(catalog, exchange_cfg, "XRP/USDT:USDT", "1s", DataKind.CANDLES, EPOCH)


def test_a_page_breaking_the_rules_stops_the_download_and_is_not_stored(
    catalog: Catalog, shared_data: Path, recorded_exchange: SimExchange
) -> None:
    # A corrupted copy of the real recording: one candle's high below its low, on page 2.
    broken = recorded(shared_data, "candles/ETH_BTC-5m.feather")
    broken.loc[1500, "high"] = broken.loc[1500, "low"] / 2
    sim = SimExchange(clock=recorded_exchange.clock)
    sim.add_listing(shared_listings()["spot:ETHBTC"], klines={"5m": broken})
    with LoopbackServer(sim) as server:
        cfg = ExchangeConfig(rest_url=server.rest_url, rate_limit=False)
        offset = first_pass_offset(server.rest_url, "spot", "ETHBTC")
        with pytest.raises(DataError) as failure:
            download(catalog, cfg, "ETH/BTC", "5m", DataKind.CANDLES, EPOCH)
    message = str(failure.value)
    assert "page 2" in message
    assert "row 500" in message
    assert f"{at('2018-01-15 09:55', offset):%Y-%m-%d %H:%M}" in message
    assert "high" in message
    assert catalog.row_count(SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)) == 1000


def test_secrets_never_reach_logs_or_messages(
    server: LoopbackServer,
    exchange_cfg: ExchangeConfig,
    catalog: Catalog,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.faults.add(Fault(kind=FaultKind.RATE_LIMIT, times=50, path=KLINES, retry_after_s=0))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RetriesExhaustedError) as failure:
        download(catalog, exchange_cfg, "ETH/BTC", "5m", DataKind.CANDLES, EPOCH)
    for secret in ("loopback-key-5b1e9c", "loopback-secret-77d0aa"):
        assert secret not in caplog.text
        assert secret not in str(failure.value)
    assert "retry 1 in" in caplog.text


def test_a_range_that_ends_before_it_starts_is_refused(
    exchange_cfg: ExchangeConfig, catalog: Catalog
) -> None:
    with pytest.raises(UserError, match="must be after"):
        download(catalog, exchange_cfg, "ETH/BTC", "5m", DataKind.CANDLES, EPOCH, EPOCH)


def test_trades_take_no_timeframe(exchange_cfg: ExchangeConfig, catalog: Catalog) -> None:
    with pytest.raises(UserError, match="trades have no timeframe"):
        download(catalog, exchange_cfg, "XRP/ETH", "1m", DataKind.TRADES, EPOCH)
