"""Indicators: TA-Lib-exact vectorised functions, streaming versions, patterns, multi-timeframe
alignment and regime detection. Everything is causal: a value at bar t uses bars up to t only.

Vectorised functions take and return float64 NumPy arrays and follow TA-Lib's lower-case names,
argument order, defaults and output order. Streaming classes live in
:mod:`tradewind.indicators.streaming`, candlestick and chart patterns in
:mod:`tradewind.indicators.patterns`.
"""

from tradewind.indicators.channels import donchian, keltner, supertrend
from tradewind.indicators.ichimoku import Ichimoku, ichimoku
from tradewind.indicators.levels import FibLevels, PivotLevels, fib_levels, pivot_points
from tradewind.indicators.momentum import (
    apo,
    aroon,
    aroonosc,
    bop,
    cci,
    cmo,
    macd,
    macdext,
    mfi,
    mom,
    ppo,
    roc,
    rsi,
    stoch,
    stochf,
    stochrsi,
    trix,
    ultosc,
    willr,
)
from tradewind.indicators.mtf import HtfBars, align_to_base, on_higher_timeframe, resample_ohlcv
from tradewind.indicators.overlap import dema, ema, hma, kama, sma, t3, tema, trima, wma
from tradewind.indicators.regime import Regime, RegimeParams, classify_regime, market_breadth
from tradewind.indicators.trend import adx, adxr, dx, minus_di, plus_di, sar
from tradewind.indicators.volatility import atr, bbands, natr, realised_volatility, stddev, trange
from tradewind.indicators.volume import ad, adosc, cmf, obv
from tradewind.indicators.volume_profile import volume_profile
from tradewind.indicators.vwap import session_vwap, typical_price, vwap

__all__ = [
    "FibLevels", "HtfBars", "Ichimoku", "PivotLevels", "Regime", "RegimeParams", "ad", "adosc",
    "adx", "adxr", "align_to_base", "apo", "aroon", "aroonosc", "atr", "bbands", "bop", "cci",
    "classify_regime", "cmf", "cmo", "dema", "donchian", "dx", "ema", "fib_levels", "hma",
    "ichimoku", "kama", "keltner", "macd", "macdext", "market_breadth", "mfi", "minus_di", "mom",
    "natr", "obv", "on_higher_timeframe", "pivot_points", "plus_di", "ppo", "realised_volatility",
    "resample_ohlcv", "roc", "rsi", "sar", "session_vwap", "sma", "stddev", "stoch", "stochf",
    "stochrsi", "supertrend", "t3", "tema", "trange", "trima", "trix", "typical_price", "ultosc",
    "volume_profile", "vwap", "willr", "wma",
]  # fmt: skip
