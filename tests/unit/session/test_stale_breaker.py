"""The paper session's "stale data" breaker: a symbol whose market stream is silent gets no new
entries until its data is fresh again (exits still pass); an operator's own stop is left alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tradewind.backtest.api import prepare
from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import BacktestSpec
from tradewind.connectors.config import ExchangeConfig
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.session.driver import PaperDriver
from tradewind.session.paper import STALE_DATA, PaperConfig, PaperSession

SYMBOLS = ("ETH/BTC", "LTC/BTC")


def _session(tmp_path: Path) -> PaperSession:
    frames = {
        s: pd.read_feather(bundled_recorded_dir() / "candles" / f"{s.replace('/', '_')}-5m.feather")
        .iloc[:100]
        .reset_index(drop=True)
        for s in SYMBOLS
    }
    strategies = strategies_from("sma_cross", None)
    session = PaperSession(
        PaperConfig(
            exchange=ExchangeConfig(rest_url="http://127.0.0.1:1"),
            strategies=strategies,
            symbols=SYMBOLS,
            timeframe="5m",
            run_dir=tmp_path / "run",
        )
    )
    session.driver = PaperDriver(prepare(frames, BacktestSpec()), strategies)
    return session


def test_a_silent_stream_stops_entries_in_its_symbol_until_data_is_fresh(tmp_path: Path) -> None:
    session = _session(tmp_path)
    assert session.driver is not None
    node = session.driver.node
    session._data_breakers({"ETH/BTC": STALE_DATA})
    assert set(node.stopped_entries) == {"ETH/BTC"}
    assert "stale data" in node.stopped_entries["ETH/BTC"]
    assert session.status.alerts[-1] == "ETH/BTC: stale data, no new entries"
    session._data_breakers({"ETH/BTC": STALE_DATA})  # still silent: nothing new
    assert len(session.status.alerts) == 1
    session._data_breakers({})
    assert node.stopped_entries == {}
    assert session.status.alerts[-1] == "ETH/BTC: market data sound again, entries allowed"


def test_an_operators_stop_is_not_lifted_by_fresh_data(tmp_path: Path) -> None:
    session = _session(tmp_path)
    assert session.driver is not None
    node = session.driver.node
    node.stop_entries("LTC/BTC", "entries stopped by operator")
    session._data_breakers(
        {"LTC/BTC": STALE_DATA, "XRP/USDT": STALE_DATA}
    )  # a symbol the session does not trade
    assert node.stopped_entries == {"LTC/BTC": "entries stopped by operator"}
    session._data_breakers({})
    assert node.stopped_entries == {"LTC/BTC": "entries stopped by operator"}
    assert session.status.alerts == []
