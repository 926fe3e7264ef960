"""Trade-flow analytics: large trades, iceberg hints, CVD, buy/sell volume per bar, footprint.

All functions read a :class:`tradewind.book.tape.TradeTape` (aggressor side +1 buy, -1 sell) and
return arrays. Bars are on the epoch-aligned grid of a :class:`Timeframe`; a bar's row is its open
time and it holds trades with ``open <= ts < open + timeframe``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from tradewind.book.tape import BUY, QuoteTape, TradeTape
from tradewind.core.errors import UserError
from tradewind.core.records import Side
from tradewind.core.timeframe import Timeframe


def cumulative_volume_delta(tape: TradeTape) -> np.ndarray:
    """Running sum of buy volume minus sell volume after each trade (``float64[n]``)."""
    return np.cumsum(tape.side.astype(np.float64) * tape.amount)


@dataclass(frozen=True, slots=True)
class BarVolume:
    """Per-bar buy and sell volume (``ts`` is the bar's open time; empty bars are zero)."""

    ts: np.ndarray
    buy: np.ndarray
    sell: np.ndarray
    trades: np.ndarray
    vwap: np.ndarray

    @property
    def delta(self) -> np.ndarray:
        """Buy minus sell volume per bar."""
        return self.buy - self.sell


def bar_index(ts: np.ndarray, timeframe: Timeframe, first_bar: int) -> np.ndarray:
    """Index of the bar holding each timestamp, counted from the bar opening at ``first_bar``."""
    return (ts - first_bar) // timeframe.ms


def volume_per_bar(
    tape: TradeTape, timeframe: Timeframe, *, start: int | None = None, end: int | None = None
) -> BarVolume:
    """Buy volume, sell volume, trade count and VWAP for each bar.

    Parameters
    ----------
    tape
        The trades.
    timeframe
        Bar length.
    start, end
        Open time of the first bar and of the last bar; default to the bars of the first and last
        trade.
    """
    if (start is None or end is None) and not len(tape):
        raise UserError("volume_per_bar: no trades and no start/end bars given")
    first = timeframe.floor(int(tape.ts[0])) if start is None else timeframe.floor(start)
    last = timeframe.floor(int(tape.ts[-1])) if end is None else timeframe.floor(end)
    bars = (last - first) // timeframe.ms + 1
    idx = bar_index(tape.ts, timeframe, first)
    keep = (idx >= 0) & (idx < bars)
    idx = idx[keep]
    amount = tape.amount[keep]
    side = tape.side[keep]
    buy = np.bincount(idx, weights=np.where(side == BUY, amount, 0.0), minlength=bars)
    sell = np.bincount(idx, weights=np.where(side == BUY, 0.0, amount), minlength=bars)
    count = np.bincount(idx, minlength=bars).astype(np.int64)
    notional = np.bincount(idx, weights=amount * tape.price[keep], minlength=bars)
    total = buy + sell
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = np.where(total > 0, notional / total, np.nan)
    ts = first + np.arange(bars, dtype=np.int64) * timeframe.ms
    return BarVolume(ts, buy, sell, count, vwap)


@dataclass(frozen=True, slots=True)
class Footprint:
    """Volume by price per bar, one row per (bar, price bin) that traded, sorted by bar then price.

    ``price`` is the lower edge of the bin (``bin * price_step``).
    """

    ts: np.ndarray
    price: np.ndarray
    buy: np.ndarray
    sell: np.ndarray

    @property
    def delta(self) -> np.ndarray:
        """Buy minus sell volume per row."""
        return self.buy - self.sell

    def bar(self, ts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Prices, buy and sell volume of the bar opening at ``ts``."""
        rows = self.ts == ts
        return self.price[rows], self.buy[rows], self.sell[rows]


def footprint(tape: TradeTape, timeframe: Timeframe, price_step: float) -> Footprint:
    """Aggregate volume by price bin and bar (the footprint / volume-at-price chart).

    Raises
    ------
    UserError
        If ``price_step`` is not positive.
    """
    if not price_step > 0:
        raise UserError(f"footprint price_step must be positive, got {price_step!r}")
    bars = tape.ts - tape.ts % timeframe.ms
    # a tiny nudge so prices that sit exactly on a bin edge are not floored into the bin below by
    # binary rounding (1.1 / 0.1 = 10.999...)
    bins = np.floor(tape.price / price_step + 1e-9).astype(np.int64)
    keys = np.stack([bars, bins])
    uniq, inverse = np.unique(keys, axis=1, return_inverse=True)
    inverse = inverse.reshape(-1)
    rows = uniq.shape[1]
    buy = np.bincount(inverse, weights=np.where(tape.side == BUY, tape.amount, 0.0), minlength=rows)
    sell = np.bincount(
        inverse, weights=np.where(tape.side == BUY, 0.0, tape.amount), minlength=rows
    )
    decimals = max(0, -math.floor(math.log10(price_step)) + 1)
    return Footprint(uniq[0], np.round(uniq[1] * price_step, decimals), buy, sell)


@njit(cache=True)
def _trailing_percentile(x: np.ndarray, window: int, q: float, min_history: int) -> np.ndarray:
    # Percentile of the previous `window` values (not including the current one), with numpy's
    # default linear interpolation; a sorted copy of the window is kept by insertion.
    n = len(x)
    out = np.full(n, np.nan)
    buf = np.empty(window, dtype=np.float64)
    count = 0
    for t in range(n):
        if count >= min_history:
            pos = q / 100.0 * (count - 1)
            lo = int(np.floor(pos))
            hi = min(lo + 1, count - 1)
            out[t] = buf[lo] + (buf[hi] - buf[lo]) * (pos - lo)
        # remove the value leaving the window
        if count == window:
            old = x[t - window]
            j = np.searchsorted(buf[:count], old)
            for k in range(j, count - 1):
                buf[k] = buf[k + 1]
            count -= 1
        v = x[t]
        j = np.searchsorted(buf[:count], v)
        for k in range(count, j, -1):
            buf[k] = buf[k - 1]
        buf[j] = v
        count += 1
    return out


@dataclass(frozen=True, slots=True)
class LargeTrades:
    """Whale detection: ``mask[i]`` flags trade ``i``; ``threshold[i]`` is the size to beat."""

    mask: np.ndarray
    threshold: np.ndarray

    @property
    def indices(self) -> np.ndarray:
        """Indices of the flagged trades."""
        return np.flatnonzero(self.mask)


def large_trades(
    tape: TradeTape,
    *,
    percentile: float = 99.0,
    window: int = 1000,
    min_history: int = 100,
    by_notional: bool = False,
) -> LargeTrades:
    """Flag trades larger than the given percentile of the trades before them (causal).

    Parameters
    ----------
    percentile
        Size percentile, in (0, 100).
    window
        Number of preceding trades the percentile is taken over.
    min_history
        Warm-up: no trade is flagged before this many trades have been seen.
    by_notional
        Compare ``price * amount`` instead of base size.

    Raises
    ------
    UserError
        On a percentile outside (0, 100) or a window below 1.
    """
    if not 0 < percentile < 100:
        raise UserError(f"percentile must be in (0, 100), got {percentile}")
    if window < 1 or min_history < 1:
        raise UserError(f"window and min_history must be >= 1, got {window} and {min_history}")
    size = tape.amount * tape.price if by_notional else tape.amount
    size = np.ascontiguousarray(size, dtype=np.float64)
    threshold = _trailing_percentile(size, window, float(percentile), min(min_history, window))
    with np.errstate(invalid="ignore"):
        mask = size > threshold
    return LargeTrades(mask, threshold)


@dataclass(frozen=True, slots=True)
class IcebergHint:
    """Repeated fills at one price that exceeded what the book showed there.

    ``side`` is the resting (passive) side: BUY for a hidden bid that absorbed sellers.
    ``displayed`` is the largest size quoted at that price during the run (NaN without quotes);
    ``refills`` counts quote updates at the same price whose size went up after fills, or without
    quotes, the fills at a new millisecond.
    """

    side: Side
    price: float
    start_ts: int
    end_ts: int
    fills: int
    executed: float
    displayed: float
    refills: int


def iceberg_hints(
    tape: TradeTape,
    quotes: QuoteTape | None = None,
    *,
    min_refills: int = 2,
    min_executed_multiple: float = 1.5,
    max_gap_ms: int = 5_000,
) -> list[IcebergHint]:
    """Find runs of aggressive trades at one price that the visible size could not explain.

    A run is a sequence of same-side trades at one price, each within ``max_gap_ms`` of the last,
    ended by a trade at another price on that side. With quotes, a run is a hint when its executed
    volume exceeds ``min_executed_multiple`` times the largest size displayed at that price and the
    size there was refilled at least ``min_refills`` times. Without quotes, a run with at least
    ``min_refills`` fills at new milliseconds after the first is a (weaker) hint.
    """
    hints: list[IcebergHint] = []
    if not len(tape):
        return hints
    runs: list[tuple[int, int]] = []
    start = 0
    for k in range(1, len(tape) + 1):
        if (
            k == len(tape)
            or tape.side[k] != tape.side[start]
            or tape.price[k] != tape.price[start]
            or tape.ts[k] - tape.ts[k - 1] > max_gap_ms
        ):
            runs.append((start, k))
            start = k
    for a, b in runs:
        aggressor = int(tape.side[a])
        price = float(tape.price[a])
        executed = float(tape.amount[a:b].sum())
        t0, t1 = int(tape.ts[a]), int(tape.ts[b - 1])
        passive = Side.BUY if aggressor != BUY else Side.SELL
        if quotes is None:
            refills = int(len(np.unique(tape.ts[a:b])) - 1)
            if refills >= min_refills:
                hints.append(
                    IcebergHint(passive, price, t0, t1, b - a, executed, float("nan"), refills)
                )
            continue
        # quotes in force from just before the first fill to the last fill
        q0 = max(int(np.searchsorted(quotes.ts, t0, side="left")) - 1, 0)
        q1 = int(np.searchsorted(quotes.ts, t1, side="right"))
        q_price = quotes.bid[q0:q1] if passive is Side.BUY else quotes.ask[q0:q1]
        q_size = quotes.bid_size[q0:q1] if passive is Side.BUY else quotes.ask_size[q0:q1]
        at_price = q_price == price
        if not at_price.any():
            continue
        displayed = float(q_size[at_price].max())
        refills = 0
        for j in range(1, len(q_size)):
            if at_price[j] and at_price[j - 1] and q_size[j] > q_size[j - 1]:
                refills += 1
        if refills >= min_refills and executed > min_executed_multiple * displayed:
            hints.append(IcebergHint(passive, price, t0, t1, b - a, executed, displayed, refills))
    return hints
