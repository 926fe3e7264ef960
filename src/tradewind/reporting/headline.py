"""What a trader reads first about a run: the headline figures beside buy-and-hold, and the
settings the run used, as formatted text (the HTML report and the CLI show the same strings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradewind.reporting.numbers import (
    format_mapping,
    format_metric,
    format_number,
    format_percent,
    is_missing,
)

HEADLINE: tuple[tuple[str, str], ...] = (
    ("Total return", "total_return"),
    ("Annual return", "annual_return"),
    ("Max drawdown", "max_drawdown"),
    ("Sharpe", "sharpe_ratio"),
    ("Sortino", "sortino_ratio"),
    ("Closed trades", "trade_count"),
    ("Win rate", "win_rate"),
    ("Profit factor", "profit_factor"),
    ("Exposure", "exposure_time"),
    ("Fees paid", "total_fees"),
)
"""The headline figures, in reading order: (label, metric key)."""

_BENCHMARKED = ("total_return", "annual_return", "max_drawdown", "sharpe_ratio", "sortino_ratio")
"""Headline keys that buy-and-hold has too (as ``benchmark_<key>``)."""

NOT_APPLICABLE = "—"
"""Shown where a figure has no buy-and-hold counterpart (trades, win rate, fees)."""


@dataclass(frozen=True)
class HeadlineRow:
    """One headline figure: its label and key, the strategy's and buy-and-hold's values as text,
    and the sign of the strategy's value (+1, -1 or 0) for colouring."""

    label: str
    key: str
    strategy: str
    buy_and_hold: str
    sign: int


def headline_rows(metrics: Mapping[str, Any], currency: str = "") -> list[HeadlineRow]:
    """The headline figures of ``metrics`` (a :func:`~tradewind.performance.summary.summarize`
    dict), formatted; buy-and-hold is ``n/a`` without a benchmark, and exposure is 100 % for it
    (it always holds the asset)."""
    rows = []
    for label, key in HEADLINE:
        value = metrics.get(key)
        text = format_metric(key, value)
        if key == "total_fees" and currency and not is_missing(value):
            text = f"{text} {currency}"
        if key in _BENCHMARKED:
            bench = format_metric(key, metrics.get(f"benchmark_{key}"))
        elif key == "exposure_time":
            bench = format_percent(1.0)
        else:
            bench = NOT_APPLICABLE
        rows.append(HeadlineRow(label, key, text, bench, _sign(key, value)))
    return rows


def _sign(key: str, value: Any) -> int:
    if key not in ("total_return", "annual_return", "sharpe_ratio", "sortino_ratio"):
        return 0
    if is_missing(value) or value == 0:
        return 0
    return 1 if float(value) > 0 else -1


def run_settings(meta: Mapping[str, Any], metrics: Mapping[str, Any]) -> dict[str, str]:
    """The settings a run used, as labelled text: strategy, parameters, market, data range,
    cash, stake, fee, fills, slippage, engine and the risk rules in force."""
    currency = str(meta.get("account_currency", ""))
    symbols = ", ".join(meta.get("symbols", [])) or "n/a"
    out = {
        "Strategy": str(meta.get("strategy", "n/a")),
        "Parameters": _parameters(meta.get("params", {})),
        "Market": f"{symbols}, {meta.get('timeframe', '')} candles".strip(", "),
        "Data range": _data_range(meta, metrics),
        "Starting cash": f"{_decimal_text(meta.get('cash'))} {currency}".strip(),
        "Stake": _stake(meta.get("stake")),
        "Fee per side": _fee(meta.get("fee"), meta.get("instrument_fees")),
        "Fills": _fills(meta),
        "Slippage": _slippage(meta),
        "Engine": str(meta.get("engine", "event")),
        "Risk rules in force": _risk_rules(meta),
    }
    return out


def _parameters(params: Any) -> str:
    if not isinstance(params, Mapping):
        return str(params)
    if params and all(isinstance(v, Mapping) for v in params.values()):
        # Several strategies: one group per strategy id.
        return "; ".join(f"{name}: {format_mapping(v)}" for name, v in params.items())
    return format_mapping(params)


def _data_range(meta: Mapping[str, Any], metrics: Mapping[str, Any]) -> str:
    start = _short_time(meta.get("data_start") or metrics.get("start"))
    end = _short_time(meta.get("data_end") or metrics.get("end"))
    bars = metrics.get("bars")
    count = f" ({format_number(int(bars))} bars)" if isinstance(bars, int) else ""
    return f"{start} to {end} UTC{count}"


def _short_time(value: Any) -> str:
    """``2021-12-31T23:01:00+00:00`` -> ``2021-12-31 23:01``."""
    text = str(value or "n/a")
    return text.replace("T", " ")[:16] if len(text) >= 16 else text


def _decimal_text(value: Any) -> str:
    if value is None:
        return "n/a"
    try:
        return format_metric("cash", float(value))
    except (TypeError, ValueError):
        return str(value)


def _stake(value: Any) -> str:
    text = str(value or "all")
    if text == "all":
        return "all free cash per entry"
    return text


_FEE_SIDES = {
    "get": "charged in the currency received",
    "give": "charged in the currency spent",
    "quote": "charged in the quote currency",
    "base": "charged in the base currency",
}


def _rate(value: Any) -> str:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        return str(value)
    # As many decimals as the rate has (0.10%, 0.075%), at least two.
    decimals = next((d for d in (2, 3, 4) if abs(rate * 100 - round(rate * 100, d)) < 1e-12), 5)
    return format_percent(rate, decimals=decimals)


def _fee(value: Any, instrument_fees: Any = None) -> str:
    if value not in (None, "instrument"):
        return _rate(value)
    if not isinstance(instrument_fees, Mapping) or not instrument_fees:
        return "the instrument's own maker/taker fees"
    parts = []
    for symbol, fees in instrument_fees.items():
        side = _FEE_SIDES.get(str(fees.get("side")), "")
        text = f"maker {_rate(fees.get('maker'))}, taker {_rate(fees.get('taker'))}"
        text += f", {side}" if side else ""
        parts.append(f"{text} ({symbol})" if len(instrument_fees) > 1 else text)
    return "; ".join(parts)


def _fills(meta: Mapping[str, Any]) -> str:
    fill = str(meta.get("fill", "next_open"))
    text = {"next_open": "market orders at the next bar's open",
            "close": "market orders at the signal bar's close"}.get(fill, fill)  # fmt: skip
    latency = meta.get("latency_ms") or 0
    participation = meta.get("max_participation") or 0
    if latency:
        text += f", {format_number(int(latency))} ms latency"
    if participation:
        text += f", at most {format_percent(float(participation))} of a bar's volume"
    return text


def _slippage(meta: Mapping[str, Any]) -> str:
    parts = []
    bps = float(meta.get("slippage_bps") or 0.0)
    vol = float(meta.get("volatility_slippage") or 0.0)
    if bps:
        parts.append(f"{format_number(bps)} bps per market fill")
    if vol:
        parts.append(f"{format_percent(vol)} of the fill bar's range")
    return " + ".join(parts) or "none"


def _risk_rules(meta: Mapping[str, Any]) -> str:
    """The rules the run enforced, as the CLI announced them when it started."""
    rules = meta.get("risk_rules")
    if rules is None:
        return "n/a"
    return ", ".join(str(r) for r in rules) if rules else "none (entries sized by the stake)"
