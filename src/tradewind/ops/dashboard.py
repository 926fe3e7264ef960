"""The Grafana dashboard and the Prometheus rules of a bot, generated from one list of panels.

Each panel's PromQL is also written as a recording rule, so ``promtool check rules`` parses every
query the dashboard shows, and a test checks that every metric a query names appears on a running
bot's ``/metrics``. ``python -m tradewind.ops.dashboard deploy`` rewrites the files under
``deploy/``; a test fails when they differ from what this module generates.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ALERTS", "PANELS", "dashboard_json", "metric_names", "rules_yaml", "write"]


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: a title, its PromQL and the unit Grafana shows."""

    title: str
    expr: str
    unit: str = "short"
    legend: str = ""


@dataclass(frozen=True)
class Alert:
    """One alert rule."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str


PANELS = (
    Panel("Equity", "tradewind_equity", "currencyUSD", "{{job}}"),
    Panel("Realized PnL", "tradewind_realized_pnl", "currencyUSD", "{{job}}"),
    Panel("Open positions", "tradewind_open_positions", "short", "{{job}}"),
    Panel("Orders by state", "sum by (state) (tradewind_orders)", "short", "{{state}}"),
    Panel(
        "Fills per minute",
        "sum by (symbol, side) (rate(tradewind_fills_total[5m])) * 60",
        "short",
        "{{symbol}} {{side}}",
    ),
    Panel(
        "Bar to order p99",
        "histogram_quantile(0.99, sum by (le) (rate(tradewind_bar_to_order_seconds_bucket[5m])))",
        "s",
        "p99",
    ),
    Panel(
        "Order round trip p99",
        "histogram_quantile(0.99, sum by (le) "
        "(rate(tradewind_order_round_trip_seconds_bucket[5m])))",
        "s",
        "p99",
    ),
    Panel(
        "Stream staleness",
        "max by (stream) (tradewind_stream_staleness_seconds)",
        "s",
        "{{stream}}",
    ),
    Panel(
        "Stream reconnects per hour",
        "sum by (stream) (increase(tradewind_stream_reconnects_total[1h]))",
        "short",
        "{{stream}}",
    ),
    Panel("Rate budget used", "tradewind_rate_budget_used_ratio", "percentunit", "{{job}}"),
    Panel("Breaker state", "tradewind_breaker_state", "short", "{{job}}"),
    Panel("Paused", "tradewind_paused", "short", "{{job}}"),
    Panel("Jobs", "sum by (state) (tradewind_jobs)", "short", "{{state}}"),
    Panel("Engine clock lag", "time() - tradewind_engine_time_seconds", "s", "{{job}}"),
    Panel(
        "Source receive lag p99",
        'max by (source, stream) (tradewind_source_receive_lag_ms{quantile="0.99"})',
        "ms",
        "{{source}} {{stream}}",
    ),
    Panel(
        "Source switches per hour",
        "sum by (need) (increase(tradewind_source_switches_total[1h]))",
        "short",
        "{{need}}",
    ),
    Panel(
        "Active source",
        "max by (need, source) (tradewind_source_active)",
        "short",
        "{{need}} {{source}}",
    ),
    Panel("Data divergence", "max by (symbol) (tradewind_data_divergence)", "short", "{{symbol}}"),
)

ALERTS = (
    Alert(
        "TradewindDown",
        'up{job=~"tradewind.*"} == 0',
        "1m",
        "critical",
        "the bot's /metrics cannot be scraped",
    ),
    Alert(
        "TradewindHalted",
        "tradewind_breaker_state >= 3",
        "0m",
        "critical",
        "the bot is halted: a person must resume it",
    ),
    Alert(
        "TradewindReducing",
        "tradewind_breaker_state == 2",
        "5m",
        "warning",
        "a breaker has reduced trading for 5 minutes",
    ),
    Alert(
        "TradewindStreamStale",
        "max(tradewind_stream_staleness_seconds) > 120",
        "2m",
        "warning",
        "a market stream has been silent for two minutes",
    ),
    Alert(
        "TradewindReconnectStorm",
        "sum(increase(tradewind_stream_reconnects_total[10m])) > 10",
        "0m",
        "warning",
        "more than 10 stream reconnects in 10 minutes",
    ),
    Alert(
        "TradewindRateBudget",
        "tradewind_rate_budget_used_ratio > 0.9",
        "5m",
        "warning",
        "over 90% of the exchange rate budget in use",
    ),
    Alert(
        "TradewindOrderLatency",
        "histogram_quantile(0.99, sum by (le) "
        "(rate(tradewind_order_round_trip_seconds_bucket[5m]))) > 2",
        "5m",
        "warning",
        "order round trip p99 above 2 s",
    ),
    Alert(
        "TradewindClockBehind",
        "time() - tradewind_engine_time_seconds > 300",
        "2m",
        "warning",
        "the engine's clock is more than 5 minutes behind",
    ),
    Alert(
        "TradewindSourceLag",
        'max(tradewind_source_receive_lag_ms{quantile="0.99"}) > 100',
        "1m",
        "warning",
        "a market-data stream's p99 receive lag is above 100 ms",
    ),
    Alert(
        "TradewindDataDivergence",
        "max(tradewind_data_divergence) > 0",
        "0m",
        "warning",
        "market-data sources disagree: no new entries in the diverging symbols",
    ),
)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def metric_names() -> set[str]:
    """Every metric some panel or alert names (histogram series reduced to their base name)."""
    names: set[str] = set()
    for expr in [p.expr for p in PANELS] + [a.expr for a in ALERTS]:
        without_labels = re.sub(r"\{[^}]*\}", "", re.sub(r"by \([^)]*\)", "", expr))
        for token in re.findall(r"[a-z_][a-z0-9_]*", without_labels):
            if token.startswith("tradewind_"):
                names.add(re.sub(r"_(bucket|sum|count)$", "", token))
    return names


def _q(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def rules_yaml() -> str:
    """The Prometheus rules file: one recording rule per panel, then the alerts."""
    lines = ["# Generated by `python -m tradewind.ops.dashboard deploy`; do not edit.", "groups:"]
    lines += ["  - name: tradewind-panels", "    rules:"]
    for panel in PANELS:
        lines += [
            f"      - record: tradewind:{_slug(panel.title)}",
            f"        expr: {_q(panel.expr)}",
        ]
    lines += ["  - name: tradewind-alerts", "    rules:"]
    for alert in ALERTS:
        lines += [
            f"      - alert: {alert.name}",
            f"        expr: {_q(alert.expr)}",
            f"        for: {alert.for_}",
            "        labels:",
            f"          severity: {alert.severity}",
            "        annotations:",
            f"          summary: {_q(alert.summary)}",
        ]
    return "\n".join(lines) + "\n"


def dashboard_json() -> dict[str, Any]:
    """The Grafana dashboard (schema 39), two panels a row, on a ``datasource`` variable."""
    panels = []
    for n, panel in enumerate(PANELS):
        panels.append(
            {
                "id": n + 1,
                "type": "timeseries",
                "title": panel.title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (n % 2), "y": 8 * (n // 2)},
                "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                "targets": [{"refId": "A", "expr": panel.expr, "legendFormat": panel.legend}],
            }
        )
    return {
        "title": "Tradewind bot",
        "uid": "tradewind-bot",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "tags": ["tradewind"],
        "templating": {
            "list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]
        },
        "panels": panels,
    }


def write(root: Path) -> list[Path]:
    """Write the dashboard and the rules under ``root`` (``deploy/``); returns the paths."""
    grafana = root / "grafana" / "tradewind-bot.json"
    rules = root / "prometheus" / "tradewind-rules.yml"
    grafana.parent.mkdir(parents=True, exist_ok=True)
    rules.parent.mkdir(parents=True, exist_ok=True)
    grafana.write_text(json.dumps(dashboard_json(), indent=2) + "\n")
    rules.write_text(rules_yaml())
    return [grafana, rules]


if __name__ == "__main__":  # pragma: no cover - the command that refreshes deploy/
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "deploy")):
        print(path)
