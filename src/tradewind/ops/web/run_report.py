"""The report of a stored run, as the dashboard's run browser shows it: what ran on what, every
metric as the backtest report writes it, the equity built from the run's closed trades, and the
trades themselves. The registry keeps metrics and trades, not bars, so the price chart of the
backtest report cannot be redrawn here; the rest reads the same."""

from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from tradewind.reporting.html import metric_label
from tradewind.reporting.numbers import (
    format_exact,
    format_mapping,
    format_metric,
    format_number,
    format_price,
)
from tradewind.reporting.page import figure_html, page_html, table_html

__all__ = ["TRADES_SHOWN", "run_report_html"]

TRADES_SHOWN = 500
"""The latest trades listed in the report (the equity curve uses every trade)."""


def _when(text: str | None) -> str:
    if not text:
        return "n/a"
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC")


def _equity(run: dict[str, Any]) -> str:
    trades = run["trades"]
    if not trades:
        return "<h2>Equity</h2><p class='sub'>This run has no closed trades stored.</p>"
    start = run["metrics"].get("initial_equity")
    base = Decimal(str(start)) if start is not None else Decimal(0)
    level, xs, ys = base, [], []
    for trade in trades:
        level += Decimal(trade["pnl"])
        xs.append(trade["exit_at"])
        ys.append(float(level))
    label = "equity" if start is not None else "cumulative closed-trade PnL"
    figure = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", name=label, line={"width": 1.5}))
    figure.update_layout(
        title=f"Equity after each closed trade ({label})", height=360,
        margin={"l": 60, "r": 20, "t": 50, "b": 40}, yaxis={"tickformat": ",.2f"},
    )  # fmt: skip
    return figure_html(figure)


def _trades(run: dict[str, Any]) -> str:
    trades = run["trades"][-TRADES_SHOWN:][::-1]
    if not trades:
        return ""
    head = ("Exit", "Side", "Symbol", "Quantity", "Entry price", "Exit price", "Fees", "PnL",
            "Reason", "Regime")  # fmt: skip
    rows = []
    for t in trades:
        pnl = Decimal(t["pnl"])
        cells = (
            _when(t["exit_at"]), t["side"], t["symbol"], format_exact(Decimal(t["quantity"])),
            format_price(Decimal(t["entry_price"])), format_price(Decimal(t["exit_price"])),
            format_number(Decimal(t["fees"]), 2),
        )  # fmt: skip
        klass = "pos" if pnl > 0 else "neg" if pnl < 0 else ""
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
            + f"<td class='{klass}'>{html.escape(format_number(pnl, 2))}</td>"
            + f"<td class='txt'>{html.escape(t['reason'])}</td>"
            + f"<td class='txt'>{html.escape(t['regime_at_entry'])}</td></tr>"
        )  # fmt: skip
    shown = f"the latest {len(trades)} of {len(run['trades'])}"
    header = "".join(f"<th>{h}</th>" for h in head)
    return f"<h2>Trades ({shown})</h2><table><tr>{header}</tr>{''.join(rows)}</table>"


def run_report_html(run: dict[str, Any], *, plotly_src: str) -> str:
    """The HTML page of one stored run (the facade's :meth:`~tradewind.ops.facade.ControlFacade
    .run` answer), loading plotly.js from ``plotly_src``."""
    params = run["parameters"]
    title = f"{run['kind'].capitalize()} {run['run']}: {run['strategy']}"
    settings = {
        "Strategy": run["strategy"],
        "Parameters": format_mapping(params) if params else "defaults",
        "Symbols": run["symbols"].replace(",", ", "),
        "Timeframe": run["timeframe"],
        "Engine": run["engine"],
        "Data": f"{_when(run['data_start'])} to {_when(run['data_end'])}",
        "Finished": _when(run["finished_at"]),
        "Code version": run["code_version"] or "n/a",
    }
    metrics = {metric_label(k): format_metric(k, v) for k, v in run["metrics"].items()}
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        table_html("Run", settings).replace("<table>", "<table class='settings'>", 1),
        _equity(run),
        table_html("Metrics", metrics) if metrics else "",
        _trades(run),
    ]
    return page_html(title, [s for s in sections if s], plotly_src=plotly_src)
