"""Support and resistance from the book, and an entry/exit helper built on walls.

Support is a large bid wall below the price (resting buyers absorb selling), resistance a large ask
wall above it. The entry/exit helper places a passive entry one tick in front of the nearest strong
wall on the order's own side (the wall stands behind the order as protection) and a take-profit one
tick before the nearest strong wall on the other side (where the price is likely to stall), and
reports what crossing the spread for the same size would cost now.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tradewind.book.book import OrderBook
from tradewind.book.impact import vwap_to_size
from tradewind.book.walls import Wall, WallParams, detect_walls
from tradewind.core.errors import UserError
from tradewind.core.records import BookSide, Side


@dataclass(frozen=True, slots=True)
class SupportResistance:
    """Largest walls within a range: supports (bids) and resistances (asks), largest first."""

    supports: list[Wall]
    resistances: list[Wall]


def support_resistance(
    book: OrderBook, *, band_bps: float = 100.0, count: int = 3, params: WallParams | None = None
) -> SupportResistance:
    """Return up to ``count`` largest bid and ask walls within ``band_bps`` of the mid.

    ``params`` tunes detection; its ``band_bps`` is replaced by this function's.
    """
    base = params if params is not None else WallParams()
    walls = detect_walls(
        book,
        WallParams(
            base.levels, base.method, base.threshold, base.min_multiple, base.max_gap, band_bps
        ),
    )
    bids = sorted((w for w in walls if w.side is BookSide.BID), key=lambda w: -w.size)
    asks = sorted((w for w in walls if w.side is BookSide.ASK), key=lambda w: -w.size)
    return SupportResistance(bids[:count], asks[:count])


def infer_tick_size(book: OrderBook) -> float:
    """Smallest positive gap between adjacent price levels of either side (NaN if none)."""
    gaps = []
    for prices, _ in (book.bids(), book.asks()):
        if len(prices) > 1:
            d = np.abs(np.diff(prices))
            d = d[d > 0]
            if len(d):
                gaps.append(float(d.min()))
    return min(gaps) if gaps else float("nan")


@dataclass(frozen=True, slots=True)
class EntryExitPlan:
    """A passive entry and a target exit derived from walls.

    Attributes
    ----------
    side
        The entry's side.
    entry_price
        One tick in front of ``entry_wall`` (NaN if no strong wall on the order's side).
    exit_price
        One tick before ``exit_wall`` (NaN if no strong wall on the other side).
    entry_wall, exit_wall
        The walls used, or None.
    taker_entry_slippage_bps
        VWAP cost against the mid of taking ``size`` at market now (NaN if the book is too thin).
    taker_exit_slippage_bps
        Same for closing ``size`` at market now (walks the other side).
    """

    side: Side
    size: float
    entry_price: float
    exit_price: float
    entry_wall: Wall | None
    exit_wall: Wall | None
    taker_entry_slippage_bps: float
    taker_exit_slippage_bps: float


def _nearest(walls: list[Wall], min_strength: float) -> Wall | None:
    strong = [w for w in walls if w.strength >= min_strength]
    return min(strong, key=lambda w: w.distance_bps) if strong else None


def plan_entry_exit(
    book: OrderBook,
    side: Side,
    size: float,
    *,
    band_bps: float = 100.0,
    min_strength: float = 4.0,
    tick_size: float | None = None,
    params: WallParams | None = None,
) -> EntryExitPlan:
    """Place an entry in front of the nearest strong wall and an exit before the opposing one.

    Parameters
    ----------
    book
        The current book.
    side
        BUY: entry above the nearest strong bid wall, exit below the nearest strong ask wall.
        SELL: the mirror image.
    size
        Intended size (base units), for the slippage estimates.
    band_bps
        Only walls within this distance of the mid are considered.
    min_strength
        Minimum robust z-score of a wall to count as strong.
    tick_size
        Price increment; inferred from the book's level spacing when omitted.

    Raises
    ------
    UserError
        If ``size`` is not positive or the tick size cannot be known.
    """
    if not size > 0:
        raise UserError(f"intended size must be positive, got {size!r}")
    tick = tick_size if tick_size is not None else infer_tick_size(book)
    if not tick > 0:
        raise UserError(
            "tick size unknown: pass tick_size (the book has too few levels to infer it)"
        )
    sr = support_resistance(book, band_bps=band_bps, count=1_000_000, params=params)
    support = _nearest(sr.supports, min_strength)
    resistance = _nearest(sr.resistances, min_strength)
    best_bid, best_ask = book.best_bid(), book.best_ask()
    nan = float("nan")
    if side is Side.BUY:
        entry_wall, exit_wall = support, resistance
        # in front of the wall, but never crossing the spread: a passive bid
        entry = min(support.price_hi + tick, best_ask - tick) if support else nan
        exit_ = resistance.price_lo - tick if resistance else nan
    else:
        entry_wall, exit_wall = resistance, support
        entry = max(resistance.price_lo - tick, best_bid + tick) if resistance else nan
        exit_ = support.price_hi + tick if support else nan
    # back onto the tick grid: wall price +/- tick carries binary rounding noise
    decimals = max(0, -math.floor(math.log10(tick)) + 2)

    def on_grid(price: float) -> float:
        return price if math.isnan(price) else round(round(price / tick) * tick, decimals)

    entry, exit_ = on_grid(entry), on_grid(exit_)
    enter = vwap_to_size(book, side, size)
    leave = vwap_to_size(book, side.opposite, size)
    return EntryExitPlan(
        side=side,
        size=float(size),
        entry_price=float(entry),
        exit_price=float(exit_),
        entry_wall=entry_wall,
        exit_wall=exit_wall,
        taker_entry_slippage_bps=enter.slippage_bps if enter.complete else nan,
        taker_exit_slippage_bps=leave.slippage_bps if leave.complete else nan,
    )
