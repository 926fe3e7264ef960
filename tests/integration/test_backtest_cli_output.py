"""`tradewind backtest` prints numbers as a trader reads them: no reprs, exponents or raw floats."""

from __future__ import annotations

import re

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
