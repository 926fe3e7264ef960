"""Streaming indicators (updates/s on the real BTC-perp month) and vectorised channels and VWAP.

Streaming rows feed the 45,031 one-minute bars of ``btc-perp-20211231-20220201_1m.csv`` one at a
time and report updates per second; before timing, every stream is checked bar by bar against its
vectorised form. They have no peer: TA-Lib's Python ``stream`` functions recompute from a whole
array on each call, which is not an O(1) update.

Vectorised rows run on 1,000,000 synthetic bars (a random walk from a fixed seed, only for scale)
and compare with the closest peer in the same run: TA-Lib's MAX+MIN for Donchian, TA-Lib's
EMA+ATR for Keltner, TA-Lib's ATR alone (a lower bound: Supertrend is ATR plus a loop) for
Supertrend, and the ``ta`` library (pandas rolling sums) for the rolling VWAP. Each result is
checked against the peer's (or, for Supertrend, against the streaming class) before it is timed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import talib

from benchmarks.common import Row, best_time
from tradewind.indicators import streaming as st
from tradewind.indicators.channels import donchian, keltner, supertrend
from tradewind.indicators.momentum import macd, rsi, stoch
from tradewind.indicators.overlap import ema, sma
from tradewind.indicators.trend import adx
from tradewind.indicators.volatility import atr, bbands
from tradewind.indicators.volume import obv
from tradewind.indicators.vwap import session_vwap, vwap
from tradewind.testing.candles import Candles, load_candles
from tradewind.testing.shared_data import shared_data_dir

GROUP = "indicators-extra"
Feed = Callable[[Candles], list[object]]


def _stream(make: Callable[[], st.StreamingIndicator], cols: str) -> Feed:
    """Return a function that feeds every bar of ``cols`` (e.g. "hlc") into a fresh indicator."""
    names = {"h": "high", "l": "low", "c": "close", "v": "volume", "t": "timestamps"}

    def feed(c: Candles) -> list[object]:
        ind = make()
        update = ind.update  # type: ignore[attr-defined]
        series = [getattr(c, names[k]).tolist() for k in cols]
        return [update(*bar) for bar in zip(*series, strict=True)]

    return feed


STREAMS: list[tuple[str, Feed, Callable[[Candles], object]]] = [
    ("SMA(30)", _stream(lambda: st.SMA(30), "c"), lambda c: sma(c.close, 30)),
    ("EMA(30)", _stream(lambda: st.EMA(30), "c"), lambda c: ema(c.close, 30)),
    ("RSI(14)", _stream(lambda: st.RSI(14), "c"), lambda c: rsi(c.close, 14)),
    ("ATR(14)", _stream(lambda: st.ATR(14), "hlc"), lambda c: atr(c.high, c.low, c.close, 14)),
    ("MACD(12,26,9)", _stream(st.MACD, "c"), lambda c: macd(c.close)),
    ("BBands(20,2,2)", _stream(lambda: st.BBands(20), "c"), lambda c: bbands(c.close, 20)),
    ("ADX(14)", _stream(lambda: st.ADX(14), "hlc"), lambda c: adx(c.high, c.low, c.close, 14)),
    ("Stoch(5,3,3)", _stream(st.Stoch, "hlc"), lambda c: stoch(c.high, c.low, c.close)),
    ("OBV", _stream(st.OBV, "cv"), lambda c: obv(c.close, c.volume)),
    (
        "VWAP(14)",
        _stream(lambda: st.VWAP(14), "hlcv"),
        lambda c: vwap(c.high, c.low, c.close, c.volume, 14),
    ),
    (
        "SessionVWAP(1d)",
        _stream(st.SessionVWAP, "hlcvt"),
        lambda c: session_vwap(c.high, c.low, c.close, c.volume, c.timestamps),
    ),
    (
        "Supertrend(10,3)",
        _stream(st.Supertrend, "hlc"),
        lambda c: supertrend(c.high, c.low, c.close),
    ),
    (
        "Keltner(20,2,10)",
        _stream(st.Keltner, "hlc"),
        lambda c: keltner(c.high, c.low, c.close),
    ),
    ("Donchian(20)", _stream(st.Donchian, "hl"), lambda c: donchian(c.high, c.low, 20)),
]


def _check(name: str, got: np.ndarray, ref: np.ndarray) -> None:
    if not np.array_equal(np.isnan(got), np.isnan(ref)):
        raise AssertionError(f"{name}: NaN positions differ from the vectorised form")
    ok = ~np.isnan(ref)
    if ok.any():
        scale = np.maximum(np.abs(ref[ok]), np.median(np.abs(ref[ok])))
        if np.any(np.abs(got[ok] - ref[ok]) > 1e-9 * scale):
            raise AssertionError(f"{name}: values differ from the vectorised form")


def _stream_rows(candles: Candles) -> list[Row]:
    rows = []
    n = candles.size
    for name, feed, vectorised in STREAMS:
        out = np.array(feed(candles), dtype=np.float64).reshape(n, -1)
        ref = vectorised(candles)
        refs = list(ref) if isinstance(ref, tuple) else [ref]
        for k, r in enumerate(refs):
            _check(f"{name}[{k}]", out[:, k], np.asarray(r))
        seconds = best_time(lambda feed=feed: feed(candles), repeat=3, min_time=0.05)
        rows.append(
            Row(
                GROUP,
                f"stream {name}, {n:,} real 1m bars",
                n / seconds,
                unit="updates/s",
                higher_is_better=True,
                note="checked bar by bar against the vectorised form",
            )
        )
    return rows


def _synthetic(n: int) -> tuple[np.ndarray, ...]:
    """A positive random walk with plausible bar ranges (fixed seed; scale testing only)."""
    rng = np.random.default_rng(20240601)
    close = 20_000.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0.0, 8e-4, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.lognormal(3.0, 1.0, n)
    timestamps = 1_600_000_000_000 + np.arange(n, dtype=np.int64) * 60_000
    return high, low, close, volume, timestamps


def _close_enough(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.allclose(a, b, rtol=1e-9, atol=0.0, equal_nan=True))


def _vector_rows(n: int) -> list[Row]:
    from ta.volume import VolumeWeightedAveragePrice

    high, low, close, volume, timestamps = _synthetic(n)
    rows: list[Row] = []

    up, _, lo = donchian(high, low, 20)
    if not (
        np.array_equal(up, talib.MAX(high, 20), equal_nan=True)
        and np.array_equal(lo, talib.MIN(low, 20), equal_nan=True)
    ):
        raise AssertionError("donchian differs from TA-Lib MAX/MIN")
    rows.append(
        Row(
            GROUP,
            f"donchian(20), {n:,} rows",
            best_time(lambda: donchian(high, low, 20)),
            peer_name="talib MAX+MIN",
            peer=best_time(lambda: (talib.MAX(high, 20), talib.MIN(low, 20))),
        )
    )

    upper, _, _ = keltner(high, low, close)
    if not _close_enough(upper, talib.EMA(close, 20) + 2.0 * talib.ATR(high, low, close, 10)):
        raise AssertionError("keltner differs from TA-Lib EMA + 2 ATR")
    rows.append(
        Row(
            GROUP,
            f"keltner(20,2,10), {n:,} rows",
            best_time(lambda: keltner(high, low, close)),
            peer_name="talib EMA+ATR",
            peer=best_time(lambda: (talib.EMA(close, 20), talib.ATR(high, low, close, 10))),
        )
    )

    line, direction = supertrend(high, low, close)
    check = 20_000
    stream = st.Supertrend()
    streamed = np.array(
        [
            stream.update(h, lo_, c)
            for h, lo_, c in zip(high[:check], low[:check], close[:check], strict=True)
        ]
    )
    if not (
        _close_enough(streamed[:, 0], line[:check])
        and np.array_equal(streamed[:, 1], direction[:check], equal_nan=True)
    ):
        raise AssertionError("supertrend differs from the streaming Supertrend")
    rows.append(
        Row(
            GROUP,
            f"supertrend(10,3), {n:,} rows",
            best_time(lambda: supertrend(high, low, close)),
            peer_name="talib ATR only (lower bound)",
            peer=best_time(lambda: talib.ATR(high, low, close, 10)),
        )
    )

    frame = pd.DataFrame({"h": high, "l": low, "c": close, "v": volume})

    def ta_vwap() -> np.ndarray:
        indicator = VolumeWeightedAveragePrice(frame.h, frame.l, frame.c, frame.v, window=14)
        return indicator.volume_weighted_average_price().to_numpy()

    if not _close_enough(vwap(high, low, close, volume, 14), ta_vwap()):
        raise AssertionError("vwap differs from ta's VolumeWeightedAveragePrice")
    rows.append(
        Row(
            GROUP,
            f"vwap(14), {n:,} rows",
            best_time(lambda: vwap(high, low, close, volume, 14)),
            peer_name="ta VWAP (pandas)",
            peer=best_time(ta_vwap, repeat=3),
        )
    )

    day = timestamps // 86_400_000

    def pandas_session() -> np.ndarray:
        tp = (high + low + close) / 3.0
        g = pd.DataFrame({"d": day, "pv": tp * volume, "v": volume}).groupby("d")
        return (g["pv"].cumsum() / g["v"].cumsum()).to_numpy()

    if not _close_enough(session_vwap(high, low, close, volume, timestamps), pandas_session()):
        raise AssertionError("session_vwap differs from a pandas groupby cumsum")
    rows.append(
        Row(
            GROUP,
            f"session_vwap(1d), {n:,} rows",
            best_time(lambda: session_vwap(high, low, close, volume, timestamps)),
            peer_name="pandas groupby cumsum",
            peer=best_time(pandas_session, repeat=3),
        )
    )
    return rows


def run(quick: bool) -> list[Row]:
    """Return the streaming rows (real BTC-perp month) and the 1M-row vectorised rows."""
    rows: list[Row] = []
    root = shared_data_dir()
    if root is not None:
        candles = load_candles(Path(root) / "candles/btc-perp-20211231-20220201_1m.csv")
        if quick:
            candles = candles.head(10_000)
        rows += _stream_rows(candles)
    rows += _vector_rows(100_000 if quick else 1_000_000)
    return rows
