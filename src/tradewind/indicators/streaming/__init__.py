"""Streaming indicators for the live path: one ``update`` per bar, O(1) work each.

Every class returns, bar by bar, what its vectorised counterpart returns for the whole series:
NaN during warm-up at the same bars, then the same values (a test feeds every shared candle file
through both). Common interface: ``update(...)`` returns the value (a tuple for multi-output
indicators, in the vectorised output order), ``value`` repeats it and ``ready`` tells whether
warm-up is over.
"""

from tradewind.indicators.streaming._base import StreamingIndicator
from tradewind.indicators.streaming.averages import EMA, SMA
from tradewind.indicators.streaming.oscillators import MACD, RSI, Stoch
from tradewind.indicators.streaming.trend import ADX, Supertrend
from tradewind.indicators.streaming.volatility import ATR, BBands, Donchian, Keltner
from tradewind.indicators.streaming.volume import OBV, VWAP, SessionVWAP

__all__ = [
    "ADX",
    "ATR",
    "EMA",
    "MACD",
    "OBV",
    "RSI",
    "SMA",
    "VWAP",
    "BBands",
    "Donchian",
    "Keltner",
    "SessionVWAP",
    "Stoch",
    "StreamingIndicator",
    "Supertrend",
]
