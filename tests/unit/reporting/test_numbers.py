"""Numbers as a trader reads them, the same in the report and the CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradewind.reporting.headline import headline_rows, run_settings
from tradewind.reporting.numbers import (
    format_duration,
    format_exact,
    format_mapping,
    format_metric,
    format_number,
    format_percent,
    format_price,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (100_000.0, "100,000"),
        (1.5e6, "1,500,000"),
        (1_234_567, "1,234,567"),
        (np.int64(45_031), "45,031"),
        (46_216.5, "46,216.5"),
        (0.07413882, "0.07414"),
        (0.000123456, "0.0001235"),
        (0.0, "0"),
        (-3.0, "-3"),
        (float("nan"), "n/a"),
        (None, "n/a"),
        (math.inf, "inf"),
        (True, "yes"),
    ],
)
def test_numbers_have_separators_and_never_an_exponent(value: object, text: str) -> None:
    assert format_number(value) == text


def test_metrics_are_written_by_what_they_measure() -> None:
    assert format_metric("total_return", -0.525124) == "-52.51%"
    assert format_metric("benchmark_max_drawdown", -0.31107) == "-31.11%"
    assert format_metric("sharpe_ratio", -24.65763) == "-24.66"
    assert format_metric("profit_factor", math.inf) == "inf"
    assert format_metric("trade_count", 1489) == "1,489"
    assert format_metric("bars", 45031.0) == "45,031"
    assert format_metric("final_equity", 47487.6) == "47,487.60"
    assert format_metric("max_holding_seconds", 5220.0) == "1h 27m"
    assert format_metric("win_rate", float("nan")) == "n/a"
    assert format_metric("params", {"fast": 10, "rsi_max": 70.0, "short": False}) == (
        "fast=10, rsi_max=70, short=no"
    )
    assert format_mapping({}) == "none"
    assert format_percent(-0.0) == "0.00%"
    assert format_duration(3 * 86_400 + 4 * 3_600 + 5) == "3d 4h"
    assert format_price(2.15162825) == "2.1516"
    assert format_price(46_475.125) == "46,475.12"
    assert format_price(0.07413882) == "0.074139"
    assert format_price(6.08e-09) == "0.00000000608"  # dust is never shown as 0
    assert format_exact(0.09946999000000001) == "0.09946999"  # stored data: noise gone
    assert format_exact(1820.54447418) == "1,820.54447418"
    assert format_exact(1e5) == "100,000"
    assert format_exact(-0.5) == "-0.5"


def test_headline_and_settings_read_as_a_trader_writes_them() -> None:
    metrics = {"total_return": 0.1234, "benchmark_total_return": -0.05, "annual_return": 1.5,
               "benchmark_annual_return": float("nan"), "max_drawdown": -0.2,
               "benchmark_max_drawdown": -0.3, "sharpe_ratio": 1.234, "benchmark_sharpe_ratio": 0.5,
               "sortino_ratio": 2.0, "benchmark_sortino_ratio": 0.7, "trade_count": 1200,
               "win_rate": 0.55, "profit_factor": 1.8, "exposure_time": 0.4,
               "total_fees": 12345.678, "bars": 45031}  # fmt: skip
    rows = {row.key: row for row in headline_rows(metrics, "USDT")}
    assert (rows["total_return"].strategy, rows["total_return"].buy_and_hold) == (
        "12.34%",
        "-5.00%",
    )
    assert rows["total_return"].sign == 1
    assert rows["annual_return"].buy_and_hold == "n/a"
    assert rows["trade_count"].strategy == "1,200"
    assert rows["total_fees"].strategy == "12,345.68 USDT"
    assert rows["exposure_time"].buy_and_hold == "100.00%"
    meta = {"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "symbols": ["BTC/USDT"],
            "timeframe": "1h", "data_start": "2024-01-01T00:00:00+00:00",
            "data_end": "2024-03-01T00:00:00+00:00", "cash": "100000", "account_currency": "USDT",
            "stake": "25%", "fee": "0.00075", "fill": "next_open", "slippage_bps": 2.0,
            "volatility_slippage": 0.0, "latency_ms": 0, "max_participation": 0.0,
            "engine": "event", "risk_rules": ["exits.stop_pct=0.02"]}  # fmt: skip
    settings = run_settings(meta, metrics)
    assert settings["Parameters"] == "fast=10, slow=30"
    assert settings["Starting cash"] == "100,000.00 USDT"
    assert settings["Fee per side"] == "0.075%"
    assert settings["Slippage"] == "2 bps per market fill"
    assert settings["Data range"] == "2024-01-01 00:00 to 2024-03-01 00:00 UTC (45,031 bars)"
    assert settings["Risk rules in force"] == "exits.stop_pct=0.02"
    instrument = {"fee": "instrument",
                  "instrument_fees": {"ETH/BTC": {"maker": "0.001", "taker": "0.00075",
                                                  "side": "get"}}}  # fmt: skip
    assert run_settings({**meta, **instrument}, metrics)["Fee per side"] == (
        "maker 0.10%, taker 0.075%, charged in the currency received"
    )
