"""Compiled kernels shared by several indicator modules: the moving averages and the variance.

Every kernel has the shape ``kernel(inputs..., params..., out)``: the inputs are float64 arrays that
start at the first valid bar (see :mod:`._talib_inputs`), ``out`` has the same length, and the
kernel writes NaN over its warm-up and the values after it. Loops follow TA-Lib's C loops operation
by operation where rounding matters (running sums of squares, exact-zero guards), so results agree
with TA-Lib to the last bits rather than merely to a tolerance.

pandas equivalents, for orientation: ``sma`` = ``rolling(p).mean()``; ``ema`` =
``ewm(alpha=2/(p+1), adjust=False)`` seeded with the mean of the first ``p`` values.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from tradewind.indicators._talib_inputs import FloatArray

# TA-Lib's tolerance for "this float is zero" (TA_IS_ZERO / TA_IS_ZERO_OR_NEG).
EPSILON = 1e-14

MA_SMA, MA_EMA, MA_WMA, MA_DEMA, MA_TEMA, MA_TRIMA, MA_KAMA, MA_MAMA, MA_T3 = range(9)


@nb.njit(cache=True, nogil=True, inline="always")
def nan_head(out: FloatArray, count: int) -> bool:  # pragma: no cover - numba
    """Fill the warm-up with NaN; return True when the series is too short for any value."""
    n = out.shape[0]
    m = min(count, n)
    for i in range(m):
        out[i] = np.nan
    return count >= n


@nb.njit(cache=True, nogil=True)
def sma_into(x: FloatArray, p: int, out: FloatArray) -> None:  # pragma: no cover - numba
    """Simple moving average; warm-up ``p - 1``."""
    if nan_head(out, p - 1):
        return
    total = 0.0
    for i in range(p - 1):
        total += x[i]
    for i in range(p - 1, x.shape[0]):
        total += x[i]
        value = total
        total -= x[i - p + 1]
        out[i] = value / p


# fastmath "contract" lets LLVM fuse ``(x - prev) * k + prev`` into one FMA. TA-Lib's wheels are
# built the same way: with it the EMA is bit-identical to TA-Lib's, and the bar-to-bar dependency
# chain is one instruction shorter.
@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def ema_into(x: FloatArray, p: int, k: float, out: FloatArray) -> None:  # pragma: no cover
    """Exponential average with factor ``k``, seeded by the mean of the first ``p`` values."""
    if nan_head(out, p - 1):
        return
    total = 0.0
    for i in range(p):
        total += x[i]
    prev = total / p
    out[p - 1] = prev
    for i in range(p, x.shape[0]):
        prev = (x[i] - prev) * k + prev
        out[i] = prev


@nb.njit(cache=True, nogil=True)
def wma_into(x: FloatArray, p: int, out: FloatArray) -> None:  # pragma: no cover - numba
    """Linearly weighted average (weights 1..p, newest heaviest); warm-up ``p - 1``."""
    if p == 1:
        out[:] = x
        return
    if nan_head(out, p - 1):
        return
    divider = float(p) * (p + 1) / 2.0
    period_sub = 0.0
    period_sum = 0.0
    for i in range(p - 1):
        v = x[i]
        period_sub += v
        period_sum += v * (i + 1)
    trailing_value = 0.0
    # TA-Lib 0.8 rebuilds both running totals from the window every 8*p bars so rounding
    # cannot pile up; doing the same at the same bars keeps the results bit-identical.
    since_reseed = 8 * p
    for i in range(p - 1, x.shape[0]):
        v = x[i]
        period_sub += v
        period_sub -= trailing_value
        period_sum += v * p
        since_reseed -= 1
        if since_reseed <= 0:
            since_reseed = 8 * p
            period_sub = 0.0
            period_sum = 0.0
            weight = 1
            for j in range(i - p + 1, i + 1):
                v = x[j]
                period_sub += v
                period_sum += v * weight
                weight += 1
        trailing_value = x[i - p + 1]
        out[i] = period_sum / divider
        period_sum -= period_sub


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def dema_into(x: FloatArray, p: int, out: FloatArray) -> None:  # pragma: no cover - numba
    """Double EMA ``2*e1 - e2`` where ``e2`` is the EMA of ``e1``; warm-up ``2*(p - 1)``.

    Both EMAs run in one loop (same operations as :func:`ema_into`, so the same bits): ``e2``
    at bar t needs only ``e1`` at bar t, so the CPU overlaps the two recursions, and no
    intermediate series is allocated.
    """
    k = 2.0 / (p + 1)
    lb = p - 1
    if nan_head(out, 2 * lb):
        return
    total = 0.0
    for i in range(p):
        total += x[i]
    e1 = total / p
    # e2 is seeded with the mean of e1 over bars lb..2*lb, as an EMA of e1[lb:] would be.
    total = e1
    for i in range(p, 2 * lb + 1):
        e1 = (x[i] - e1) * k + e1
        total += e1
    e2 = total / p
    out[2 * lb] = 2.0 * e1 - e2
    for i in range(2 * lb + 1, x.shape[0]):
        e1 = (x[i] - e1) * k + e1
        e2 = (e1 - e2) * k + e2
        out[i] = 2.0 * e1 - e2


@nb.njit(cache=True, nogil=True, fastmath={"contract"}, inline="always")
def triple_ema_seed(x: FloatArray, p: int, k: float) -> tuple[float, float, float]:
    """Run three chained EMAs of period ``p`` up to bar ``3*(p - 1)``, where the third starts.

    Each EMA is seeded with the mean of the first ``p`` values of its input (TA-Lib's rule),
    with the same operations as :func:`ema_into`; returns ``(e1, e2, e3)`` at that bar.
    """
    lb = p - 1
    total = 0.0
    for i in range(p):
        total += x[i]
    e1 = total / p
    total = e1
    for i in range(p, 2 * lb + 1):
        e1 = (x[i] - e1) * k + e1
        total += e1
    e2 = total / p
    total = e2
    for i in range(2 * lb + 1, 3 * lb + 1):
        e1 = (x[i] - e1) * k + e1
        e2 = (e1 - e2) * k + e2
        total += e2
    e3 = total / p
    return e1, e2, e3


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def tema_into(x: FloatArray, p: int, out: FloatArray) -> None:  # pragma: no cover - numba
    """Triple EMA ``3*e1 - 3*e2 + e3``; warm-up ``3*(p - 1)``.

    The three EMAs run in one loop (see :func:`dema_into`), with no intermediate series.
    """
    k = 2.0 / (p + 1)
    lb = p - 1
    if nan_head(out, 3 * lb):
        return
    e1, e2, e3 = triple_ema_seed(x, p, k)
    out[3 * lb] = 3.0 * e1 - 3.0 * e2 + e3
    for i in range(3 * lb + 1, x.shape[0]):
        e1 = (x[i] - e1) * k + e1
        e2 = (e1 - e2) * k + e2
        e3 = (e2 - e3) * k + e3
        out[i] = 3.0 * e1 - 3.0 * e2 + e3


@nb.njit(cache=True, nogil=True)
def trima_into(x: FloatArray, p: int, out: FloatArray) -> None:  # pragma: no cover - numba
    """Triangular average (SMA of an SMA, triangle weights); warm-up ``p - 1``."""
    if p == 1:
        out[:] = x
        return
    if nan_head(out, p - 1):
        return
    half = p >> 1
    even = p % 2 == 0
    # Odd p: weights 1..h+1..1 (sum (h+1)^2); even p: 1..h,h..1 (sum h*(h+1)).
    if p % 2 == 1:
        factor = 1.0 / ((half + 1) * (half + 1))
        middle = half
    else:
        factor = 1.0 / (half * (half + 1))
        middle = half - 1
    today = middle + half
    numerator = 0.0
    numerator_sub = 0.0
    for i in range(middle, -1, -1):
        numerator_sub += x[i]
        numerator += numerator_sub
    numerator_add = 0.0
    middle += 1
    for i in range(middle, today + 1):
        numerator_add += x[i]
        numerator += numerator_add
    trailing = 0
    tmp = x[trailing]
    trailing += 1
    out[today] = numerator * factor
    today += 1
    while today < x.shape[0]:
        numerator -= numerator_sub
        numerator_sub -= tmp
        tmp = x[middle]
        middle += 1
        numerator_sub += tmp
        # The value crossing the middle keeps its weight when p is even and gains one when odd.
        if even:
            numerator_add -= tmp
            numerator += numerator_add
        else:
            numerator += numerator_add
            numerator_add -= tmp
        tmp = x[today]
        numerator_add += tmp
        numerator += tmp
        tmp = x[trailing]
        trailing += 1
        out[today] = numerator * factor
        today += 1


@nb.njit(cache=True, nogil=True)
def kama_into(x: FloatArray, p: int, out: FloatArray) -> None:  # pragma: no cover - numba
    """Kaufman adaptive average (fast 2, slow 30 smoothing constants); warm-up ``p``."""
    if p == 1:
        out[:] = x
        return
    if nan_head(out, p):
        return
    const_max = 2.0 / (30.0 + 1.0)
    const_diff = 2.0 / (2.0 + 1.0) - const_max
    sum_roc1 = 0.0
    # Consecutive zero changes: a whole window of them means the sliding sum is exactly zero,
    # which its add-then-subtract updates cannot show by themselves (TA-Lib 0.8, #244/#253).
    null_run = 0
    today = 0
    for _ in range(p):
        tmp = x[today]
        today += 1
        tmp -= x[today]
        sum_roc1 += abs(tmp)
        null_run = null_run + 1 if tmp == 0.0 else 0
    prev_kama = x[today - 1]
    trailing = 0
    trailing_value = 0.0
    while today < x.shape[0]:
        tmp = x[today]
        tmp2 = x[trailing]
        period_roc = tmp - tmp2
        if today > p:
            sum_roc1 -= abs(trailing_value - tmp2)
            change = tmp - x[today - 1]
            sum_roc1 += abs(change)
            null_run = null_run + 1 if change == 0.0 else 0
            if null_run >= p:
                null_run = p
                sum_roc1 = 0.0
        trailing_value = tmp2
        trailing += 1
        # TA-Lib compares the signed change with the path length: a quirk kept for parity.
        er = 1.0 if sum_roc1 <= 0.0 or sum_roc1 <= period_roc else abs(period_roc / sum_roc1)
        sc = er * const_diff + const_max
        sc *= sc
        prev_kama = (x[today] - prev_kama) * sc + prev_kama
        out[today] = prev_kama
        today += 1


@nb.njit(cache=True, nogil=True)
def t3_into(x: FloatArray, p: int, vfactor: float, out: FloatArray) -> None:  # pragma: no cover
    """Tillson T3: six chained EMAs blended by the volume factor; warm-up ``6*(p - 1)``."""
    if p == 1:
        out[:] = x
        return
    lb = 6 * (p - 1)
    if nan_head(out, lb):
        return
    k = 2.0 / (p + 1.0)
    one_minus_k = 1.0 - k
    today = 0
    total = 0.0
    for _ in range(p):
        total += x[today]
        today += 1
    e1 = total / p
    total = e1
    for _ in range(p - 1):
        e1 = k * x[today] + one_minus_k * e1
        today += 1
        total += e1
    e2 = total / p
    total = e2
    for _ in range(p - 1):
        e1 = k * x[today] + one_minus_k * e1
        today += 1
        e2 = k * e1 + one_minus_k * e2
        total += e2
    e3 = total / p
    total = e3
    for _ in range(p - 1):
        e1 = k * x[today] + one_minus_k * e1
        today += 1
        e2 = k * e1 + one_minus_k * e2
        e3 = k * e2 + one_minus_k * e3
        total += e3
    e4 = total / p
    total = e4
    for _ in range(p - 1):
        e1 = k * x[today] + one_minus_k * e1
        today += 1
        e2 = k * e1 + one_minus_k * e2
        e3 = k * e2 + one_minus_k * e3
        e4 = k * e3 + one_minus_k * e4
        total += e4
    e5 = total / p
    total = e5
    for _ in range(p - 1):
        e1 = k * x[today] + one_minus_k * e1
        today += 1
        e2 = k * e1 + one_minus_k * e2
        e3 = k * e2 + one_minus_k * e3
        e4 = k * e3 + one_minus_k * e4
        e5 = k * e4 + one_minus_k * e5
        total += e5
    e6 = total / p
    a = vfactor
    a2 = a * a
    c1 = -a2 * a
    c2 = 3.0 * (a2 - c1)
    c3 = -6.0 * a2 - 3.0 * (a - c1)
    c4 = 1.0 + 3.0 * a - c1 + 3.0 * a2
    out[lb] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3
    for i in range(today, x.shape[0]):
        e1 = k * x[i] + one_minus_k * e1
        e2 = k * e1 + one_minus_k * e2
        e3 = k * e2 + one_minus_k * e3
        e4 = k * e3 + one_minus_k * e4
        e5 = k * e4 + one_minus_k * e5
        e6 = k * e5 + one_minus_k * e6
        out[i] = c1 * e6 + c2 * e5 + c3 * e4 + c4 * e3


@nb.njit(cache=True, nogil=True)
def ma_lookback(p: int, matype: int) -> int:  # pragma: no cover - numba
    """Warm-up length of TA-Lib's MA of type ``matype`` (MAMA excluded)."""
    if p == 1:
        return 0
    if matype == MA_DEMA:
        return 2 * (p - 1)
    if matype == MA_TEMA:
        return 3 * (p - 1)
    if matype == MA_KAMA:
        return p
    if matype == MA_T3:
        return 6 * (p - 1)
    return p - 1


@nb.njit(cache=True, nogil=True)
def ma_into(x: FloatArray, p: int, matype: int, out: FloatArray) -> None:  # pragma: no cover
    """TA-Lib's generic moving average (TA_MA); period 1 copies the input for every type."""
    if p == 1:
        out[:] = x
    elif matype == MA_SMA:
        sma_into(x, p, out)
    elif matype == MA_EMA:
        ema_into(x, p, 2.0 / (p + 1), out)
    elif matype == MA_WMA:
        wma_into(x, p, out)
    elif matype == MA_DEMA:
        dema_into(x, p, out)
    elif matype == MA_TEMA:
        tema_into(x, p, out)
    elif matype == MA_TRIMA:
        trima_into(x, p, out)
    elif matype == MA_KAMA:
        kama_into(x, p, out)
    else:
        t3_into(x, p, 0.7, out)


@nb.njit(cache=True, nogil=True, inline="always")
def _shifted_sums(
    x: FloatArray, lo: int, hi: int, shift: float
) -> tuple[float, float]:  # pragma: no cover
    t1 = 0.0
    t2 = 0.0
    for j in range(lo, hi + 1):
        v = x[j] - shift
        t1 += v
        t2 += v * v
    return t1, t2


@nb.njit(cache=True, nogil=True)
def var_into(x: FloatArray, p: int, out: FloatArray) -> None:  # pragma: no cover - numba
    """Population variance over ``p`` bars (ddof 0); see :func:`_var_or_sd_into`."""
    _var_or_sd_into(x, p, False, 1.0, out)


@nb.njit(cache=True, nogil=True)
def _var_or_sd_into(
    x: FloatArray, p: int, root: bool, nbdev: float, out: FloatArray
) -> None:  # pragma: no cover - numba
    """Population variance over ``p`` bars (ddof 0), TA-Lib 0.8's cancellation-free form.

    With ``root`` the value written is ``sqrt(variance) * nbdev`` instead (``nbdev == 1`` skips
    the multiply, as TA-Lib does), so a standard deviation needs no second pass.

    Running sums are kept of deviations from a shift near the window, so the variance never
    subtracts two squares of the price level. The sums are rebuilt by a fresh two-pass
    whenever the variance falls below 1e-6 of the largest mean square held since the last
    rebuild, and at least every ``32 * p`` bars; a rebuilt variance under 1e-12 of its mean
    square is exactly 0. Every step follows TA-Lib so the rounding is the same.
    """
    lb = p - 1
    if nan_head(out, lb):
        return
    inv_p = 1.0 / p
    shift = x[0]
    t1 = 0.0
    t2 = 0.0
    for j in range(lb):
        v = x[j] - shift
        t1 += v
        t2 += v * v
    since_reseed = 32 * p
    peak2 = t2
    for i in range(lb, x.shape[0]):
        v = x[i] - shift
        t1 += v
        t2 += v * v
        peak2 = t2 if t2 > peak2 else peak2
        mean1 = t1 * inv_p
        variance = t2 * inv_p - mean1 * mean1
        v = x[i - lb] - shift
        t1 -= v
        t2 -= v * v
        since_reseed -= 1
        if variance < 0.000001 * (peak2 * inv_p) or since_reseed <= 0:
            since_reseed = 32 * p
            window_start = i - lb
            total = 0.0
            for j in range(window_start, i + 1):
                total += x[j]
            shift = total * inv_p
            t1, t2 = _shifted_sums(x, window_start, i, shift)
            mean1 = t1 * inv_p
            variance = t2 * inv_p - mean1 * mean1
            if variance < 0.000001 * (t2 * inv_p):
                # A window flat to its own rounding re-anchors on one of its values.
                shift = x[i]
                t1, t2 = _shifted_sums(x, window_start, i, shift)
                mean1 = t1 * inv_p
                variance = t2 * inv_p - mean1 * mean1
            peak2 = t2
            if variance < 0.000000000001 * (t2 * inv_p):
                variance = 0.0
            v = x[window_start] - shift
            t1 -= v
            t2 -= v * v
        if not root:
            out[i] = variance
        elif nbdev != 1.0:
            out[i] = np.sqrt(variance) * nbdev
        else:
            out[i] = np.sqrt(variance)


@nb.njit(cache=True, nogil=True)
def stddev_into(x: FloatArray, p: int, nbdev: float, out: FloatArray) -> None:  # pragma: no cover
    """Standard deviation times ``nbdev``: the square root of :func:`var_into`, in one pass."""
    _var_or_sd_into(x, p, True, nbdev, out)
