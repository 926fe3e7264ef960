"""`tradewind trade` and `tradewind drift` refuse user mistakes with one clear line (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.backtest.spec import BacktestSpec
from tradewind.cli.main import run
from tradewind.connectors.config import ExchangeConfig
from tradewind.connectors.source_config import SourcesConfig
from tradewind.core.errors import UserError
from tradewind.session.paper import PaperConfig
from tradewind.strategies.builtin import SmaCross
from tradewind.venues.sim import FillModel


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trade", "--mode", "live", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m"],
         "--mode live needs --max-capital"),
        (["trade", "--mode", "live", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m",
          "--max-capital", "200"], "confirm with --i-understand-live-orders"),
        (["trade", "--mode", "live", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m",
          "--max-capital", "lots"], "--max-capital must be a number"),
        (["trade", "--mode", "live", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m",
          "--max-capital", "200", "--i-understand-live-orders"], "needs the exchange key"),
        (["trade", "--mode", "dry", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m"],
         "--mode must be paper or live"),
        (["trade", "-s", "sma_cross", "-t", "1m"], "--symbol is required"),
        (["trade", "-s", "sma_cross", "--symbol", "BTC/USDT"], "-t/--timeframe is required"),
        (["trade", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m", "--data", "x.csv"],
         "trade cannot apply --data"),
        (["trade", "--mode", "live", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m",
          "--take-profit", "0.02"], "take-profit) is not yet supported in live sessions"),
        (["trade", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m", "--stop", "1.5"],
         "stop_pct must be a fraction in (0, 1), got 1.5"),
        (["trade", "-s", "nope", "--symbol", "BTC/USDT", "-t", "1m"], "nope"),
        (["trade", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m", "--execution",
          "twap:slices=0,horizon=1h"], "twap: slices must be at least 1, got 0"),
        (["trade", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m", "--execution",
          "vwop"], "unknown execution algorithm 'vwop'"),
        (["trade", "--mode", "live", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m",
          "--max-capital", "200", "--fill", "book"], "--fill book is for --mode paper"),
        (["trade", "-s", "sma_cross", "--symbol", "BTC/USDT", "-t", "1m", "--fill", "walk"],
         "--fill must be next_open, close or book (paper), got 'walk'"),
    ],
)  # fmt: skip
def test_trade_refuses_mistakes(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(args) == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_drift_refuses_a_folder_without_a_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["drift", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no session.json" in err
    assert "Traceback" not in err


def test_the_book_fill_with_sources_needs_a_book_source(tmp_path: Path) -> None:
    exchange = ExchangeConfig(rest_url="http://127.0.0.1:1", rate_limit=False)
    candles = [{"name": "binance", "exchange": exchange.model_dump()}]
    common = {
        "exchange": exchange, "strategies": [SmaCross()], "symbols": ("BTC/USDT",),
        "timeframe": "1m", "run_dir": tmp_path,
        "spec": BacktestSpec(fill=FillModel(book_walk=True)),
    }  # fmt: skip
    with pytest.raises(UserError, match=r"--fill book with \[sources\] needs \[\[sources.books"):
        PaperConfig(sources=SourcesConfig.model_validate({"candles": candles}), **common)
    with_books = SourcesConfig.model_validate({"candles": candles, "books": candles})
    assert PaperConfig(sources=with_books, **common).sources is with_books
