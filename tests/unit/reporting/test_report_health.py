"""The report says first whether the run had problems, and lists open positions and dust."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from tradewind.backtest import backtest
from tradewind.data.bundled import load_bundled
from tradewind.reporting.html import write_report


def _open_at_the_end() -> tuple[pd.DataFrame, int]:
    frame, _ = load_bundled()
    # The first SMA cross after 2,000 bars opens a position the data then ends inside.
    for rows in range(2_000, 4_000, 37):
        result = backtest("sma_cross", frame.head(rows), fee=0.001, symbol="BTC/USD")
        if result.health is not None and result.health.open_positions:
            return frame, rows
    raise AssertionError("no cut of the month ends with a position open")


def test_health_line_first_and_open_position_and_dust_listed(tmp_path: Path) -> None:
    frame, rows = _open_at_the_end()
    result = backtest("sma_cross", frame.head(rows), fee=0.001, symbol="BTC/USD")
    assert result.health is not None
    position = result.health.open_positions[0]  # type: ignore[index]

    page = result.report(tmp_path / "report.html").read_text(encoding="utf-8")

    body = page[page.index("<body>") :]
    assert body.index("id='health'") < body.index("id='headline'")
    assert f"class='health ok'>{result.health.headline()}</div>" in body
    table = re.search(r"<table id='open-positions'>(.*?)</table>", body).group(1)  # type: ignore[union-attr]
    assert "<td>BTC/USD</td><td>long</td>" in table
    assert f"{position['entry_price']:,.0f}" in table
    assert f"{position['open_pnl']:,.2f}" in table

    # A spot run's dust, in the form the health summary carries it.
    health = {**result.health.as_dict(), "headline": "health: PROBLEMS - 2 of 40 orders rejected",
              "ok": False, "problems": ["2 of 40 orders rejected (Filter failure: LOT_SIZE: 2)"],
              "dust": {"ETH/BTC": {"quantity": 0.00049, "asset": "ETH", "value": 0.0000363221}}}  # fmt: skip
    path = write_report(tmp_path / "dust.html", metrics=result.metrics, meta=result.meta,
                        equity=result.equity, trades=result.trades, bars=result.close,
                        health=health)  # fmt: skip
    page = path.read_text(encoding="utf-8")
    assert "class='health bad'>health: PROBLEMS - 2 of 40 orders rejected</div>" in page
    assert "<li>2 of 40 orders rejected (Filter failure: LOT_SIZE: 2)</li>" in page
    dust = re.search(r"<table id='dust'>(.*?)</table>", page).group(1)  # type: ignore[union-attr]
    assert "<td>ETH/BTC</td><td>0.00049 ETH</td><td>0.00003632</td>" in dust
