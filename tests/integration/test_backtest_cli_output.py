"""`tradewind backtest` prints numbers as a trader reads them: no reprs, exponents or raw floats."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tradewind.cli.main import run


def test_backtest_table_is_formatted_for_a_trader(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["--log-level", "WARNING", "backtest", "-s", "sma_cross", "--to", "2022-01-04",
                "--cash", "100000"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "Backtest sma_cross (fast=10, slow=30, short=no)" in out
    assert re.search(r"Total return\s+│\s+-?[\d,]+\.\d\d%\s+│\s+-?[\d,]+\.\d\d%", out)
    assert re.search(r"Initial equity\s+│\s+100,000\.00\s+│\s+100,000\.00", out)
    assert re.search(r"Closed trades\s+│\s+\d[\d,]*\s+│\s+—", out)
    assert "{'" not in out
    assert not re.search(r"\d[eE][+-]\d", out)
    assert not re.search(r"\d\.\d{7,}", out)


def test_data_show_prints_stored_prices_without_float_noise(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = str(tmp_path / "cat")
    source = str(shared_data / "candles" / "ETH_BTC-5m.feather")
    assert run(["data", "import", source, "--data-dir", catalog]) == 0
    capsys.readouterr()

    assert run(["data", "show", "--symbol", "ETH/BTC", "-t", "5m", "--data-dir", catalog]) == 0

    out = capsys.readouterr().out
    # Row 1 opens at 0.09946999 (stored as the float 0.09946999000000001).
    assert "0.09946999" in out
    assert "0000000" not in out
    assert "1,820.54447418" in out
