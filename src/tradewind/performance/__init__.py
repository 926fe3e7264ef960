"""Performance analytics: returns, risk-adjusted metrics, drawdowns, trade statistics, summaries.

The return metrics equal empyrical-reloaded's functions of the same name on the same returns and
annualisation; a 24/7 market is annualised with 365 x bars-per-day periods per year
(:func:`periods_per_year`). :func:`summarize` gathers everything a report or an optimiser needs
into one dictionary with stable keys.
"""

from tradewind.performance.benchmark import buy_and_hold_equity, buy_and_hold_metrics
from tradewind.performance.drawdown import (
    DrawdownDuration,
    drawdown_series,
    max_drawdown_duration,
    underwater_curve,
)
from tradewind.performance.metrics import (
    annual_return,
    annual_volatility,
    calmar_ratio,
    conditional_value_at_risk,
    downside_risk,
    max_drawdown,
    sharpe_ratio,
    sortino_ratio,
    stability_of_timeseries,
    tail_ratio,
    total_return,
    value_at_risk,
)
from tradewind.performance.returns import (
    bars_per_day,
    infer_bar_ms,
    periods_per_year,
    simple_returns,
)
from tradewind.performance.summary import SUMMARY_KEYS, monthly_returns, summarize
from tradewind.performance.trades import TradeStatistics, exposure_time, trade_statistics

__all__ = [
    "SUMMARY_KEYS",
    "DrawdownDuration",
    "TradeStatistics",
    "annual_return",
    "annual_volatility",
    "bars_per_day",
    "buy_and_hold_equity",
    "buy_and_hold_metrics",
    "calmar_ratio",
    "conditional_value_at_risk",
    "downside_risk",
    "drawdown_series",
    "exposure_time",
    "infer_bar_ms",
    "max_drawdown",
    "max_drawdown_duration",
    "monthly_returns",
    "periods_per_year",
    "sharpe_ratio",
    "simple_returns",
    "sortino_ratio",
    "stability_of_timeseries",
    "summarize",
    "tail_ratio",
    "total_return",
    "trade_statistics",
    "underwater_curve",
    "value_at_risk",
]
