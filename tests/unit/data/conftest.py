"""Fixtures for the market-data tests: real shared files read into catalog frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tradewind.data.catalog import Catalog
from tradewind.data.ingest import read_file
from tradewind.data.kinds import DataKind


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """An empty catalog in a temporary folder."""
    return Catalog(tmp_path / "catalog")


@pytest.fixture(scope="session")
def eth_btc_5m(shared_data: Path) -> pd.DataFrame:
    """Real Binance ETH/BTC 5m candles (5,760 rows, no gaps)."""
    return read_file(shared_data / "candles" / "ETH_BTC-5m.feather", DataKind.CANDLES)


@pytest.fixture(scope="session")
def unittest_1m(shared_data: Path) -> pd.DataFrame:
    """Real Binance 1m candles with 538 gaps."""
    return read_file(shared_data / "candles" / "UNITTEST_BTC-1m.feather", DataKind.CANDLES)


@pytest.fixture(scope="session")
def funding(shared_data: Path) -> pd.DataFrame:
    """Real Binance XRP/USDT:USDT funding rates, most stamped a few ms after the 8h grid."""
    path = shared_data / "futures" / "XRP_USDT_USDT-8h-funding_rate.feather"
    return read_file(path, DataKind.FUNDING)
