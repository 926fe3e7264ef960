"""Vectorised indicators against TA-Lib (C) and the pure-pandas ``ta`` package.

Input: a random-walk OHLCV series of 1,000,000 bars (100,000 with ``quick``) from
``np.random.default_rng(42)``; a scale test, so synthetic data is allowed. Every indicator is
checked against TA-Lib (NaN positions and the 1e-9 relative criterion of the parity tests)
before it is timed. Target: no indicator slower than 1.5x TA-Lib (ratio >= 0.67).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import talib

from benchmarks.common import Row, best_time
from tradewind.indicators import momentum as mo
from tradewind.indicators import overlap as ov
from tradewind.indicators import trend as tr
from tradewind.indicators import volatility as vo
from tradewind.indicators import volume as vu


def _ohlcv(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(42)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.r_[close[0], close[:-1]]
    wick = np.abs(rng.normal(0.0, 0.0007, (2, n))) * close
    high = np.maximum(open_, close) + wick[0]
    low = np.minimum(open_, close) - wick[1]
    volume = rng.lognormal(3.0, 1.0, n)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def _check(name: str, ours: Any, ref: Any) -> None:
    ours_t = ours if isinstance(ours, tuple) else (ours,)
    ref_t = ref if isinstance(ref, tuple) else (ref,)
    for a, b in zip(ours_t, ref_t, strict=True):
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            raise AssertionError(f"{name}: NaN positions differ from TA-Lib")
        m = ~np.isnan(b)
        if m.any():
            scale = np.maximum(np.abs(b[m]), np.median(np.abs(b[m])))
            if (np.abs(a[m] - b[m]) > 1e-9 * scale).any():
                raise AssertionError(f"{name}: values differ from TA-Lib beyond 1e-9")


# name -> (columns, keyword arguments); our function and TA-Lib's share name and signature.
_CASES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "sma": (ov, ("close",)),
    "ema": (ov, ("close",)),
    "wma": (ov, ("close",)),
    "dema": (ov, ("close",)),
    "tema": (ov, ("close",)),
    "trima": (ov, ("close",)),
    "kama": (ov, ("close",)),
    "t3": (ov, ("close",)),
    "rsi": (mo, ("close",)),
    "stoch": (mo, ("high", "low", "close")),
    "stochf": (mo, ("high", "low", "close")),
    "stochrsi": (mo, ("close",)),
    "cci": (mo, ("high", "low", "close")),
    "willr": (mo, ("high", "low", "close")),
    "roc": (mo, ("close",)),
    "mom": (mo, ("close",)),
    "mfi": (mo, ("high", "low", "close", "volume")),
    "macd": (mo, ("close",)),
    "macdext": (mo, ("close",)),
    "ppo": (mo, ("close",)),
    "apo": (mo, ("close",)),
    "trix": (mo, ("close",)),
    "ultosc": (mo, ("high", "low", "close")),
    "aroon": (mo, ("high", "low")),
    "aroonosc": (mo, ("high", "low")),
    "bop": (mo, ("open", "high", "low", "close")),
    "cmo": (mo, ("close",)),
    "adx": (tr, ("high", "low", "close")),
    "adxr": (tr, ("high", "low", "close")),
    "plus_di": (tr, ("high", "low", "close")),
    "minus_di": (tr, ("high", "low", "close")),
    "dx": (tr, ("high", "low", "close")),
    "sar": (tr, ("high", "low")),
    "atr": (vo, ("high", "low", "close")),
    "natr": (vo, ("high", "low", "close")),
    "trange": (vo, ("high", "low", "close")),
    "bbands": (vo, ("close",)),
    "stddev": (vo, ("close",)),
    "obv": (vu, ("close", "volume")),
    "ad": (vu, ("high", "low", "close", "volume")),
    "adosc": (vu, ("high", "low", "close", "volume")),
}


def _ta_peers(d: dict[str, pd.Series]) -> dict[str, Callable[[], object]]:
    """The ``ta`` package's versions, where it has the indicator (pandas, default windows)."""
    import ta

    c, h, lo, v = d["close"], d["high"], d["low"], d["volume"]
    return {
        "sma": lambda: ta.trend.SMAIndicator(c, 30).sma_indicator(),
        "ema": lambda: ta.trend.EMAIndicator(c, 30).ema_indicator(),
        "wma": lambda: ta.trend.WMAIndicator(c, 30).wma(),
        "rsi": lambda: ta.momentum.RSIIndicator(c, 14).rsi(),
        "stoch": lambda: ta.momentum.StochasticOscillator(h, lo, c, 5, 3).stoch_signal(),
        "cci": lambda: ta.trend.CCIIndicator(h, lo, c, 14).cci(),
        "willr": lambda: ta.momentum.WilliamsRIndicator(h, lo, c, 14).williams_r(),
        "roc": lambda: ta.momentum.ROCIndicator(c, 10).roc(),
        "mfi": lambda: ta.volume.MFIIndicator(h, lo, c, v, 14).money_flow_index(),
        "macd": lambda: ta.trend.MACD(c).macd_signal(),
        "trix": lambda: ta.trend.TRIXIndicator(c, 30).trix(),
        "ultosc": lambda: ta.momentum.UltimateOscillator(h, lo, c).ultimate_oscillator(),
        "aroon": lambda: ta.trend.AroonIndicator(h, lo, 14).aroon_up(),
        "bbands": lambda: ta.volatility.BollingerBands(c, 20).bollinger_hband(),
        "obv": lambda: ta.volume.OnBalanceVolumeIndicator(c, v).on_balance_volume(),
        "ad": lambda: ta.volume.AccDistIndexIndicator(h, lo, c, v).acc_dist_index(),
        "stddev": lambda: c.rolling(5).std(ddof=0),
    }


def run(quick: bool) -> list[Row]:
    """Time every indicator on the synthetic series next to TA-Lib and ``ta``."""
    n = 100_000 if quick else 1_000_000
    data = _ohlcv(n)
    series = {k: pd.Series(v) for k, v in data.items()}
    peers = _ta_peers(series)
    rows: list[Row] = []
    for name, (module, cols) in _CASES.items():
        args = [data[c] for c in cols]
        ours_fn = getattr(module, name)
        ref_fn = getattr(talib, name.upper())
        _check(name, ours_fn(*args), ref_fn(*args))
        ours = best_time(lambda f=ours_fn, a=args: f(*a), repeat=5, min_time=0.1)
        ref = best_time(lambda f=ref_fn, a=args: f(*a), repeat=5, min_time=0.1)
        rows.append(
            Row(
                "indicators",
                f"{name} ({n:,} bars)",
                ours,
                peer_name="TA-Lib",
                peer=ref,
                target=">= 0.67x",
            )
        )
        if name in peers:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                peer = best_time(peers[name], repeat=1, min_time=0.0)
            rows.append(Row("indicators", f"{name} ({n:,} bars)", ours, peer_name="ta", peer=peer))
    return rows
