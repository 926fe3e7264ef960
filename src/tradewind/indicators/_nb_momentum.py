"""Compiled kernels behind :mod:`tradewind.indicators.momentum`.

Same shape as :mod:`._nb`: inputs start at the first valid bar, outputs are written in place with
NaN over the warm-up, and loops follow TA-Lib 0.8's C loops (including its zero guards) so the
results agree with it to rounding.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from tradewind.indicators._nb import (
    EPSILON,
    MA_EMA,
    MA_SMA,
    ma_into,
    ma_lookback,
    nan_head,
    triple_ema_seed,
)
from tradewind.indicators._talib_inputs import FloatArray
from tradewind.indicators._window import EXTREMES_FASTK, EXTREMES_WILLR, window_extremes_into


@nb.njit(cache=True, nogil=True, inline="always")
def is_zero_scaled(value: float, scale: float) -> bool:  # pragma: no cover - numba
    """TA-Lib's relative zero test: ``|value| <= 1e-14 * scale`` (scale = |a| + |b|)."""
    return abs(value) <= EPSILON * scale


@nb.njit(cache=True, nogil=True)
def wilder_oscillator_into(
    x: FloatArray, p: int, cmo: bool, out: FloatArray
) -> None:  # pragma: no cover
    """RSI (``cmo=False``) or CMO (``cmo=True``) from Wilder-smoothed gains and losses."""
    if nan_head(out, p):
        return
    prev_value = x[0]
    gain = 0.0
    loss = 0.0
    for today in range(1, p + 1):
        v = x[today]
        d = v - prev_value
        prev_value = v
        if d < 0.0:
            loss -= d
        else:
            gain += d
    loss /= p
    gain /= p
    out[p] = _wilder_value(gain, loss, cmo)
    # Reciprocals keep divisions out of the recursion (see _atr_into); a few ulp only.
    keep = (p - 1) / p
    inv_p = 1.0 / p
    for today in range(p + 1, x.shape[0]):
        v = x[today]
        d = v - prev_value
        prev_value = v
        loss = loss * keep + (-d if d < 0.0 else 0.0) * inv_p
        gain = gain * keep + (d if d >= 0.0 else 0.0) * inv_p
        out[today] = _wilder_value(gain, loss, cmo)


@nb.njit(cache=True, nogil=True, inline="always")
def _wilder_value(gain: float, loss: float, cmo: bool) -> float:  # pragma: no cover - numba
    # Both averages are sums of non-negative terms: the total is zero only for a flat window,
    # so TA-Lib tests it exactly rather than against a band that depends on the price level.
    total = gain + loss
    if not total > 0.0:
        return 0.0
    if cmo:
        return 100.0 * ((gain - loss) / total)
    return 100.0 * (gain / total)


@nb.njit(cache=True, nogil=True)
def fastk_into(
    high: FloatArray, low: FloatArray, close: FloatArray, k: int, willr: bool, out: FloatArray
) -> None:  # pragma: no cover - numba
    """Raw %K over ``k`` bars (or Williams %R when ``willr``); warm-up ``k - 1``.

    A window whose range is zero relative to its prices gives 0. The extremes come from the
    blocked sliding-window kernel (same values, a fixed cost per bar); inputs with a NaN inside
    go through :func:`_fastk_rescan`, which reproduces how TA-Lib's comparisons treat it.
    """
    if nan_head(out, k - 1):
        return
    mode = EXTREMES_WILLR if willr else EXTREMES_FASTK
    if not window_extremes_into(high, low, close, k, mode, out, out, out):
        _fastk_rescan(high, low, close, k, willr, out)


@nb.njit(cache=True, nogil=True)
def _fastk_rescan(
    high: FloatArray, low: FloatArray, close: FloatArray, k: int, willr: bool, out: FloatArray
) -> None:  # pragma: no cover - numba
    """TA-Lib's own %K loop: extremes tracked incrementally and rescanned only when the extreme
    leaves the window. Kept for inputs with a NaN inside, whose result depends on this order."""
    lowest_idx = -1
    highest_idx = -1
    lowest = 0.0
    highest = 0.0
    for today in range(k - 1, high.shape[0]):
        trailing = today - k + 1
        v = low[today]
        if lowest_idx < trailing:
            lowest_idx = trailing
            lowest = low[lowest_idx]
            for i in range(lowest_idx + 1, today + 1):
                v = low[i]
                if v < lowest:
                    lowest_idx = i
                    lowest = v
        elif v <= lowest:
            lowest_idx = today
            lowest = v
        v = high[today]
        if highest_idx < trailing:
            highest_idx = trailing
            highest = high[highest_idx]
            for i in range(highest_idx + 1, today + 1):
                v = high[i]
                if v > highest:
                    highest_idx = i
                    highest = v
        elif v >= highest:
            highest_idx = today
            highest = v
        rng = highest - lowest
        if is_zero_scaled(rng, abs(highest) + abs(lowest)):
            out[today] = 0.0
        elif willr:
            out[today] = ((highest - close[today]) / rng) * -100.0
        else:
            out[today] = ((close[today] - lowest) / rng) * 100.0


@nb.njit(cache=True, nogil=True)
def stoch_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    k: int,
    slowk_p: int,
    slowk_type: int,
    slowd_p: int,
    slowd_type: int,
    slowk: FloatArray,
    slowd: FloatArray,
) -> None:  # pragma: no cover - numba
    """Slow stochastic: %K smoothed into slow %K, then slow %D; both share the total warm-up."""
    n = high.shape[0]
    lb_k = k - 1
    lb_sk = ma_lookback(slowk_p, slowk_type)
    total = lb_k + lb_sk + ma_lookback(slowd_p, slowd_type)
    too_short = nan_head(slowk, total)
    nan_head(slowd, total)
    if too_short:
        return
    fast = np.empty(n)
    fastk_into(high, low, close, k, False, fast)
    ma_into(fast[lb_k:], slowk_p, slowk_type, slowk[lb_k:])
    ma_into(slowk[lb_k + lb_sk :], slowd_p, slowd_type, slowd[lb_k + lb_sk :])
    nan_head(slowk, total)


@nb.njit(cache=True, nogil=True)
def stochf_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    k: int,
    d_p: int,
    d_type: int,
    fastk: FloatArray,
    fastd: FloatArray,
) -> None:  # pragma: no cover - numba
    """Fast stochastic: raw %K and its average %D, trimmed to the common warm-up."""
    lb_k = k - 1
    total = lb_k + ma_lookback(d_p, d_type)
    too_short = nan_head(fastk, total)
    nan_head(fastd, total)
    if too_short:
        return
    fastk_into(high, low, close, k, False, fastk)
    ma_into(fastk[lb_k:], d_p, d_type, fastd[lb_k:])
    nan_head(fastk, total)


@nb.njit(cache=True, nogil=True)
def stochrsi_into(
    x: FloatArray,
    p: int,
    k: int,
    d_p: int,
    d_type: int,
    fastk: FloatArray,
    fastd: FloatArray,
) -> None:  # pragma: no cover - numba
    """Fast stochastic of the RSI (high = low = close = RSI)."""
    total = p + k - 1 + ma_lookback(d_p, d_type)
    too_short = nan_head(fastk, total)
    nan_head(fastd, total)
    if too_short:
        return
    r = np.empty(x.shape[0])
    wilder_oscillator_into(x, p, False, r)
    rr = r[p:]
    stochf_into(rr, rr, rr, k, d_p, d_type, fastk[p:], fastd[p:])


@nb.njit(cache=True, nogil=True)
def cci_into(
    high: FloatArray, low: FloatArray, close: FloatArray, p: int, out: FloatArray
) -> None:  # pragma: no cover - numba
    """Commodity channel index with TA-Lib's circular buffer (same summation order)."""
    if nan_head(out, p - 1):
        return
    buf = np.empty(p)
    idx = 0
    for i in range(p - 1):
        buf[idx] = (high[i] + low[i] + close[i]) / 3
        idx += 1
    for i in range(p - 1, high.shape[0]):
        last = (high[i] + low[i] + close[i]) / 3
        buf[idx] = last
        avg = 0.0
        for j in range(p):
            avg += buf[j]
        avg /= p
        dev = 0.0
        for j in range(p):
            dev += abs(buf[j] - avg)
        dev /= p
        diff = last - avg
        scale = abs(avg)
        if not is_zero_scaled(diff, scale) and not is_zero_scaled(dev, scale):
            out[i] = diff / (0.015 * dev)
        else:
            out[i] = 0.0
        idx += 1
        if idx >= p:
            idx = 0


@nb.njit(cache=True, nogil=True)
def mfi_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    p: int,
    out: FloatArray,
) -> None:  # pragma: no cover - numba
    """Money flow index: RSI-like ratio of positive to total money flow over ``p`` bars."""
    if nan_head(out, p):
        return
    pos_buf = np.zeros(p)
    neg_buf = np.zeros(p)
    idx = 0
    pos_sum = 0.0
    neg_sum = 0.0
    # Bars in a row that added no flow; a full window of them zeroes the sums exactly, since
    # add-then-subtract leaves rounding residue of either sign (TA-Lib 0.8, #244).
    null_run = 0
    prev = (high[0] + low[0] + close[0]) / 3.0
    for today in range(1, high.shape[0]):
        if today > p:
            pos_sum -= pos_buf[idx]
            neg_sum -= neg_buf[idx]
        tp = (high[today] + low[today] + close[today]) / 3.0
        d = tp - prev
        scale = abs(tp) + abs(prev)
        prev = tp
        flow = 0.0 if is_zero_scaled(d, scale) else tp * volume[today]
        pos_flow = 0.0 if d < 0.0 else flow
        neg_flow = flow if d < 0.0 else 0.0
        pos_buf[idx] = pos_flow
        neg_buf[idx] = neg_flow
        pos_sum += pos_flow
        neg_sum += neg_flow
        null_run = null_run + 1 if flow == 0.0 else 0
        if null_run >= p:
            null_run = p
            pos_sum = 0.0
            neg_sum = 0.0
        idx += 1
        if idx >= p:
            idx = 0
        if today >= p:
            total = pos_sum + neg_sum
            pos = 0.0 if pos_sum < 0.0 else (total if pos_sum > total else pos_sum)
            out[today] = 0.0 if total <= 0.0 else 100.0 * (pos / total)


@nb.njit(cache=True, nogil=True)
def roc_into(x: FloatArray, p: int, kind: int, out: FloatArray) -> None:  # pragma: no cover
    """Rate of change (kind 0: percent, ROC) or momentum (kind 1: difference, MOM)."""
    if nan_head(out, p):
        return
    if kind == 1:
        # Views indexed from 0 let LLVM drop numba's negative-index checks and vectorise (4x).
        m = x.shape[0] - p
        lagged = x[:m]
        current = x[p:]
        dst = out[p:]
        for j in range(m):
            dst[j] = current[j] - lagged[j]
        return
    for i in range(p, x.shape[0]):
        prev = x[i - p]
        out[i] = ((x[i] / prev) - 1.0) * 100.0 if prev != 0.0 else 0.0


@nb.njit(cache=True, nogil=True)
def bop_into(
    open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray, out: FloatArray
) -> None:  # pragma: no cover - numba
    """Balance of power ``(close - open) / (high - low)``; 0 for a bar without range."""
    for i in range(open_.shape[0]):
        rng = high[i] - low[i]
        if rng > 0.0:
            out[i] = (close[i] - open_[i]) / rng
        else:
            out[i] = 0.0


@nb.njit(cache=True, nogil=True)
def aroon_into(
    high: FloatArray, low: FloatArray, p: int, down: FloatArray, up: FloatArray, osc: FloatArray
) -> None:  # pragma: no cover - numba
    """Aroon down/up and the oscillator over ``p + 1`` bars; the latest extreme wins ties."""
    too_short = nan_head(down, p)
    nan_head(up, p)
    nan_head(osc, p)
    if too_short:
        return
    factor = 100.0 / p
    lowest_idx = -1
    highest_idx = -1
    lowest = 0.0
    highest = 0.0
    for today in range(p, high.shape[0]):
        trailing = today - p
        v = low[today]
        if lowest_idx < trailing:
            lowest_idx = trailing
            lowest = low[lowest_idx]
            for i in range(lowest_idx + 1, today + 1):
                v = low[i]
                if v <= lowest:
                    lowest_idx = i
                    lowest = v
        elif v <= lowest:
            lowest_idx = today
            lowest = v
        v = high[today]
        if highest_idx < trailing:
            highest_idx = trailing
            highest = high[highest_idx]
            for i in range(highest_idx + 1, today + 1):
                v = high[i]
                if v >= highest:
                    highest_idx = i
                    highest = v
        elif v >= highest:
            highest_idx = today
            highest = v
        up[today] = factor * (p - (today - highest_idx))
        down[today] = factor * (p - (today - lowest_idx))
        osc[today] = factor * (highest_idx - lowest_idx)


@nb.njit(cache=True, nogil=True)
def ultosc_into(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    p1: int,
    p2: int,
    p3: int,
    out: FloatArray,
) -> None:  # pragma: no cover - numba
    """Ultimate oscillator; ``p1 <= p2 <= p3`` (sorted by the caller) weigh 4, 2 and 1."""
    if nan_head(out, p3):
        return
    n = high.shape[0]
    bp = np.empty(n)
    tr = np.empty(n)
    for i in range(1, n):
        prev_close = close[i - 1]
        lo = low[i]
        hi = high[i]
        true_low = lo if lo < prev_close else prev_close
        bp[i] = close[i] - true_low
        r = hi - lo
        v = abs(prev_close - hi)
        r = max(r, v)
        v = abs(prev_close - lo)
        r = max(r, v)
        tr[i] = r
    a1 = 0.0
    b1 = 0.0
    a2 = 0.0
    b2 = 0.0
    a3 = 0.0
    b3 = 0.0
    start = p3
    for i in range(start - p1 + 1, start):
        a1 += bp[i]
        b1 += tr[i]
    for i in range(start - p2 + 1, start):
        a2 += bp[i]
        b2 += tr[i]
    for i in range(start - p3 + 1, start):
        a3 += bp[i]
        b3 += tr[i]
    for today in range(start, n):
        a1 += bp[today]
        a2 += bp[today]
        a3 += bp[today]
        b1 += tr[today]
        b2 += tr[today]
        b3 += tr[today]
        value = 0.0
        if b1 > 0.0:
            value += 4.0 * (a1 / b1)
        if b2 > 0.0:
            value += 2.0 * (a2 / b2)
        if b3 > 0.0:
            value += a3 / b3
        t1 = today - p1 + 1
        t2 = today - p2 + 1
        t3 = today - p3 + 1
        a1 -= bp[t1]
        b1 -= tr[t1]
        a2 -= bp[t2]
        b2 -= tr[t2]
        a3 -= bp[t3]
        b3 -= tr[t3]
        out[today] = 100.0 * (value / 7.0)


@nb.njit(cache=True, nogil=True, inline="always")
def _sma_or_ema(ma_type: int) -> bool:  # pragma: no cover - numba
    return ma_type in (MA_SMA, MA_EMA)


@nb.njit(cache=True, nogil=True)
def macdext_into(
    x: FloatArray,
    fast: int,
    fast_type: int,
    slow: int,
    slow_type: int,
    signal: int,
    signal_type: int,
    macd: FloatArray,
    sig: FloatArray,
    hist: FloatArray,
) -> None:  # pragma: no cover - numba
    """MACD line, signal and histogram from any two TA-Lib averages.

    TA-Lib starts both averages at the first bar of the slower one, so an EMA fast line is
    seeded with the mean of the ``fast`` values *ending* there, not of the first ``fast`` bars.
    """
    if slow < fast:
        fast, slow = slow, fast
        fast_type, slow_type = slow_type, fast_type
    lb_fast = ma_lookback(fast, fast_type)
    lb_slow = ma_lookback(slow, slow_type)
    lb_large = max(lb_fast, lb_slow)
    total = lb_large + ma_lookback(signal, signal_type)
    too_short = nan_head(macd, total)
    nan_head(sig, total)
    nan_head(hist, total)
    if too_short:
        return
    n = x.shape[0]
    # SMA/EMA combinations (MACD itself and MACDEXT's defaults) take a one-pass kernel.
    if (
        _sma_or_ema(fast_type)
        and _sma_or_ema(slow_type)
        and _sma_or_ema(signal_type)
        and signal > 1
    ):
        fast_sma = fast_type == MA_SMA
        slow_sma = slow_type == MA_SMA
        signal_sma = signal_type == MA_SMA
        _macd_sma_ema_fused(x, fast, fast_sma, slow, slow_sma, signal, signal_sma, macd, sig, hist)
        return
    fast_line = np.empty(n)
    off = lb_large - lb_fast
    ma_into(x[off:], fast, fast_type, fast_line[off:])
    slow_line = np.empty(n)
    off = lb_large - lb_slow
    ma_into(x[off:], slow, slow_type, slow_line[off:])
    for i in range(lb_large, n):
        macd[i] = fast_line[i] - slow_line[i]
    ma_into(macd[lb_large:], signal, signal_type, sig[lb_large:])
    for i in range(total, n):
        hist[i] = macd[i] - sig[i]
    nan_head(macd, total)


@nb.njit(cache=True, nogil=True)
def price_oscillator_into(
    x: FloatArray, fast: int, slow: int, ma_type: int, percent: bool, out: FloatArray
) -> None:  # pragma: no cover - numba
    """APO (``fast MA - slow MA``) or PPO (that difference in percent of the slow MA)."""
    if slow < fast:
        fast, slow = slow, fast
    lb_slow = ma_lookback(slow, ma_type)
    if nan_head(out, lb_slow):
        return
    n = x.shape[0]
    # Unlike MACD, both averages start at the first bar here.
    fast_line = np.empty(n)
    ma_into(x, fast, ma_type, fast_line)
    ma_into(x, slow, ma_type, out)
    for i in range(lb_slow, n):
        s = out[i]
        if not percent:
            out[i] = fast_line[i] - s
        elif s != 0.0:
            out[i] = ((fast_line[i] - s) / s) * 100.0
        else:
            out[i] = 0.0


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def trix_into(x: FloatArray, p: int, out: FloatArray) -> None:  # pragma: no cover - numba
    """One-bar percent rate of change of a triple-smoothed EMA; warm-up ``3*(p-1) + 1``.

    The three EMAs run in one loop (the CPU overlaps their recursions) and keep only the
    previous triple EMA, so no intermediate series is allocated.
    """
    lb = p - 1
    total = 3 * lb + 1
    if nan_head(out, total):
        return
    k = 2.0 / (p + 1)
    e1, e2, e3 = triple_ema_seed(x, p, k)
    for i in range(total, x.shape[0]):
        e1 = (x[i] - e1) * k + e1
        e2 = (e1 - e2) * k + e2
        prev = e3
        e3 = (e2 - e3) * k + e3
        out[i] = ((e3 / prev) - 1.0) * 100.0 if prev != 0.0 else 0.0


@nb.njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _sma_or_ema_step(
    state: float, v: float, trail: float, p: int, k: float, sma: bool
) -> tuple[float, float]:  # pragma: no cover - numba
    """One bar of ``sma_into`` (state: running total after the trailing value left) or of
    ``ema_into`` (state: the average), with the same operations; returns (state, value)."""
    if sma:
        total = state + v
        return total - trail, total / p
    e = (v - state) * k + state
    return e, e


@nb.njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def _macd_sma_ema_loop(
    x: FloatArray,
    fast: int,
    fast_sma: bool,
    slow: int,
    slow_sma: bool,
    signal: int,
    signal_sma: bool,
    macd: FloatArray,
    sig: FloatArray,
    hist: FloatArray,
) -> None:  # pragma: no cover - numba
    n = x.shape[0]
    lb = slow - 1
    total = lb + signal - 1
    kf = 2.0 / (fast + 1)
    ks = 2.0 / (slow + 1)
    kg = 2.0 / (signal + 1)
    # sma_into's first value and ema_into's seed are the same sequential sum of the first p
    # values (the fast one's window ends at bar slow - 1, as in TA-Lib).
    acc = 0.0
    for i in range(slow - fast, slow):
        acc += x[i]
    sf = acc - x[slow - fast] if fast_sma else acc / fast
    fv = acc / fast
    acc = 0.0
    for i in range(slow):
        acc += x[i]
    ss = acc - x[0] if slow_sma else acc / slow
    sv = acc / slow
    m = fv - sv
    macd[lb] = m
    # Signal state over the line from bar lb, as ma_into(macd[lb:]) would keep it.
    gs = m
    # Views from bar lb + 1 with the trailing values aligned to the same index, so the loops
    # need no ``i - p`` (numba's negative-index wraparound code otherwise dominates them).
    xs = x[lb + 1 :]
    trail_f = x[slow - fast + 1 :]
    trail_s = x[1:]
    ms = macd[lb + 1 :]
    for j in range(total - lb):
        v = xs[j]
        sf, fv = _sma_or_ema_step(sf, v, trail_f[j], fast, kf, fast_sma)
        ss, sv = _sma_or_ema_step(ss, v, trail_s[j], slow, ks, slow_sma)
        m = fv - sv
        ms[j] = m
        gs += m
    if signal_sma:
        gv = gs / signal
        gs -= macd[lb]
    else:
        gs = gs / signal
        gv = gs
    sig[total] = gv
    hist[total] = macd[total] - gv
    start = total - lb
    trail_g = macd[lb + 1 :]
    sgs = sig[total + 1 :]
    hs = hist[total + 1 :]
    for j in range(n - total - 1):
        v = xs[start + j]
        sf, fv = _sma_or_ema_step(sf, v, trail_f[start + j], fast, kf, fast_sma)
        ss, sv = _sma_or_ema_step(ss, v, trail_s[start + j], slow, ks, slow_sma)
        m = fv - sv
        ms[start + j] = m
        gs, gv = _sma_or_ema_step(gs, m, trail_g[j], signal, kg, signal_sma)
        sgs[j] = gv
        hs[j] = m - gv
    nan_head(macd, total)


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _macd_sma_ema_fused(
    x: FloatArray,
    fast: int,
    fast_sma: bool,
    slow: int,
    slow_sma: bool,
    signal: int,
    signal_sma: bool,
    macd: FloatArray,
    sig: FloatArray,
    hist: FloatArray,
) -> None:  # pragma: no cover - numba
    """MACD whose three averages are each an SMA or an EMA, in one pass (the three recursions
    overlap in the CPU instead of running as three passes with two temporary series).

    The loop is instantiated once per combination of types with the flags as constants, so
    each copy carries only its own arithmetic.
    """
    if fast_sma:
        if slow_sma:
            if signal_sma:
                _macd_sma_ema_loop(x, fast, True, slow, True, signal, True, macd, sig, hist)
            else:
                _macd_sma_ema_loop(x, fast, True, slow, True, signal, False, macd, sig, hist)
        elif signal_sma:
            _macd_sma_ema_loop(x, fast, True, slow, False, signal, True, macd, sig, hist)
        else:
            _macd_sma_ema_loop(x, fast, True, slow, False, signal, False, macd, sig, hist)
    elif slow_sma:
        if signal_sma:
            _macd_sma_ema_loop(x, fast, False, slow, True, signal, True, macd, sig, hist)
        else:
            _macd_sma_ema_loop(x, fast, False, slow, True, signal, False, macd, sig, hist)
    elif signal_sma:
        _macd_sma_ema_loop(x, fast, False, slow, False, signal, True, macd, sig, hist)
    else:
        _macd_sma_ema_loop(x, fast, False, slow, False, signal, False, macd, sig, hist)
