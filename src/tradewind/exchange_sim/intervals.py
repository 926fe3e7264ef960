"""Binance kline intervals: which names each API accepts and how long each one is.

Spot (``/api/v3/klines``) accepts ``1s`` and the usual minute to month intervals; USDT-M futures
(``/fapi/v1/klines``, ``markPriceKlines``) accept the same list without ``1s``. Binance opens daily
and shorter candles on the Unix-epoch grid and weekly candles on Mondays 00:00 UTC (the epoch was a
Thursday, hence the offset below). Calendar months have no fixed length: the simulator serves
``1M`` only from a series handed in at that interval, never by aggregation.
"""

from __future__ import annotations

_MINUTE = 60_000
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR

INTERVAL_MS: dict[str, int] = {
    "1s": 1_000,
    "1m": _MINUTE,
    "3m": 3 * _MINUTE,
    "5m": 5 * _MINUTE,
    "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE,
    "1h": _HOUR,
    "2h": 2 * _HOUR,
    "4h": 4 * _HOUR,
    "6h": 6 * _HOUR,
    "8h": 8 * _HOUR,
    "12h": 12 * _HOUR,
    "1d": _DAY,
    "3d": 3 * _DAY,
    "1w": 7 * _DAY,
}
"""Fixed-length intervals in milliseconds (``1M`` is calendar-based and absent on purpose)."""

SPOT_INTERVALS: frozenset[str] = frozenset([*INTERVAL_MS, "1M"])
USDM_INTERVALS: frozenset[str] = SPOT_INTERVALS - {"1s"}

# Monday 1970-01-05 00:00 UTC: Binance's weekly candles open on Mondays.
_WEEK_ORIGIN_MS = 4 * _DAY


def grid_origin_ms(interval: str) -> int:
    """Return the epoch offset of the candle grid of ``interval`` (non-zero only for weeks)."""
    return _WEEK_ORIGIN_MS if interval == "1w" else 0


def can_aggregate(interval: str) -> bool:
    """Tell whether candles of ``interval`` may be built from shorter candles on Binance's grid.

    ``3d`` is left out because Binance's 3-day grid origin is not documented; ``1M`` has no fixed
    length.
    """
    return interval in INTERVAL_MS and interval != "3d"
