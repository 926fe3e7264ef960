"""Top-of-book prices and pressure: spread, mid, microprice, weighted mid, top-k imbalance.

Every function takes NumPy arrays or floats, so the same code serves one update (scalars, or the
``k`` levels of one book, shape ``(k,)``) and a whole recorded stream (shape ``(m,)``, or
``(m, k)`` for level-wise measures, reduced along the last axis). Missing levels are NaN prices
with size 0 (as :func:`tradewind.book.series.top_levels_series` pads them). No warm-up: each value
uses only the book at that update.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from tradewind.book.book import OrderBook


def mid(bid: ArrayLike, ask: ArrayLike) -> np.ndarray:
    """Midpoint ``(bid + ask) / 2``."""
    return (np.asarray(bid, dtype=np.float64) + np.asarray(ask, dtype=np.float64)) * 0.5


def spread(bid: ArrayLike, ask: ArrayLike) -> np.ndarray:
    """Quoted spread ``ask - bid`` in price units."""
    return np.asarray(ask, dtype=np.float64) - np.asarray(bid, dtype=np.float64)


def spread_bps(bid: ArrayLike, ask: ArrayLike) -> np.ndarray:
    """Quoted spread in basis points of the mid: ``(ask - bid) / mid * 1e4``."""
    return spread(bid, ask) / mid(bid, ask) * 1e4


def microprice(
    bid: ArrayLike, bid_size: ArrayLike, ask: ArrayLike, ask_size: ArrayLike
) -> np.ndarray:
    """Size-weighted mid of the best levels.

    ``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``.

    A heavy bid pulls the price towards the ask: the next trade is more likely to lift it. Returns
    the mid where both sizes are zero.
    """
    b = np.asarray(bid, dtype=np.float64)
    a = np.asarray(ask, dtype=np.float64)
    qb = np.asarray(bid_size, dtype=np.float64)
    qa = np.asarray(ask_size, dtype=np.float64)
    total = qb + qa
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (b * qa + a * qb) / total
    return np.where(total > 0, value, (b + a) * 0.5)


def _vwap_and_size(prices: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.nan_to_num(np.asarray(prices, dtype=np.float64))
    q = np.asarray(sizes, dtype=np.float64)
    total = q.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = (p * q).sum(axis=-1) / total
    return vwap, total


def weighted_mid(
    bid_prices: ArrayLike, bid_sizes: ArrayLike, ask_prices: ArrayLike, ask_sizes: ArrayLike
) -> np.ndarray:
    """Multi-level microprice over the best ``k`` levels (last axis).

    Each side's levels are reduced to their volume-weighted price and total size, which are then
    combined as in :func:`microprice`. With ``k = 1`` it equals the microprice.
    """
    vb, qb = _vwap_and_size(np.asarray(bid_prices), np.asarray(bid_sizes))
    va, qa = _vwap_and_size(np.asarray(ask_prices), np.asarray(ask_sizes))
    return microprice(vb, qb, va, qa)


def imbalance(bid_sizes: ArrayLike, ask_sizes: ArrayLike) -> np.ndarray:
    """Top-k imbalance ``(B - A) / (B + A)`` of the sizes summed over the last axis, in [-1, 1].

    +1 means only bids, -1 only asks; 0 where both are empty.
    """
    b = np.asarray(bid_sizes, dtype=np.float64)
    a = np.asarray(ask_sizes, dtype=np.float64)
    if b.ndim:
        b = b.sum(axis=-1)
    if a.ndim:
        a = a.sum(axis=-1)
    total = b + a
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (b - a) / total, 0.0)


def book_microprice(book: OrderBook) -> float:
    """Microprice of the book's best levels (NaN if a side is empty)."""
    return float(
        microprice(book.best_bid(), book.best_bid_size(), book.best_ask(), book.best_ask_size())
    )


def book_weighted_mid(book: OrderBook, k: int = 5) -> float:
    """Multi-level microprice of the book's best ``k`` levels."""
    top = book.top(k)
    if not len(top.bid_prices) or not len(top.ask_prices):
        return float("nan")
    return float(weighted_mid(*top))


def book_imbalance(book: OrderBook, k: int = 5) -> float:
    """Top-``k`` size imbalance of the book, in [-1, 1]."""
    top = book.top(k)
    return float(imbalance(top.bid_sizes, top.ask_sizes))
