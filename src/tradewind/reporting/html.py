"""The backtest report: one self-contained HTML file a trader reads from the top.

First the headline figures beside buy-and-hold, then the run's settings (strategy, parameters,
market and data range, cash, stake, fee, fills, risk rules in force), then the charts (price with
a range slider and the trades, equity against buy-and-hold with the drawdown, monthly returns),
then the detailed metrics, the trade list and the risk events. Every number goes through
:mod:`tradewind.reporting.numbers`. plotly.js is embedded from the installed plotly package, so
the page works offline and loads nothing from elsewhere.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from tradewind.reporting.charts import (
    MAX_CANDLES,
    MAX_MARKERS,
    equity_chart,
    monthly_heatmap,
    price_chart,
)
from tradewind.reporting.headline import headline_rows, run_settings
from tradewind.reporting.numbers import (
    format_duration,
    format_metric,
    format_number,
    format_percent,
    format_price,
    is_missing,
)
from tradewind.reporting.page import figure_html, write_page

__all__ = ["MAX_CANDLES", "MAX_MARKERS", "monthly_heatmap", "write_report"]

MAX_TRADE_ROWS = 1_000
_TEXT = " class='txt'"

_LABELS = {
    "bars": "Bars",
    "timeframe": "Timeframe",
    "bars_per_day": "Bars per day",
    "annualization": "Periods per year",
    "annualization_basis": "Annualised on",
    "initial_equity": "Initial equity",
    "final_equity": "Final equity",
    "total_return": "Total return",
    "annual_return": "Annual return (CAGR)",
    "annual_volatility": "Annual volatility",
    "sharpe_ratio": "Sharpe ratio",
    "sortino_ratio": "Sortino ratio",
    "calmar_ratio": "Calmar ratio",
    "max_drawdown": "Max drawdown",
    "max_drawdown_duration_bars": "Longest drawdown, bars",
    "max_drawdown_duration_seconds": "Longest drawdown",
    "value_at_risk": "Value at risk (5%, per bar)",
    "conditional_value_at_risk": "Expected shortfall (5%, per bar)",
    "tail_ratio": "Tail ratio",
    "stability_of_timeseries": "Stability (R² of log equity)",
    "trade_count": "Closed trades",
    "long_count": "Long trades",
    "short_count": "Short trades",
    "win_count": "Winning trades",
    "loss_count": "Losing trades",
    "win_rate": "Win rate",
    "profit_factor": "Profit factor",
    "expectancy": "Expectancy per trade",
    "avg_win": "Average win",
    "avg_loss": "Average loss",
    "payoff_ratio": "Payoff ratio",
    "largest_win": "Largest win",
    "largest_loss": "Largest loss",
    "gross_profit": "Gross profit",
    "gross_loss": "Gross loss",
    "total_pnl": "Total P&L of closed trades",
    "total_fees": "Fees paid",
    "avg_holding_seconds": "Average holding time",
    "max_holding_seconds": "Longest holding time",
    "exposure_time": "Exposure (time in the market)",
    "kelly": "Kelly fraction",
    "excess_return": "Excess return over buy & hold",
}

_SHOWN_ELSEWHERE = frozenset({"start", "end"})
"""Metrics the settings block already shows (the data range)."""


def metric_label(key: str) -> str:
    """The label a metric key gets in reports and CLI tables."""
    return _LABELS.get(key, key.replace("_", " ").capitalize())


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
    health: Mapping[str, Any] | None = None,
    tca: Mapping[str, Any] | None = None,
) -> Path:
    """Write the report for one run to ``path`` (folders are created) and return the path.

    ``health`` is the run's health summary in its JSON form (``RunHealth.as_dict()`` with its
    one-line ``headline``): the line goes above everything else, red when the run had problems,
    and the orders, denials, open positions and dust get their own section.
    """
    currency = str(meta.get("account_currency", ""))
    sections = [
        _title(meta, metrics),
        _health_line(health),
        _headline(metrics, currency),
        _settings(meta, metrics),
    ]
    for symbol, frame in bars.items():
        figure, script = price_chart(symbol, frame, trades)
        sections.append(figure_html(figure, post_script=script))
    sections += [
        figure_html(equity_chart(equity, _buy_and_hold(equity, bars))),
        figure_html(monthly_heatmap(equity)),
        _detailed_metrics(metrics),
        _health_section(health, currency),
        _trades_table(trades, currency),
        _risk_section(denials, breaker_events),
        _tca_section(tca),
        _run_record(meta),
    ]
    title = f"Tradewind backtest: {meta.get('strategy', '')}"
    return write_page(path, title, sections)


def _title(meta: Mapping[str, Any], metrics: Mapping[str, Any]) -> str:
    symbols = ", ".join(meta.get("symbols", []))
    heading = f"{meta.get('strategy', '')} on {symbols} {meta.get('timeframe', '')}".strip()
    start = str(meta.get("data_start") or metrics.get("start") or "")[:10]
    end = str(meta.get("data_end") or metrics.get("end") or "")[:10]
    sub = f"Backtest, {start} to {end} (UTC)" if start and end else "Backtest"
    return f"<h1>{html.escape(heading)}</h1><p class='sub'>{html.escape(sub)}</p>"


def _headline(metrics: Mapping[str, Any], currency: str) -> str:
    cards = []
    for row in headline_rows(metrics, currency):
        tone = {1: " pos", -1: " neg"}.get(row.sign, "")
        cards.append(
            f"<div class='card' data-key='{row.key}'>"
            f"<div class='label'>{html.escape(row.label)}</div>"
            f"<div class='value{tone}' data-role='strategy'>{html.escape(row.strategy)}</div>"
            f"<div class='bench'>buy &amp; hold <span data-role='buy-and-hold'>"
            f"{html.escape(row.buy_and_hold)}</span></div></div>"
        )
    return f"<section id='headline' class='headline'>{''.join(cards)}</section>"


def _health_line(health: Mapping[str, Any] | None) -> str:
    if health is None:
        return ""
    ok = bool(health.get("ok", True))
    line = str(health.get("headline") or ("health: ok" if ok else "health: PROBLEMS"))
    return f"<div id='health' class='health {'ok' if ok else 'bad'}'>{html.escape(line)}</div>"


def _counts_rows(title: str, total: Any, by_reason: Mapping[str, Any]) -> str:
    rows = [f"<tr><td>{html.escape(title)}</td><td>{format_number(total)}</td></tr>"]
    rows += [
        f"<tr><td>&nbsp;&nbsp;{html.escape(str(reason))}</td><td>{format_number(count)}</td></tr>"
        for reason, count in by_reason.items()
    ]
    return "".join(rows)


def _health_section(health: Mapping[str, Any] | None, currency: str) -> str:
    """Orders and intents by outcome, positions open at the end (marked at the last close), and
    dust left by exits."""
    if health is None:
        return ""
    parts = ["<h2>Run health</h2>"]
    problems = health.get("problems") or []
    if problems:
        items = "".join(f"<li>{html.escape(str(p))}</li>" for p in problems)
        parts.append(f"<ul class='neg'>{items}</ul>")
    counts = (
        f"<tr><td>orders submitted</td><td>{format_number(health.get('orders_submitted'))}</td></tr>"
        f"<tr><td>orders filled</td><td>{format_number(health.get('orders_filled'))}</td></tr>"
        + _counts_rows("orders rejected", health.get("orders_rejected"),
                       health.get("rejected_by_reason") or {})
        + _counts_rows("orders expired", health.get("orders_expired"),
                       health.get("expired_by_reason") or {})
        + _counts_rows("orders sent after the last bar (no bar to fill them)",
                       health.get("orders_unfilled_at_end") or 0, {})
        + _counts_rows("intents denied", health.get("intents_denied"),
                       health.get("denied_by_reason") or {})
    )  # fmt: skip
    parts.append(f"<table id='health-counts'>{counts}</table>")
    positions = health.get("open_positions")
    if positions is None:
        # A stored document written before the kernel reported its open position.
        parts.append(
            "<p>Positions open at the end: not tracked by the kernel (its equity marks them).</p>"
        )
    elif not positions:
        parts.append("<p>No position open at the end.</p>")
    else:
        unit = f" ({html.escape(currency)})" if currency else ""
        head = (
            "<tr><th>symbol</th><th>side</th><th>quantity</th><th>entry price</th>"
            f"<th>entry (UTC)</th><th>marked at (last close)</th><th>open P&amp;L{unit}</th></tr>"
        )
        rows = "".join(
            f"<tr><td>{html.escape(str(p.get('symbol', '')))}</td>"
            f"<td>{html.escape(str(p.get('side', '')))}</td>"
            f"<td>{format_price(p.get('quantity'))}</td><td>{format_price(p.get('entry_price'))}</td>"
            f"<td>{html.escape(_time(p.get('entry_time')))}</td>"
            f"<td>{format_price(p.get('mark_price'))}</td>"
            f"<td>{format_metric('total_pnl', p.get('open_pnl'))}</td></tr>"
            for p in positions
        )
        parts.append(f"<h3>Open at the end</h3><table id='open-positions'>{head}{rows}</table>")
    dust = {k: v for k, v in (health.get("dust") or {}).items() if _nonzero(v.get("quantity"))}
    if not dust:
        parts.append("<p>No dust left by exits.</p>")
    else:
        unit = f" ({html.escape(currency)})" if currency else ""
        rows = "".join(
            f"<tr><td>{html.escape(str(symbol))}</td><td>{format_price(d.get('quantity'))} "
            f"{html.escape(str(d.get('asset', '')))}</td>"
            f"<td>{format_metric('total_pnl', d.get('value'))}</td></tr>"
            for symbol, d in dust.items()
        )
        parts.append(
            "<h3>Dust</h3><p>Base left by exits, less than one sellable lot; valued at market in "
            f"the equity.</p><table id='dust'><tr><th>symbol</th><th>quantity</th><th>value{unit}"
            f"</th></tr>{rows}</table>"
        )
    return "".join(parts)


def _nonzero(value: Any) -> bool:
    try:
        return float(value or 0) != 0
    except (TypeError, ValueError):
        return False


def _settings(meta: Mapping[str, Any], metrics: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr data-key='{html.escape(label)}'><td>{html.escape(label)}</td>"
        f"<td>{html.escape(value)}</td></tr>"
        for label, value in run_settings(meta, metrics).items()
    )
    return f"<h2>Run settings</h2><table id='settings' class='settings'>{rows}</table>"


def _buy_and_hold(equity: pd.Series, bars: Mapping[str, pd.DataFrame]) -> pd.Series | None:
    """Buy-and-hold of the one traded asset from the run's starting equity (None for several)."""
    if len(bars) != 1 or equity.empty:
        return None
    close = next(iter(bars.values()))["close"].reindex(equity.index)
    if close.isna().any() or float(close.iloc[0]) <= 0:
        return None
    return float(equity.iloc[0]) * close / float(close.iloc[0])


def _detailed_metrics(metrics: Mapping[str, Any]) -> str:
    rows = []
    for key, value in metrics.items():
        if key.startswith("benchmark_") or key in _SHOWN_ELSEWHERE:
            continue
        bench_key = f"benchmark_{key}"
        bench = format_metric(key, metrics[bench_key]) if bench_key in metrics else ""
        rows.append(
            f"<tr data-key='{html.escape(key)}'><td>{html.escape(metric_label(key))}</td>"
            f"<td>{html.escape(format_metric(key, value))}</td><td>{html.escape(bench)}</td></tr>"
        )
    head = "<tr><th>metric</th><th>strategy</th><th>buy &amp; hold</th></tr>"
    return f"<h2>Detailed metrics</h2><table id='metrics'>{head}{''.join(rows)}</table>"


def _time(value: Any) -> str:
    if value is None or value is pd.NaT:
        return "n/a"
    return str(pd.Timestamp(value).strftime("%Y-%m-%d %H:%M"))


def _trades_table(trades: pd.DataFrame, currency: str) -> str:
    if trades.empty:
        return "<h2>Trades</h2><p>No closed trades.</p>"
    shown = trades.head(MAX_TRADE_ROWS)
    note = (
        f"<p>First {format_number(MAX_TRADE_ROWS)} of {format_number(len(trades))} trades; all "
        "are in the CSV/JSON export.</p>"
        if len(trades) > MAX_TRADE_ROWS
        else ""
    )
    unit = f" ({html.escape(currency)})" if currency else ""
    head = (
        "<tr><th>#</th><th>side</th><th>entry (UTC)</th><th>exit (UTC)</th><th>held</th>"
        f"<th>entry price</th><th>exit price</th><th>quantity</th><th>P&amp;L{unit}</th>"
        f"<th>return</th><th>fees{unit}</th><th>exit reason</th></tr>"
    )
    rows = []
    for number, row in enumerate(shown.itertuples(index=False), start=1):
        cost = float(row.entry_price) * float(row.quantity)
        ret = float(row.pnl) / cost if cost > 0 else float("nan")
        held = (pd.Timestamp(row.exit_time) - pd.Timestamp(row.entry_time)).total_seconds()
        tone = " class='pos'" if row.pnl > 0 else " class='neg'" if row.pnl < 0 else ""
        reason = getattr(row, "reason", "") or ""
        cells = (
            format_number(number), str(row.side), _time(row.entry_time), _time(row.exit_time),
            format_duration(held), format_price(row.entry_price), format_price(row.exit_price),
            format_price(row.quantity), format_metric("total_pnl", row.pnl),
            format_percent(ret), format_metric("total_fees", row.fees), str(reason),
        )  # fmt: skip
        tds = "".join(
            f"<td{tone if i in (8, 9) else _TEXT if i in (1, 11) else ''}>{html.escape(c)}</td>"
            for i, c in enumerate(cells)
        )
        rows.append(f"<tr>{tds}</tr>")
    return f"<h2>Trades</h2>{note}<table id='trades'>{head}{''.join(rows)}</table>"


def _frame_table(frame: pd.DataFrame) -> str:
    """A small event table with times and numbers formatted."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.head(MAX_TRADE_ROWS).itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            if isinstance(value, pd.Timestamp):
                text = _time(value)
            elif column == "ts":
                text = format_number(int(value))
            elif isinstance(value, float) or is_missing(value):
                text = format_number(value)
            else:
                text = str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _risk_section(denials: pd.DataFrame | None, breakers: pd.DataFrame | None) -> str:
    """Breaker transitions and denied intents (with their codes), and a count per code."""
    parts = ["<h2>Risk events</h2>"]
    if breakers is None or breakers.empty:
        parts.append("<p>No circuit breaker tripped.</p>")
    else:
        parts.append("<h3>Circuit breakers</h3>")
        parts.append(_frame_table(breakers))
    if denials is None or denials.empty:
        parts.append("<p>No intent was denied.</p>")
    else:
        column = "code" if "code" in denials.columns else "reason"
        counts = denials[column].value_counts()
        parts.append("<h3>Denied intents</h3>")
        parts.append(
            "<table>"
            + "".join(
                f"<tr><td>{html.escape(str(k))}</td><td>{format_number(int(v))}</td></tr>"
                for k, v in counts.items()
            )
            + "</table>"
        )
        parts.append(_frame_table(denials.drop(columns=["ts"], errors="ignore")))
    return "".join(parts)


_TCA_COLUMNS = (
    ("count", "orders"),
    ("total_cost_bps", "total cost (bps)"),
    ("shortfall_bps", "shortfall (bps)"),
    ("fee_bps", "fees (bps)"),
    ("opportunity_bps", "opportunity (bps)"),
    ("slippage_vwap_bps", "vs VWAP (bps)"),
    ("market_move_bps", "market move (bps)"),
    ("fill_rate", "fill rate"),
    ("maker_share", "maker share"),
)


def _tca_section(tca: Mapping[str, Any] | None) -> str:
    """Execution costs by algorithm and by strategy (quantity-weighted means), and the alerts."""
    if not tca or not tca.get("by_algo"):
        return ""
    parts = ["<section id='tca'><h2>Execution costs</h2>"]
    for key, title in (("by_algo", "algorithm"), ("by_strategy", "strategy")):
        head = "".join(f"<th>{html.escape(label)}</th>" for _, label in _TCA_COLUMNS)
        rows = []
        for row in tca.get(key, []):
            name = row.get("algo", row.get("strategy_id", ""))
            cells = "".join(f"<td>{format_number(row.get(col))}</td>" for col, _ in _TCA_COLUMNS)
            rows.append(f"<tr><td>{html.escape(str(name))}</td>{cells}</tr>")
        parts.append(
            f"<table class='tca' data-by='{key}'><thead><tr><th>{title}</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    alerts = tca.get("alerts", [])
    if alerts:
        parts.append(f"<p class='neg'>{len(alerts)} slippage alert(s) beyond 3 standard "
                     "deviations of the algorithm's history</p>")  # fmt: skip
    parts.append("</section>")
    return "".join(parts)


def _run_record(meta: Mapping[str, Any]) -> str:
    record = {
        "Data hash (SHA-256)": meta.get("data_hash", "n/a"),
        "Code version": meta.get("code_version", "n/a"),
        "Started": str(meta.get("started_at", "n/a")).replace("T", " ")[:19],
        "Finished": str(meta.get("finished_at", "n/a")).replace("T", " ")[:19],
    }
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in record.items()
    )
    return f"<h2>Run record</h2><table class='settings'>{rows}</table>"
