"""RiskConfig defaults, overrides and errors, and the risk output of a backtest (JSON, HTML)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tradewind.backtest import backtest
from tradewind.config import load_config
from tradewind.core.errors import ConfigError
from tradewind.risk.config import RiskConfig, parse_risk, rules_in_force


@pytest.fixture(scope="module")
def month(shared_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "candles" / "btc-perp-20211231-20220201_1m.csv", nrows=6000)
    frame["date"] = pd.to_datetime(frame.pop("timestamp"), utc=True)
    return frame


def test_every_rule_is_off_by_default_and_presets_are_named(tmp_path: Path) -> None:
    config = RiskConfig()
    assert config.sizing.model == "stake"
    assert config.exits.stop_pct is None
    assert (config.breakers.daily_loss, config.breakers.max_drawdown) == (None, None)
    assert rules_in_force(config) == []
    # A take-profit alone carries no hidden stop, a stop alone no breaker.
    assert rules_in_force(parse_risk({"exits": {"take_profit_pct": 0.05}})) == [
        "exits.take_profit_pct=0.05"
    ]
    assert rules_in_force(parse_risk({"exits": {"stop_pct": 0.02}})) == ["exits.stop_pct=0.02"]
    preset = parse_risk({"preset": "conservative", "breakers": {"daily_loss": 0.05}})
    assert rules_in_force(preset) == [
        "sizing.model=fixed_risk (risk=0.01)",
        "exits.stop_pct=0.02",
        "breakers.daily_loss=0.05",
        "breakers.max_drawdown=0.2",
    ]
    with pytest.raises(ConfigError, match="unknown risk preset 'safe'; the presets are"):
        parse_risk({"preset": "safe"})
    path = tmp_path / "tradewind.toml"
    path.write_text(
        '[risk.breakers]\ndaily_loss = 0.05\n[risk.strategies."sma_cross".sizing]\nmodel = "kelly"\n'
    )
    app = load_config(path, env={})
    assert app.risk.breakers.daily_loss == 0.05
    assert app.risk.strategies["sma_cross"].sizing.model == "kelly"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="stop_pctt"):
        parse_risk({"exits": {"stop_pctt": 0.1}})


def test_backtest_reports_denials_and_trips_in_json_and_html(
    month: pd.DataFrame, tmp_path: Path
) -> None:
    plain = backtest("sma_cross", month, fee=0.001, symbol="BTC/USD")
    risky = backtest(
        "sma_cross", month, fee=0.001, symbol="BTC/USD",
        risk={"sizing": {"model": "stake"}, "exits": {"stop_pct": 0.004}, "breakers": {"daily_loss": 0.01}},
    )  # fmt: skip
    assert plain.breaker_events.empty  # no risk settings: today's behaviour
    assert (risky.orders["reason"] == "stop").any()
    document = risky.to_json_dict()
    trips = document["risk"]["breaker_events"]
    assert trips
    assert trips[0]["breaker"] == "daily_loss"
    assert trips[0]["time"].endswith("+00:00")
    assert all(d["code"] for d in document["risk"]["denials"])
    json.dumps(document)
    page = risky.report(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Circuit breakers" in page
    assert "breaker.daily_loss" in page


def test_per_strategy_override_for_an_unknown_strategy_is_refused(month: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="unknown strategies: nope"):
        backtest("sma_cross", month, symbol="BTC/USD", risk={"strategies": {"nope": {}}})
