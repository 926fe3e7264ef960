"""Order-flow imbalance (OFI) from successive best levels (Cont, Kukanov and Stoikov, 2014).

For consecutive updates n-1 and n with best bid ``b``/size ``qb`` and best ask ``a``/size ``qa``::

    e_n = 1{b_n >= b_{n-1}} qb_n - 1{b_n <= b_{n-1}} qb_{n-1}
        - 1{a_n <= a_{n-1}} qa_n + 1{a_n >= a_{n-1}} qa_{n-1}

Positive values mean net buying pressure (bids added or asks removed). Summed over a bar, OFI
explains most of the bar's mid-price change in their study.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def order_flow_imbalance(
    bid: ArrayLike, bid_size: ArrayLike, ask: ArrayLike, ask_size: ArrayLike
) -> np.ndarray:
    """OFI contribution ``e_n`` of every update of a stream of best levels.

    Parameters
    ----------
    bid, bid_size, ask, ask_size
        ``float64[m]`` best levels after each update, in time order.

    Returns
    -------
    numpy.ndarray
        ``float64[m]``; the first value is 0 (warm-up of one update: it needs a predecessor). A
        step where either update has an empty side (NaN price) contributes 0.
    """
    b = np.asarray(bid, dtype=np.float64)
    qb = np.asarray(bid_size, dtype=np.float64)
    a = np.asarray(ask, dtype=np.float64)
    qa = np.asarray(ask_size, dtype=np.float64)
    out = np.zeros(len(b), dtype=np.float64)
    if len(b) < 2:
        return out
    b0, b1, qb0, qb1 = b[:-1], b[1:], qb[:-1], qb[1:]
    a0, a1, qa0, qa1 = a[:-1], a[1:], qa[:-1], qa[1:]
    e = (
        np.where(b1 >= b0, qb1, 0.0)
        - np.where(b1 <= b0, qb0, 0.0)
        - np.where(a1 <= a0, qa1, 0.0)
        + np.where(a1 >= a0, qa0, 0.0)
    )
    valid = np.isfinite(b0) & np.isfinite(b1) & np.isfinite(a0) & np.isfinite(a1)
    out[1:] = np.where(valid, e, 0.0)
    return out


class OfiTracker:
    """Streaming OFI: feed the best levels after each update, get that update's ``e_n``."""

    def __init__(self) -> None:
        self._prev: tuple[float, float, float, float] | None = None
        self.total = 0.0

    def update(self, bid: float, bid_size: float, ask: float, ask_size: float) -> float:
        """Return this update's OFI contribution (0 for the first) and add it to ``total``."""
        prev = self._prev
        self._prev = (bid, bid_size, ask, ask_size)
        if prev is None:
            return 0.0
        b0, qb0, a0, qa0 = prev
        if math.isnan(b0) or math.isnan(a0) or math.isnan(bid) or math.isnan(ask):
            return 0.0
        e = 0.0
        if bid >= b0:
            e += bid_size
        if bid <= b0:
            e -= qb0
        if ask <= a0:
            e -= ask_size
        if ask >= a0:
            e += qa0
        self.total += e
        return e
