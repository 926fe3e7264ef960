"""``tradewind trade --mode paper`` with ``[[sources.candles]]`` in the config: the session reads
both simulated venues and records which; user mistakes in ``[sources]`` exit 2 naming them (a
live session's first candle source that is not its trading exchange among them)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson
import pytest
from sourcekit import two_venues

from tradewind.exchange_sim import SimClock

_RUN = [sys.executable, "-c", "import sys; from tradewind.cli.main import run; sys.exit(run())"]


def _toml(urls: list[tuple[str, str]], extra: str = "") -> str:
    text = "[sources]\ndivergence_bps = 500\n"
    for name, url in urls:
        text += (f'\n[[sources.candles]]\nname = "{name}"\n'
                 f'exchange = {{ rest_url = "{url}", rate_limit = false{extra} }}\n')  # fmt: skip
    return text


async def _tradewind(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *_RUN, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.slow
async def test_paper_trade_reads_the_configured_sources(shared_data: Path, tmp_path: Path) -> None:
    async with two_venues(shared_data, SimClock(speed=300.0), 5.0, only_eth_btc=True) as venues:
        urls = [(v.spec.name, v.server.rest_url) for v in venues.venues]
        config = tmp_path / "tradewind.toml"
        # The bot's database in the test's folder, not in the working directory's user_data.
        config.write_text(f'[database]\nbots_dir = "{tmp_path / "bots"}"\n\n' + _toml(urls))
        run = tmp_path / "run"
        code, out, err = await _tradewind(
            "trade", "--mode", "paper", "-s", "sma_cross", "--symbol", "ETH/BTC", "-t", "5m",
            "--warmup", "40", "--max-bars", "4", "--run-dir", str(run), "--config", str(config),
        )  # fmt: skip
    assert code == 0, err
    assert urls[0][1] in out  # the primary is the session's exchange
    settings = orjson.loads((run / "session.json").read_bytes())
    assert settings["sources"] == ["binance", "binance2"]
    assert settings["rest_url"] == urls[0][1]


async def test_sources_mistakes_exit_2_naming_them(tmp_path: Path) -> None:
    urls = [("binance", "http://127.0.0.1:9"), ("binance2", "http://127.0.0.1:10")]
    live = tmp_path / "live.toml"
    live.write_text(_toml(urls))
    keyed = tmp_path / "keyed.toml"
    keyed.write_text(_toml(urls, extra=', api_key = "k", secret = "s"'))
    args = ["-s", "sma_cross", "--symbol", "ETH/BTC", "-t", "5m", "--run-dir", str(tmp_path / "r")]

    code, _, err = await _tradewind("trade", "--mode", "live", *args, "--config", str(live),
                                    "--max-capital", "1", "--i-understand-live-orders")  # fmt: skip
    assert code == 2
    assert err.startswith("error:"), err
    # A live session reads [sources] too, but its first candle source is its trading exchange.
    assert "the first of the [[sources.candles]] is the session's exchange" in err, err
    code, _, err = await _tradewind("trade", *args, "--config", str(keyed))
    assert code == 2
    assert "source 'binance': a market-data source reads public data; give it no key" in err, err
    assert "Traceback" not in err
