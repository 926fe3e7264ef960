"""Compiled kernels over the array-backed price ladder of :class:`tradewind.book.book.OrderBook`.

Layout: ``px`` and ``sz`` are ``float64[2, capacity]``; row 0 holds bids, row 1 asks, and ``n`` is
``int64[2]`` with the number of live levels per side. Each row is kept sorted so that the best price
sits at the END (bids ascending, asks descending). Almost every update touches levels near the
touch, so inserting and deleting there shifts only the few levels behind it, and the top N levels
are the last N entries, readable as a reversed NumPy view without copying.
"""

from __future__ import annotations

import numpy as np
from numba import njit

BID = 0
ASK = 1

OK = -1
CROSSED = -2


@njit(cache=True, inline="always")
def _search(row: np.ndarray, count: int, price: float, sign: float) -> int:
    # First index whose signed price is >= the signed key; sign=+1 for bids, -1 for asks.
    key = sign * price
    lo = 0
    hi = count
    while lo < hi:
        mid = (lo + hi) >> 1
        if sign * row[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def apply_levels(
    px: np.ndarray,
    sz: np.ndarray,
    n: np.ndarray,
    sides: np.ndarray,
    prices: np.ndarray,
    sizes: np.ndarray,
    start: int,
    end: int,
) -> int:
    """Apply levels ``start:end`` (absolute sizes, 0 deletes); return OK, CROSSED or a bad index.

    The caller guarantees capacity for ``end - start`` inserts per side. A level with a negative or
    non-finite size or a non-positive price is refused: its index is returned and the levels before
    it stay applied (the caller marks the book for resync).
    """
    for i in range(start, end):
        s = sides[i]
        p = prices[i]
        q = sizes[i]
        if not (p > 0.0 and q >= 0.0 and p < np.inf and q < np.inf):
            return i
        sign = 1.0 if s == BID else -1.0
        m = n[s]
        j = _search(px[s], m, p, sign)
        if j < m and px[s, j] == p:
            if q > 0.0:
                sz[s, j] = q
            else:
                for k in range(j, m - 1):
                    px[s, k] = px[s, k + 1]
                    sz[s, k] = sz[s, k + 1]
                n[s] = m - 1
        elif q > 0.0:
            for k in range(m, j, -1):
                px[s, k] = px[s, k - 1]
                sz[s, k] = sz[s, k - 1]
            px[s, j] = p
            sz[s, j] = q
            n[s] = m + 1
    if n[BID] > 0 and n[ASK] > 0 and px[BID, n[BID] - 1] >= px[ASK, n[ASK] - 1]:
        return CROSSED
    return OK


@njit(cache=True)
def size_at(px: np.ndarray, sz: np.ndarray, n: np.ndarray, side: int, price: float) -> float:
    """Size resting at ``price`` on ``side`` (0.0 when the level is absent)."""
    sign = 1.0 if side == BID else -1.0
    m = n[side]
    j = _search(px[side], m, price, sign)
    if j < m and px[side, j] == price:
        return sz[side, j]
    return 0.0


@njit(cache=True)
def depth_to_price(
    px: np.ndarray, sz: np.ndarray, n: np.ndarray, side: int, limit: float
) -> tuple[float, float]:
    """Total size and notional of the levels on ``side`` at or better than ``limit``."""
    total = 0.0
    notional = 0.0
    row_p = px[side]
    row_s = sz[side]
    for k in range(n[side] - 1, -1, -1):
        p = row_p[k]
        if (side == BID and p < limit) or (side == ASK and p > limit):
            break
        total += row_s[k]
        notional += row_s[k] * p
    return total, notional


@njit(cache=True)
def walk(
    px: np.ndarray, sz: np.ndarray, n: np.ndarray, side: int, amount: float, by_notional: bool
) -> tuple[float, float, float, int]:
    """Consume ``side`` from the touch for ``amount`` (base units, or quote if ``by_notional``).

    Returns (filled base size, filled notional, last price touched, levels touched). When the side
    is too thin the fill is partial and the caller sees ``filled < amount``.
    """
    filled = 0.0
    notional = 0.0
    last = np.nan
    used = 0
    remaining = amount
    row_p = px[side]
    row_s = sz[side]
    for k in range(n[side] - 1, -1, -1):
        if remaining <= 0.0:
            break
        p = row_p[k]
        avail = row_s[k] * p if by_notional else row_s[k]
        take = avail if avail < remaining else remaining
        base = take / p if by_notional else take
        filled += base
        notional += base * p
        remaining -= take
        last = p
        used += 1
    return filled, notional, last, used


@njit(cache=True)
def load_snapshot(
    px: np.ndarray,
    sz: np.ndarray,
    n: np.ndarray,
    sides: np.ndarray,
    prices: np.ndarray,
    sizes: np.ndarray,
    start: int,
    end: int,
) -> int:
    """Replace the book with levels ``start:end``; return OK, CROSSED or a bad index.

    Snapshots list hundreds of levels best-first, which would make one-by-one inserts quadratic, so
    each side is sorted once. A price listed twice keeps its last size; zero sizes are skipped.
    """
    for i in range(start, end):
        p = prices[i]
        q = sizes[i]
        if not (p > 0.0 and q >= 0.0 and p < np.inf and q < np.inf):
            return i
    for s in range(2):
        sign = 1.0 if s == BID else -1.0
        count = 0
        for i in range(start, end):
            if sides[i] == s:
                count += 1
        keys = np.empty(count, dtype=np.float64)
        idx = np.empty(count, dtype=np.int64)
        c = 0
        for i in range(start, end):
            if sides[i] == s:
                keys[c] = sign * prices[i]
                idx[c] = i
                c += 1
        order = np.argsort(keys, kind="mergesort")
        m = 0
        for r in range(count):
            i = idx[order[r]]
            p = prices[i]
            if m > 0 and px[s, m - 1] == p:
                m -= 1  # a repeated price: the later entry wins
            px[s, m] = p
            sz[s, m] = sizes[i]
            m += 1
        # drop zero-size entries after duplicates are resolved
        w = 0
        for r in range(m):
            if sz[s, r] > 0.0:
                px[s, w] = px[s, r]
                sz[s, w] = sz[s, r]
                w += 1
        n[s] = w
    if n[BID] > 0 and n[ASK] > 0 and px[BID, n[BID] - 1] >= px[ASK, n[ASK] - 1]:
        return CROSSED
    return OK
