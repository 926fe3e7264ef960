"""History download through the real ccxt client against the loopback Binance.

Ours: ``tradewind.data.download`` of the real UNITTEST/BTC 1-minute recording (13,681 candles,
14 pages) into an empty catalog, with validation and parquet storage. Peer: ccxt's own
deterministic pagination (``fetch_ohlcv(..., params={'paginate': True})``) fetching the same range
into a Python list, without validation or storage. Both runs are checked against the recording
before they are timed. A second row times one 1,000-candle ``klines`` page served by the
simulator to a bare HTTP client (no peer: it is the floor both downloads stand on).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import requests

from benchmarks.common import Row, best_time
from tradewind.connectors.client import create_client
from tradewind.connectors.config import ExchangeConfig
from tradewind.data.catalog import Catalog
from tradewind.data.download import download
from tradewind.data.kinds import DataKind
from tradewind.exchange_sim import LoopbackServer, SimExchange
from tradewind.exchange_sim.recordings import list_shared_recordings
from tradewind.testing.shared_data import shared_data_dir

SYMBOL = "UNITTEST/BTC"


def run(quick: bool) -> list[Row]:
    """Check both downloads against the recording, then time them and one served page."""
    root = shared_data_dir()
    if root is None:
        raise RuntimeError("the recorded data folder is missing: the download benchmark needs it")
    source = pd.read_feather(root / "candles" / "UNITTEST_BTC-1m.feather")
    since = pd.Timestamp(source["date"].iloc[0])
    until = pd.Timestamp(source["date"].iloc[-1]) + pd.Timedelta(minutes=1)
    since_ms, until_ms = since.value // 1_000_000, until.value // 1_000_000
    sim = list_shared_recordings(SimExchange(), root)
    repeat = 2 if quick else 5
    with LoopbackServer(sim) as server, tempfile.TemporaryDirectory() as tmp:
        cfg = ExchangeConfig(rest_url=server.rest_url, rate_limit=False)
        runs = iter(range(1_000_000))

        def ours() -> Catalog:
            catalog = Catalog(Path(tmp) / str(next(runs)))
            download(catalog, cfg, SYMBOL, "1m", DataKind.CANDLES, since, until)
            return catalog

        client = create_client(cfg)
        client.load_markets()

        def peer() -> list[list[float]]:
            rows: list[list[float]] = client.fetch_ohlcv(
                SYMBOL,
                "1m",
                since_ms,
                None,
                {"paginate": True, "paginationCalls": 30, "until": until_ms - 1},
            )
            return rows

        catalog = ours()
        stored = catalog.read(catalog.keys()[0])
        _check(stored[["open", "high", "low", "close", "volume"]].to_numpy(), source)
        _check(np.array(peer())[:, 1:6].astype(np.float64), source)

        ours_s = best_time(ours, repeat=repeat, min_time=0.1)
        peer_s = best_time(peer, repeat=repeat, min_time=0.1)
        page_url = f"{server.rest_url}/api/v3/klines"
        params = {"symbol": "UNITTESTBTC", "interval": "1m", "startTime": since_ms, "limit": 1000}
        session = requests.Session()

        def page() -> int:
            return len(session.get(page_url, params=params, timeout=5).json())

        if page() != 1000:
            raise AssertionError("the simulator served a short page")
        page_s = best_time(page, repeat=repeat, min_time=0.2)
    rows = len(source)
    return [
        Row(
            group="download",
            name=f"{rows:,} 1m candles, 14 pages, ccxt via loopback",
            ours=rows / ours_s,
            unit="rows/s",
            peer_name="ccxt paginate=True (no validation, no storage)",
            peer=rows / peer_s,
            higher_is_better=True,
            note="ours validates and stores parquet",
        ),
        Row(
            group="download",
            name="simulator: one 1,000-candle klines page",
            ours=page_s,
            note="bare requests.Session, loopback",
        ),
    ]


def _check(values: np.ndarray, source: pd.DataFrame) -> None:
    expected = source[["open", "high", "low", "close", "volume"]].to_numpy()
    if values.shape != expected.shape or not np.array_equal(values, expected):
        raise AssertionError("downloaded candles differ from the recording")
