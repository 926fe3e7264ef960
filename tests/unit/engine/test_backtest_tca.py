"""Every filled order of a candle backtest gets its transaction-cost analysis: in the result, its
JSON document and the HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tradewind.backtest import backtest


@pytest.fixture(scope="module")
def month(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=4000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


def test_each_filled_order_is_measured_and_aggregated(month: pd.DataFrame, tmp_path: Path) -> None:
    result = backtest("sma_cross", month, {"fast": 5, "slow": 20}, fee=0.001, symbol="BTC/USDT")
    records = result.tca["records"]
    filled = result.orders[result.orders["filled"] > 0]
    assert len(records) == len(filled) > 0
    first = records[0]
    row = filled.iloc[0]
    assert first["execution_id"] == row["client_id"]
    sign = 1 if first["side"] == "buy" else -1
    expected = sign * (row["average_price"] - first["arrival_mid"]) / first["arrival_mid"] * 1e4
    assert first["shortfall_bps"] == pytest.approx(expected, abs=1e-6)
    assert first["fee_bps"] == pytest.approx(10.0, rel=1e-6)  # fee=0.001 of the notional
    assert first["fill_rate"] == 1.0
    by_algo = {r["algo"]: r for r in result.tca["by_algo"]}
    assert by_algo["market"]["count"] == len(records)
    document = json.loads(json.dumps(result.to_json_dict()))
    assert document["tca"]["by_algo"][0]["algo"] == "market"
    page = result.report(tmp_path / "r.html").read_text()
    assert "id='tca'" in page
    assert "Execution costs" in page
