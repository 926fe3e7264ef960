"""A backtest's result as the CLI prints it: the report's headline figures beside buy-and-hold,
then the other key metrics, every number formatted as in the report (no reprs, no exponents)."""

from __future__ import annotations

import pandas as pd
from rich.table import Table

from tradewind.backtest.result import BacktestResult
from tradewind.reporting.headline import headline_rows, run_settings
from tradewind.reporting.html import metric_label
from tradewind.reporting.numbers import format_mapping, format_metric

MORE = (
    "initial_equity", "final_equity", "annual_volatility", "calmar_ratio",
    "max_drawdown_duration_seconds", "expectancy", "payoff_ratio", "avg_holding_seconds",
    "open_positions", "open_pnl", "excess_return",
)  # fmt: skip
"""Metrics printed under the headline figures (the report has them all)."""

_ANNUALISED = ("annual_return", "calmar_ratio", "benchmark_annual_return", "benchmark_calmar_ratio")
_SHORTEST_ANNUALISED = pd.Timedelta(days=30)
_KIND = {"paper": "Paper session", "live": "Live session"}


def metrics_table(result: BacktestResult) -> Table:
    """The result's headline figures and key metrics, strategy beside buy-and-hold."""
    meta, metrics = result.meta, dict(result.metrics)
    equity = result.equity
    if len(equity) and equity.index[-1] - equity.index[0] < _SHORTEST_ANNUALISED:
        # A year extrapolated from days is noise (a 12-minute gain of 0.5% "is" 10^33% a year):
        # under 30 days the annualised figures are not shown.
        for key in _ANNUALISED:
            if key in metrics:
                metrics[key] = float("nan")
    params = meta.get("params", {})
    shown = format_mapping(params) if isinstance(params, dict) else str(params)
    settings = run_settings(meta, metrics)
    table = Table(
        title=f"{_KIND.get(str(meta.get('mode')), 'Backtest')} {meta.get('strategy', '')} ({shown})\n"
        f"{settings['Market']}, {settings['Data range']}",
    )
    table.add_column("metric")
    table.add_column("strategy", justify="right")
    table.add_column("buy & hold", justify="right")
    for row in headline_rows(metrics, str(meta.get("account_currency", ""))):
        table.add_row(row.label, row.strategy, row.buy_and_hold)
    table.add_section()
    for key in MORE:
        if key not in metrics:
            continue
        bench = f"benchmark_{key}"
        table.add_row(
            metric_label(key),
            format_metric(key, metrics[key]),
            format_metric(key, metrics[bench]) if bench in metrics else "",
        )
    return table
