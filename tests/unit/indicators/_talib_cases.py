"""The indicator cases shared by the TA-Lib parity and causality tests.

Each case names our function, TA-Lib's, which candle columns they take and the keyword arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import talib

from tradewind.indicators import momentum, overlap, trend, volatility, volume


@dataclass(frozen=True)
class Case:
    name: str
    ours: Callable[..., Any]
    ref: Callable[..., Any] | None
    columns: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.name}({args})"


C = ("close",)
HL = ("high", "low")
HLC = ("high", "low", "close")
HLCV = ("high", "low", "close", "volume")


def _case(module: Any, name: str, cols: tuple[str, ...], **kwargs: Any) -> Case:
    return Case(name, getattr(module, name), getattr(talib, name.upper()), cols, kwargs)


def _periods(module: Any, name: str, cols: tuple[str, ...], periods: tuple[int, ...]) -> list[Case]:
    cases = [_case(module, name, cols)]
    cases += [_case(module, name, cols, timeperiod=p) for p in periods]
    return cases


TALIB_CASES: list[Case] = [
    *[
        c
        for n in ("sma", "ema", "wma", "dema", "tema", "trima", "kama")
        for c in _periods(overlap, n, C, (1, 2, 9, 50))
    ],
    *_periods(overlap, "t3", C, (1, 2, 9)),
    _case(overlap, "t3", C, timeperiod=7, vfactor=0.3),
    *[c for n in ("rsi", "cmo") for c in _periods(momentum, n, C, (2, 9, 30))],
    *[c for n in ("roc", "mom", "trix") for c in _periods(momentum, n, C, (1, 5, 21))],
    *[c for n in ("willr", "cci") for c in _periods(momentum, n, HLC, (2, 9, 30))],
    *_periods(momentum, "mfi", HLCV, (2, 9, 30)),
    *[c for n in ("aroon", "aroonosc") for c in _periods(momentum, n, HL, (2, 9, 30))],
    _case(momentum, "bop", ("open", "high", "low", "close")),
    _case(momentum, "stoch", HLC),
    _case(momentum, "stoch", HLC, fastk_period=14, slowk_period=3, slowd_period=3),
    _case(momentum, "stoch", HLC, fastk_period=1, slowk_period=1, slowd_period=1),
    _case(momentum, "stoch", HLC, fastk_period=9, slowk_matype=1, slowd_matype=2),
    _case(momentum, "stoch", HLC, slowk_matype=6, slowd_matype=8),
    _case(momentum, "stochf", HLC),
    _case(momentum, "stochf", HLC, fastk_period=14, fastd_period=4, fastd_matype=5),
    _case(momentum, "stochrsi", C),
    _case(momentum, "stochrsi", C, timeperiod=9, fastk_period=3, fastd_period=3, fastd_matype=1),
    _case(momentum, "macd", C),
    _case(momentum, "macd", C, fastperiod=5, slowperiod=10, signalperiod=4),
    _case(momentum, "macd", C, fastperiod=26, slowperiod=12, signalperiod=1),
    _case(momentum, "macdext", C),
    _case(momentum, "macdext", C, fastmatype=1, slowmatype=1, signalmatype=1),
    # Mixed SMA/EMA lines take the one-pass kernel: one case per type of each line, periods
    # swapped and a signal of period 2 included.
    _case(momentum, "macdext", C, fastmatype=0, slowmatype=1, signalmatype=1),
    _case(momentum, "macdext", C, fastmatype=1, slowmatype=0, signalmatype=0),
    _case(momentum, "macdext", C, fastperiod=30, fastmatype=1, slowperiod=7, signalperiod=2),
    _case(momentum, "macdext", C, fastmatype=0, slowmatype=0, signalperiod=1),
    _case(
        momentum,
        "macdext",
        C,
        fastperiod=5,
        fastmatype=2,
        slowperiod=10,
        slowmatype=3,
        signalperiod=4,
        signalmatype=4,
    ),
    _case(
        momentum,
        "macdext",
        C,
        fastperiod=6,
        fastmatype=5,
        slowperiod=13,
        slowmatype=6,
        signalperiod=5,
        signalmatype=8,
    ),
    *[_case(momentum, n, C) for n in ("ppo", "apo")],
    *[_case(momentum, n, C, fastperiod=5, slowperiod=3, matype=2) for n in ("ppo", "apo")],
    *[_case(momentum, n, C, fastperiod=3, slowperiod=10, matype=6) for n in ("ppo", "apo")],
    *[_case(momentum, n, C, fastperiod=12, slowperiod=26, matype=0) for n in ("ppo", "apo")],
    _case(momentum, "ultosc", HLC),
    _case(momentum, "ultosc", HLC, timeperiod1=28, timeperiod2=14, timeperiod3=7),
    _case(momentum, "ultosc", HLC, timeperiod1=1, timeperiod2=2, timeperiod3=3),
    *[
        c
        for n in ("adx", "adxr", "dx", "plus_di", "minus_di")
        for c in _periods(trend, n, HLC, (2, 7, 30))
    ],
    *[_case(trend, n, HLC, timeperiod=1) for n in ("plus_di", "minus_di")],
    _case(trend, "sar", HL),
    _case(trend, "sar", HL, acceleration=0.05, maximum=0.5),
    _case(trend, "sar", HL, acceleration=0.3, maximum=0.2),
    _case(volatility, "trange", HLC),
    *[c for n in ("atr", "natr") for c in _periods(volatility, n, HLC, (1, 2, 7, 30))],
    *_periods(volatility, "stddev", C, (2, 10, 30)),
    _case(volatility, "stddev", C, timeperiod=10, nbdev=2.5),
    *_periods(volatility, "bbands", C, (2, 5, 30)),
    *[
        _case(volatility, "bbands", C, timeperiod=10, nbdevup=1.5, nbdevdn=2.5, matype=m)
        for m in (0, 1, 2, 3, 4, 5, 6, 8)
    ],
    _case(volume, "obv", ("close", "volume")),
    _case(volume, "ad", HLCV),
    _case(volume, "adosc", HLCV),
    _case(volume, "adosc", HLCV, fastperiod=10, slowperiod=3),
]

# Indicators TA-Lib does not have: causality and bad-input tests only.
OWN_CASES: list[Case] = [
    Case("hma", overlap.hma, None, C, {"timeperiod": 16}),
    Case("hma", overlap.hma, None, C, {"timeperiod": 2}),
    Case("realised_volatility", volatility.realised_volatility, None, C, {"timeperiod": 20}),
    Case("cmf", volume.cmf, None, HLCV, {"timeperiod": 20}),
]
