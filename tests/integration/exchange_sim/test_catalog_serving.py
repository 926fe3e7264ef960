"""``exchange-sim --catalog DIR``: a user's own catalog, written by ``tradewind data import``,
served to the real ccxt client exactly as stored (on the simulator's clock)."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import ccxt
import pytest
from simkit import configure, open_account
from test_cli import _RUN, _start

from tradewind.cli.main import run
from tradewind.cli.sim_catalog import list_catalog
from tradewind.core.errors import UserError
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.kinds import DataKind
from tradewind.exchange_sim import LoopbackServer, SimExchange
from tradewind.testing.replay import first_pass_offset

ETH = SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)
XRP_FUNDING = SeriesKey("binance", "XRP/USDT:USDT", "8h", DataKind.FUNDING)


@pytest.fixture(scope="module")
def catalog_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog imported from a Freqtrade folder holding ETH/BTC 5m and the XRP perpetual."""
    root = tmp_path_factory.mktemp("catalog")
    folder = root / "user_data" / "data" / "binance"
    (folder / "futures").mkdir(parents=True)
    shutil.copy(shared_data / "candles" / "ETH_BTC-5m.feather", folder)
    for name in ("XRP_USDT_USDT-5m-futures.feather", "XRP_USDT_USDT-8h-funding_rate.feather",
                 "XRP_USDT_USDT-1h-mark.feather"):  # fmt: skip
        shutil.copy(shared_data / "futures" / name, folder / "futures")
    assert run(["data", "import", str(folder), "--data-dir", str(root / "cat")]) == 0
    return root / "cat"


@pytest.fixture
def served(catalog_dir: Path) -> Iterator[tuple[LoopbackServer, SimExchange]]:
    sim = SimExchange(seed=2)
    report = list_catalog(sim, catalog_dir)
    assert report.listed["spot:ETHBTC"] == ["5m candles"]
    assert report.listed["usdm:XRPUSDT"] == ["5m candles", "1h mark", "funding rates"]
    with LoopbackServer(sim) as server:
        yield server, sim


def _client(server: LoopbackServer) -> ccxt.binance:
    client = ccxt.binance(
        {
            "apiKey": (key := open_account(server)).key,
            "secret": key.secret,
            "enableRateLimit": False,
            "options": {
                "fetchMarkets": {"types": ["spot", "linear"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
    )
    configure(client, server, ws=False)
    client.load_markets()
    return client


def test_the_catalog_is_served_as_stored(
    served: tuple[LoopbackServer, SimExchange], catalog_dir: Path
) -> None:
    server, _ = served
    ex = _client(server)
    stored = Catalog(catalog_dir).read(ETH)
    shift = first_pass_offset(server.rest_url, "spot", "ETHBTC")
    since = int(stored["date"].iloc[0].value // 1_000_000) + shift
    got: list[list[float]] = []
    while len(got) < len(stored):
        page = ex.fetch_ohlcv("ETH/BTC", "5m", since, 1000)
        got += page
        since = int(page[-1][0]) + 300_000
    got = got[: len(stored)]
    assert [int(r[0]) - shift for r in got] == [d.value // 1_000_000 for d in stored["date"]]
    sat = Decimal("0.00000001")
    for column, index in (("open", 1), ("high", 2), ("low", 3), ("close", 4), ("volume", 5)):
        expected = [float(Decimal(repr(float(v))).quantize(sat)) for v in stored[column]]
        assert [r[index] for r in got] == expected
    market = ex.market("ETH/BTC")
    assert market["precision"]["price"] == 1e-8
    # Funding rates of the perpetual, on the same clock as its candles.
    rates = ex.fetch_funding_rate_history("XRP/USDT:USDT", 0, 1000)
    funding = Catalog(catalog_dir).read(XRP_FUNDING)
    perp_shift = first_pass_offset(server.rest_url, "usdm", "XRPUSDT")
    assert [r["timestamp"] - perp_shift for r in rates[: len(funding)]] == [
        d.value // 1_000_000 for d in funding["date"]
    ]
    # And it trades: a market buy fills against the book derived from the stored candles.
    order = ex.create_order("ETH/BTC", "market", "buy", 0.5)
    assert order["status"] == "closed"
    assert order["filled"] == 0.5
    ticker = ex.fetch_ticker("ETH/BTC")
    assert ticker["low"] <= ticker["last"] <= ticker["high"]


def test_a_folder_without_series_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no stored series"):
        list_catalog(SimExchange(), tmp_path)
    with pytest.raises(UserError, match="no such folder"):
        list_catalog(SimExchange(), tmp_path / "missing")


def test_the_command_serves_a_catalog(catalog_dir: Path) -> None:
    proc, lines = _start(["--catalog", str(catalog_dir), "--port", "0"])
    try:
        assert any(line.startswith("listed   spot:ETHBTC: 5m candles") for line in lines)
        assert any(line.startswith("listed   usdm:XRPUSDT:") for line in lines)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_data_and_catalog_together_are_refused(catalog_dir: Path, shared_data: Path) -> None:
    import subprocess

    done = subprocess.run([*_RUN, "exchange-sim", "--data", str(shared_data), "--catalog",
                           str(catalog_dir), "--port", "0"], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "--data and --catalog" in done.stdout + done.stderr
