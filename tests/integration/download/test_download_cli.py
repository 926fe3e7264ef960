"""``tradewind data download`` end to end, in process, against the loopback Binance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from tradewind.cli.context import STATE
from tradewind.cli.main import run
from tradewind.data.catalog import Catalog, SeriesKey
from tradewind.data.kinds import DataKind
from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A config with a fast retry policy and the rate limiter off (loopback needs neither)."""
    path = tmp_path / "tradewind.toml"
    path.write_text(
        "[exchange]\nrate_limit = false\nmax_retries = 2\nretry_base_delay_s = 0.001\n"
        f'[data]\ndir = "{tmp_path / "catalog"}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture(autouse=True)
def fresh_cli_state() -> Iterator[None]:
    """Each in-process run starts from a clean CLI state (the state object is module-global)."""
    saved = (STATE.overrides, STATE._config, STATE.config_path, STATE.debug)
    STATE.overrides, STATE._config = {}, None
    yield
    STATE.overrides, STATE._config, STATE.config_path, STATE.debug = saved


def flat(text: str) -> str:
    """Rich wraps output to the terminal width; compare words, not line breaks."""
    return " ".join(text.split())


def download_args(config_file: Path, server: LoopbackServer, *extra: str) -> list[str]:
    return [
        "--config",
        str(config_file),
        "data",
        "download",
        "--rest-url",
        server.rest_url,
        *extra,
    ]


def test_download_end_to_end_then_resume(
    server: LoopbackServer,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
    shift: Callable[[str, str], int],
) -> None:
    # The recording's dates on the simulator's clock.
    offset = pd.Timedelta(milliseconds=shift("spot", "ETHBTC"))

    def at(text: str) -> str:
        return f"{pd.Timestamp(text, tz='UTC') + offset:%Y-%m-%d %H:%M}"

    args = ["--symbol", "ETH/BTC", "--timeframe", "5m", "--since", at("2018-01-10")]
    code = run(download_args(config_file, server, *args, "--until", at("2018-01-20")))
    out = flat(capsys.readouterr().out)
    assert code == 0
    assert "Downloaded binance ETH/BTC 5m candles" in out
    assert "2,821" in out  # 2018-01-10 04:55 to 2018-01-19 23:55, no gaps
    catalog = Catalog(config_file.parent / "catalog")
    key = SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)
    assert catalog.row_count(key) == 2821

    assert run(download_args(config_file, server, *args)) == 0
    out = flat(capsys.readouterr().out)
    assert f"{at('2018-01-19 23:55')}:00" in out  # resumed after the last stored candle
    assert catalog.row_count(key) == 5760


def test_funding_rates_from_the_command_line(
    server: LoopbackServer, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--symbol", "XRP/USDT:USDT", "--kind", "funding_rate", "--since", "2021-11-01"]
    assert run(download_args(config_file, server, *args)) == 0
    assert "Downloaded binance XRP/USDT:USDT 8h funding_rate" in flat(capsys.readouterr().out)


def test_a_bad_symbol_exits_2_with_one_line(
    server: LoopbackServer, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--symbol", "NOPE/BTC", "--timeframe", "5m", "--since", "2018-01-10"]
    code = run(download_args(config_file, server, *args))
    err = capsys.readouterr().err
    assert code == 2
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert error_lines == [
        "error: binance has no such market (binance does not have market symbol NOPE/BTC)"
    ]
    assert "Traceback" not in err


def test_an_unreadable_date_exits_2(
    server: LoopbackServer, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--symbol", "ETH/BTC", "--timeframe", "5m", "--since", "last tuesday"]
    assert run(download_args(config_file, server, *args)) == 2
    assert "--since: cannot read 'last tuesday' as a date" in flat(capsys.readouterr().err)


def test_an_unknown_kind_exits_2(
    server: LoopbackServer, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--symbol", "ETH/BTC", "--kind", "book_deltas", "--since", "2018-01-10"]
    assert run(download_args(config_file, server, *args)) == 2
    err = flat(capsys.readouterr().err)
    assert "--kind must be one of candles, mark, funding_rate, trades" in err


def test_an_outage_exits_1_and_keeps_what_arrived(
    server: LoopbackServer, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.faults.add(
        Fault(kind=FaultKind.SERVER_ERROR, at_request=3, times=20, path="/api/v3/klines")
    )
    args = ["--symbol", "ETH/BTC", "--timeframe", "5m", "--since", "2018-01-10"]
    code = run(download_args(config_file, server, *args))
    err = flat(capsys.readouterr().err)
    assert code == 1
    assert "binance still failing after 3 attempts: ExchangeNotAvailable" in err
    assert "run the same command again to resume" in err
    assert "Traceback" not in err
    catalog = Catalog(config_file.parent / "catalog")
    assert catalog.row_count(SeriesKey("binance", "ETH/BTC", "5m", DataKind.CANDLES)) == 2000
