"""The backtest report: one self-contained HTML file.

Candles with entry and exit markers, equity and drawdown, a monthly-returns heatmap, the metrics,
the run's metadata and the trade table. plotly.js is embedded from the installed plotly package,
so the page works offline and loads nothing from elsewhere.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tradewind.performance.summary import monthly_returns
from tradewind.reporting.page import figure_html, table_html, write_page

MAX_CANDLES = 20_000
"""Above this many bars the candle chart is resampled to fewer, wider candles (first open, max
high, min low, last close) so that the page stays responsive; markers keep their exact times."""
MAX_TRADE_ROWS = 1_000


def write_report(
    path: Path,
    *,
    metrics: dict[str, Any],
    meta: dict[str, Any],
    equity: pd.Series,
    trades: pd.DataFrame,
    bars: dict[str, pd.DataFrame],
    denials: pd.DataFrame | None = None,
    breaker_events: pd.DataFrame | None = None,
) -> Path:
    """Write the report for one run to ``path`` (folders are created) and return the path."""
    sections = [
        _header(meta),
        table_html("Metrics", metrics),
        figure_html(_candles(bars, trades)),
        figure_html(_equity(equity)),
        figure_html(monthly_heatmap(equity)),
        _trades_table(trades),
        _risk_section(denials, breaker_events),
        table_html("Run", meta),
    ]
    title = f"Tradewind backtest: {meta.get('strategy', '')}"
    return write_page(path, title, sections)


def _header(meta: dict[str, Any]) -> str:
    title = f"{meta.get('strategy', '')} on {', '.join(meta.get('symbols', []))} {meta.get('timeframe', '')}"
    return f"<h1>Backtest: {html.escape(title)}</h1>"


def _candles(bars: dict[str, pd.DataFrame], trades: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for symbol, frame in bars.items():
        shown = frame
        if len(frame) > MAX_CANDLES:
            factor = int(np.ceil(len(frame) / MAX_CANDLES))
            groups = np.arange(len(frame)) // factor
            shown = frame.groupby(groups).agg(
                {"open": "first", "high": "max", "low": "min", "close": "last"}
            )
            shown.index = frame.index[::factor][: len(shown)]
        figure.add_trace(
            go.Candlestick(
                x=shown.index, open=shown["open"], high=shown["high"], low=shown["low"],
                close=shown["close"], name=symbol,
            )
        )  # fmt: skip
        mine = trades[trades["symbol"] == symbol] if len(trades) else trades
        if len(mine):
            figure.add_trace(
                go.Scatter(
                    x=mine["entry_time"], y=mine["entry_price"], mode="markers", name="entry",
                    marker={"symbol": "triangle-up", "color": "#1a7f37", "size": 8},
                )
            )  # fmt: skip
            figure.add_trace(
                go.Scatter(
                    x=mine["exit_time"], y=mine["exit_price"], mode="markers", name="exit",
                    marker={"symbol": "triangle-down", "color": "#cf222e", "size": 8},
                )
            )  # fmt: skip
    figure.update_layout(
        title="Price, entries and exits", xaxis_rangeslider_visible=False, height=520
    )
    return figure


def _equity(equity: pd.Series) -> go.Figure:
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04
    )
    figure.add_trace(go.Scattergl(x=equity.index, y=equity.to_numpy(), name="equity"), row=1, col=1)
    peak = np.maximum.accumulate(equity.to_numpy())
    drawdown = equity.to_numpy() / peak - 1.0
    figure.add_trace(
        go.Scattergl(
            x=equity.index, y=drawdown, name="drawdown", fill="tozeroy", line={"color": "#cf222e"}
        ),
        row=2,
        col=1,
    )
    figure.update_layout(title="Equity and drawdown", height=520)
    figure.update_yaxes(tickformat=".1%", row=2, col=1)
    return figure


MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def monthly_heatmap(equity: pd.Series) -> go.Figure:
    """The compounded return of each calendar month (UTC) as a year x month heatmap.

    The equity's index goes to :func:`monthly_returns` as it is: the performance module reads a
    DatetimeIndex in whatever unit pandas gave it (microseconds for a result's index today), where
    dividing its integers by 10^6 as if they were nanoseconds put every bar in January 1970.
    """
    table = monthly_returns(equity.to_numpy(), equity.index)
    figure = go.Figure(
        go.Heatmap(
            z=table.to_numpy(dtype=float), x=list(MONTH_NAMES), y=[str(i) for i in table.index],
            colorscale="RdYlGn", zmid=0.0, texttemplate="%{z:.1%}",
            hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>",
        )
    )  # fmt: skip
    figure.update_layout(title="Monthly returns", height=260 + 30 * len(table))
    figure.update_yaxes(type="category")
    return figure


def _trades_table(trades: pd.DataFrame) -> str:
    if trades.empty:
        return "<h2>Trades</h2><p>No closed trades.</p>"
    shown = trades.head(MAX_TRADE_ROWS)
    note = (
        f"<p>First {MAX_TRADE_ROWS} of {len(trades)} trades; all are in the CSV/JSON export.</p>"
        if len(trades) > MAX_TRADE_ROWS
        else ""
    )
    return f"<h2>Trades</h2>{note}" + str(
        shown.to_html(index=False, float_format=lambda v: f"{v:,.6g}")
    )


def _risk_section(denials: pd.DataFrame | None, breakers: pd.DataFrame | None) -> str:
    """Breaker transitions and denied intents (with their codes), and a count per code."""
    parts = ["<h2>Risk</h2>"]
    if breakers is None or breakers.empty:
        parts.append("<p>No circuit breaker tripped.</p>")
    else:
        parts.append("<h3>Circuit breakers</h3>")
        parts.append(str(breakers.head(MAX_TRADE_ROWS).to_html(index=False)))
    if denials is None or denials.empty:
        parts.append("<p>No intent was denied.</p>")
    else:
        column = "code" if "code" in denials.columns else "reason"
        counts = denials[column].value_counts()
        parts.append("<h3>Denied intents</h3>")
        parts.append(_table_rows({str(k): int(v) for k, v in counts.items()}))
        parts.append(str(denials.head(MAX_TRADE_ROWS).to_html(index=False)))
    return "".join(parts)


def _table_rows(values: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in values.items()
    )
    return f"<table>{rows}</table>"
