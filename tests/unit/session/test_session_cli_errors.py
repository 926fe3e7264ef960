"""`tradewind trade` and `tradewind drift` refuse user mistakes with one clear line (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.cli.main import run


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
