"""Streaming indicators fed bar by bar over every shared candle file equal the vectorised forms."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tradewind.core.errors import DataError, UserError
from tradewind.indicators import streaming as st
from tradewind.indicators.channels import donchian, keltner, supertrend
from tradewind.indicators.momentum import macd, rsi, stoch
from tradewind.indicators.overlap import ema, sma
from tradewind.indicators.trend import adx
from tradewind.indicators.volatility import atr, bbands
from tradewind.indicators.volume import obv
from tradewind.indicators.vwap import session_vwap, vwap
from tradewind.testing.candles import Candles, load_candles
from tradewind.testing.shared_data import candle_files

FILES = candle_files()
Outputs = np.ndarray | tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Case:
    make: Callable[[], st.StreamingIndicator]
    feed: Callable[[st.StreamingIndicator, Candles, int], object]
    vectorised: Callable[[Candles], Outputs]


def _close(ind: st.StreamingIndicator, c: Candles, i: int) -> object:
    return ind.update(c.close[i])  # type: ignore[attr-defined]


def _hlc(ind: st.StreamingIndicator, c: Candles, i: int) -> object:
    return ind.update(c.high[i], c.low[i], c.close[i])  # type: ignore[attr-defined]


CASES: dict[str, Case] = {
    "sma": Case(lambda: st.SMA(30), _close, lambda c: sma(c.close, 30)),
    "ema": Case(lambda: st.EMA(21), _close, lambda c: ema(c.close, 21)),
    "rsi": Case(lambda: st.RSI(14), _close, lambda c: rsi(c.close, 14)),
    "atr": Case(lambda: st.ATR(14), _hlc, lambda c: atr(c.high, c.low, c.close, 14)),
    "atr1": Case(lambda: st.ATR(1), _hlc, lambda c: atr(c.high, c.low, c.close, 1)),
    "macd": Case(lambda: st.MACD(12, 26, 9), _close, lambda c: macd(c.close, 12, 26, 9)),
    "macd_swapped": Case(lambda: st.MACD(35, 5, 5), _close, lambda c: macd(c.close, 35, 5, 5)),
    "bbands": Case(
        lambda: st.BBands(20, 2.0, 1.5), _close, lambda c: bbands(c.close, 20, 2.0, 1.5)
    ),
    "adx": Case(lambda: st.ADX(14), _hlc, lambda c: adx(c.high, c.low, c.close, 14)),
    "stoch": Case(lambda: st.Stoch(14, 3, 3), _hlc, lambda c: stoch(c.high, c.low, c.close, 14, 3)),
    "stoch_fast": Case(
        lambda: st.Stoch(5, 1, 2), _hlc, lambda c: stoch(c.high, c.low, c.close, 5, 1, 0, 2)
    ),
    "obv": Case(
        st.OBV,
        lambda ind, c, i: ind.update(c.close[i], c.volume[i]),  # type: ignore[attr-defined]
        lambda c: obv(c.close, c.volume),
    ),
    "vwap": Case(
        lambda: st.VWAP(20),
        lambda ind, c, i: ind.update(c.high[i], c.low[i], c.close[i], c.volume[i]),  # type: ignore[attr-defined]
        lambda c: vwap(c.high, c.low, c.close, c.volume, 20),
    ),
    "session_vwap": Case(
        lambda: st.SessionVWAP("1d"),
        lambda ind, c, i: ind.update(  # type: ignore[attr-defined]
            c.high[i], c.low[i], c.close[i], c.volume[i], int(c.timestamps[i])
        ),
        lambda c: session_vwap(c.high, c.low, c.close, c.volume, c.timestamps, "1d"),
    ),
    "supertrend": Case(
        lambda: st.Supertrend(10, 3.0), _hlc, lambda c: supertrend(c.high, c.low, c.close, 10, 3.0)
    ),
    "keltner": Case(
        lambda: st.Keltner(20, 2.0, 10),
        _hlc,
        lambda c: keltner(c.high, c.low, c.close, 20, 2.0, 10),
    ),
    "donchian": Case(
        lambda: st.Donchian(20),
        lambda ind, c, i: ind.update(c.high[i], c.low[i]),  # type: ignore[attr-defined]
        lambda c: donchian(c.high, c.low, 20),
    ),
}


def _assert_same(name: str, got: np.ndarray, ref: np.ndarray) -> None:
    nan_got, nan_ref = np.isnan(got), np.isnan(ref)
    if not np.array_equal(nan_got, nan_ref):
        first = int(np.flatnonzero(nan_got != nan_ref)[0])
        raise AssertionError(
            f"{name}: NaN differs first at bar {first}: {got[first]} vs {ref[first]}"
        )
    ok = ~nan_ref
    if not ok.any():
        return
    # The issue's tolerance: relative to the value, or to the series' typical size near zero.
    scale = np.maximum(np.abs(ref[ok]), np.median(np.abs(ref[ok])))
    err = np.abs(got[ok] - ref[ok])
    bad = err > 1e-9 * scale
    if bad.any():
        first = int(np.flatnonzero(ok)[np.argmax(bad)])
        raise AssertionError(f"{name}: differs at bar {first}: {got[first]} vs {ref[first]}")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("name", list(CASES))
def test_streaming_equals_vectorised(name: str, path: Path) -> None:
    case = CASES[name]
    candles = load_candles(path)
    ref = case.vectorised(candles)
    refs = list(ref) if isinstance(ref, tuple) else [ref]
    ind = case.make()
    rows = [case.feed(ind, candles, i) for i in range(candles.size)]
    got = np.array(rows, dtype=np.float64).reshape(candles.size, -1)
    assert got.shape[1] == len(refs)
    for k, r in enumerate(refs):
        _assert_same(f"{name}[{k}]", got[:, k], np.asarray(r))
    assert ind.ready == (not math.isnan(got[-1, 0]))


def test_value_and_ready_follow_warm_up() -> None:
    ind = st.SMA(3)
    assert not ind.ready
    assert math.isnan(ind.value)
    assert math.isnan(ind.update(1.0))
    assert math.isnan(ind.update(2.0))
    assert ind.update(6.0) == 3.0
    assert ind.ready
    assert ind.value == 3.0
    macd_ = st.MACD()
    assert macd_.value == (pytest.approx(math.nan, nan_ok=True),) * 3
    assert not macd_.ready


def test_donchian_memory_stays_bounded(shared_data: Path) -> None:
    c = load_candles(shared_data / "candles/btc-perp-20211231-20220201_1m.csv")
    ind = st.Donchian(20)
    longest = 0
    for h, lo in zip(c.high[:5000], c.low[:5000], strict=True):
        ind.update(h, lo)
        longest = max(longest, len(ind._high._dq), len(ind._low._dq))
    assert longest <= 20


def test_bad_input_is_named() -> None:
    with pytest.raises(UserError, match="timeperiod must be at least 2"):
        st.RSI(1)
    with pytest.raises(UserError, match="timeperiod must be an integer"):
        st.EMA(10.5)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="multiplier must be a positive"):
        st.Supertrend(10, -3.0)
    with pytest.raises(UserError, match="invalid timeframe"):
        st.SessionVWAP("1 day")
    with pytest.raises(DataError, match="real must be finite"):
        st.SMA(5).update(float("nan"))
    with pytest.raises(DataError, match="volume must not be negative"):
        st.VWAP(5).update(2.0, 1.0, 1.5, -1.0)
    session = st.SessionVWAP()
    session.update(2.0, 1.0, 1.5, 1.0, 60_000)
    with pytest.raises(DataError, match="timestamps must strictly increase"):
        session.update(2.0, 1.0, 1.5, 1.0, 60_000)
