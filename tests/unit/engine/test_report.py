"""The backtest report is one self-contained page: plotly.js embedded, no external script."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from tradewind.backtest import backtest


def test_report_and_json_are_complete_and_self_contained(shared_data: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=5000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    result = backtest("sma_cross", frame, fee=0.001, symbol="BTC/USD")
    page = result.report(tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<script src=" not in page  # nothing loaded from elsewhere
    assert page.count("Plotly.newPlot") == 3  # candles, equity/drawdown, monthly heatmap
    for expected in (
        "price, entries and exits",
        "Equity against buy",
        "Monthly returns",
        "Run settings",
        "Detailed metrics",
        "Trades",
    ):
        assert expected in page
    assert len(re.findall(r"<tr>", page)) > len(result.trades)  # the trade table is all there
    document = result.to_json_dict()
    json.dumps(document)  # serialisable as it is
    first = document["trades"][0]
    assert set(first) == {"symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price",
                          "quantity", "fees", "pnl"}  # fmt: skip
    assert first["entry_time"].endswith("+00:00")
    assert document["metrics"]["trade_count"] == len(result.trades)
    assert document["meta"]["data_hash"]
    assert document["meta"]["code_version"]
