"""Numbers as a trader reads them: percentages, thousands separators, durations, never ``1e+05``.

One place decides how a metric is written, so the HTML report, the CLI tables and anything else
that shows a result to a person agree to the character. Values that cannot be computed (NaN,
None) read ``n/a``; infinities read ``inf``/``-inf`` (a profit factor without a losing trade).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np

PERCENT_KEYS = frozenset(
    {
        "total_return", "annual_return", "annual_volatility", "max_drawdown", "value_at_risk",
        "conditional_value_at_risk", "win_rate", "exposure_time", "excess_return", "kelly",
        "fee", "maker_fee", "taker_fee", "stake_fraction", "stop_pct", "take_profit_pct",
        "trailing_pct", "slippage",
    }
)  # fmt: skip
"""Metrics held as fractions (0.05) and written as percentages (5.00%)."""

RATIO_KEYS = frozenset(
    {
        "sharpe_ratio", "sortino_ratio", "calmar_ratio", "profit_factor", "payoff_ratio",
        "tail_ratio", "stability_of_timeseries",
    }
)  # fmt: skip
"""Dimensionless ratios, written with two decimals."""

DURATION_KEYS = frozenset(
    {"max_drawdown_duration_seconds", "avg_holding_seconds", "max_holding_seconds"}
)
"""Durations in seconds, written as days, hours and minutes."""

MONEY_KEYS = frozenset(
    {
        "initial_equity", "final_equity", "expectancy", "avg_win", "avg_loss", "largest_win",
        "largest_loss", "gross_profit", "gross_loss", "total_pnl", "total_fees", "cash",
    }
)  # fmt: skip
"""Amounts in the quote currency, written with two decimals and thousands separators."""


def _base_key(key: str) -> str:
    return key.removeprefix("benchmark_")


def is_missing(value: Any) -> bool:
    """True for None and NaN (a value that could not be computed)."""
    if value is None:
        return True
    try:
        return isinstance(value, float | np.floating) and math.isnan(value)
    except TypeError:
        return False


def format_number(value: Any, decimals: int | None = None) -> str:
    """A number with thousands separators and no exponent.

    Integers have no decimals: ``100,000``. Floats keep ``decimals`` decimals when given, else
    2 decimals from 1 up (``46,216.5``, ``100,000``) and 4 significant digits below 1
    (``0.07414``, ``0.0001235``), trailing zeros dropped.
    """
    if is_missing(value):
        return "n/a"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    number = float(value)
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if decimals is not None:
        return f"{number:,.{decimals}f}"
    magnitude = abs(number)
    if magnitude >= 1 or number == 0:
        text = f"{number:,.2f}"
    else:
        text = f"{number:.{3 - math.floor(math.log10(magnitude))}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_price(value: Any) -> str:
    """A price or quantity: 2 decimals from 1,000 up, 4 from 1, 6 below (``46,475``,
    ``2.1516``, ``0.074139``), trailing zeros dropped, and 4 significant digits below 0.001
    (``0.00000000608``, never a rounded-away 0); the exact values are in the exports."""
    if is_missing(value):
        return "n/a"
    number = float(value)
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    magnitude = abs(number)
    if 0 < magnitude < 0.001:
        # Dust and other crumbs: significant digits, not a rounded-away zero.
        return format_number(number)
    decimals = 2 if magnitude >= 1000 else 4 if magnitude >= 1 else 6
    text = f"{number:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_exact(value: Any) -> str:
    """A stored value as it was meant: 12 significant digits (float noise such as
    ``0.09946999000000001`` gone, every real digit kept), positional, thousands separated
    (``0.09946999``, ``1,820.54447418``, ``100,000``)."""
    if is_missing(value):
        return "n/a"
    if isinstance(value, bool | np.bool_ | int | np.integer):
        return format_number(value)
    number = float(value)
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    text = np.format_float_positional(float(f"{number:.12g}"), trim="-")
    whole, dot, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-') or 0):,}{dot}{fraction}"


def format_percent(fraction: Any, decimals: int = 2) -> str:
    """A fraction as a percentage: ``0.1234`` -> ``12.34%``; ``n/a`` when missing."""
    if is_missing(fraction):
        return "n/a"
    number = float(fraction) * 100.0
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    text = f"{number:,.{decimals}f}%"
    return "0.00%" if text == f"-{0:.{decimals}f}%" else text


def format_ratio(value: Any) -> str:
    """A ratio with two decimals (``1.53``); ``inf`` for an unbounded one, ``n/a`` when missing."""
    if is_missing(value):
        return "n/a"
    number = float(value)
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return f"{number:,.2f}"


def format_duration(seconds: Any) -> str:
    """Seconds as ``3d 4h``, ``5h 12m``, ``45m`` or ``30s``; ``n/a`` when missing."""
    if is_missing(seconds):
        return "n/a"
    total = round(float(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days:,}d {hours}h" if hours else f"{days:,}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def format_metric(key: str, value: Any) -> str:
    """``value`` written the way its metric ``key`` is read (percent, ratio, money, duration)."""
    base = _base_key(key)
    if isinstance(value, Mapping):
        return format_mapping(value)
    if isinstance(value, list | tuple):
        return ", ".join(format_metric(key, v) for v in value) or "none"
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        value = float(value)
    if base in PERCENT_KEYS:
        return format_percent(value)
    if base in RATIO_KEYS:
        return format_ratio(value)
    if base in DURATION_KEYS:
        return format_duration(value)
    if base in MONEY_KEYS:
        # Cents from 1 up (100,000.00); below 1 (a BTC-quoted account) significant digits.
        if _is_number(value) and math.isfinite(float(value)) and abs(float(value)) >= 1:
            return f"{float(value):,.2f}"
        return format_number(value)
    if isinstance(value, float) and not is_missing(value) and float(value).is_integer():
        return format_number(int(value)) if abs(value) < 1e15 else format_number(value)
    return format_number(value) if _is_number(value) or is_missing(value) else str(value)


def format_mapping(values: Mapping[str, Any]) -> str:
    """``{"fast": 10, "slow": 30}`` -> ``fast=10, slow=30`` (``none`` when empty), never a repr."""
    if not values:
        return "none"
    return ", ".join(f"{k}={format_metric(str(k), v)}" for k, v in values.items())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating | bool | np.bool_)
