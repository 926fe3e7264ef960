"""Buy and sell walls: levels, or runs of adjacent levels, far larger than the rest of their side.

Detection looks at the best ``levels`` levels of each side (optionally only those within
``band_bps`` of the mid) and measures each level's size against that local distribution:

- ``robust_z`` (default): ``z = (size - median) / (1.4826 * MAD)``, flagged when ``z >= threshold``.
  The median and MAD ignore the walls themselves, unlike a mean and standard deviation. If the MAD
  is 0 (most levels equal), ``1.2533 * mean |size - median|`` replaces it.
- ``percentile``: flagged when ``size >= percentile(sizes, threshold)``.

Both also require ``size >= min_multiple * median``. Flagged levels that are adjacent in the book
(and at most ``max_gap`` apart in price) merge into one wall.

:class:`WallTracker` follows walls across updates: how many updates each has survived, and how it
ended: *hit* (the touch reached it), *pulled* (it vanished while the price never reached it, a
spoofing hint) or *faded* (still resting, just no longer abnormal against the other levels).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit

from tradewind.book.book import OrderBook
from tradewind.core.errors import UserError
from tradewind.core.records import BookSide

METHODS = {"robust_z": 0, "percentile": 1}


@njit(cache=True)
def _side_walls(
    px: np.ndarray,
    sz: np.ndarray,
    n: np.ndarray,
    side: int,
    mid: float,
    band_bps: float,
    levels: int,
    method: int,
    threshold: float,
    min_multiple: float,
    max_gap: float,
    out: np.ndarray,
    start: int,
) -> int:
    # Append this side's walls to `out` from row `start`; return the new row count. Columns:
    # side, price_lo, price_hi, size, notional, levels, distance_bps, strength, multiple, rank.
    m = n[side]
    limit = -np.inf if side == 0 else np.inf
    if band_bps > 0.0 and not np.isnan(mid):
        band = mid * band_bps * 1e-4
        limit = mid - band if side == 0 else mid + band
    count = 0
    for r in range(min(levels, m)):
        p = px[side, m - 1 - r]
        if (side == 0 and p < limit) or (side == 1 and p > limit):
            break
        count += 1
    if count < 3:
        return start
    x = np.empty(count, dtype=np.float64)
    for r in range(count):
        x[r] = sz[side, m - 1 - r]
    med = np.median(x)
    dev = np.abs(x - med)
    scale = 1.4826 * np.median(dev)
    if scale <= 0.0:
        scale = 1.2533 * np.mean(dev)
    if scale <= 0.0 or med <= 0.0:
        return start
    cut = np.percentile(x, threshold) if method == 1 else 0.0
    w = start
    open_wall = False
    prev_price = 0.0
    for r in range(count):
        q = x[r]
        p = px[side, m - 1 - r]
        z = (q - med) / scale
        flagged = q >= min_multiple * med and (z >= threshold if method == 0 else q >= cut)
        if not flagged:
            open_wall = False
            continue
        if open_wall and abs(p - prev_price) <= max_gap:
            k = w - 1
            out[k, 1] = min(out[k, 1], p)
            out[k, 2] = max(out[k, 2], p)
            out[k, 3] += q
            out[k, 4] += q * p
            out[k, 5] += 1
            out[k, 7] = max(out[k, 7], z)
            out[k, 8] = max(out[k, 8], q / med)
        else:
            out[w, 0] = side
            out[w, 1] = p
            out[w, 2] = p
            out[w, 3] = q
            out[w, 4] = q * p
            out[w, 5] = 1
            out[w, 7] = z
            out[w, 8] = q / med
            out[w, 9] = r
            w += 1
            open_wall = True
        prev_price = p
    for k in range(start, w):
        # distance of the edge nearest the mid
        out[k, 6] = (mid - out[k, 2]) / mid * 1e4 if side == 0 else (out[k, 1] - mid) / mid * 1e4
    return w


@njit(cache=True)
def _walls(
    px: np.ndarray,
    sz: np.ndarray,
    n: np.ndarray,
    mid: float,
    band_bps: float,
    levels: int,
    method: int,
    threshold: float,
    min_multiple: float,
    max_gap: float,
    out: np.ndarray,
) -> int:
    # one compiled call for both sides: each call from Python costs more than the detection
    rows = _side_walls(
        px, sz, n, 0, mid, band_bps, levels, method, threshold, min_multiple, max_gap, out, 0
    )
    return _side_walls(
        px, sz, n, 1, mid, band_bps, levels, method, threshold, min_multiple, max_gap, out, rows
    )


_SIDES = (BookSide.BID, BookSide.ASK)


class Wall(NamedTuple):
    """One detected wall.

    Attributes
    ----------
    side
        BID (a buy wall, support) or ASK (a sell wall, resistance).
    price_lo, price_hi
        Price range of its levels.
    size, notional
        Total size and price x size of its levels.
    levels
        Number of levels merged into it.
    distance_bps
        Distance of its nearest edge from the mid, in bps (>= 0 in a normal book).
    strength
        Largest robust z-score among its levels.
    multiple
        Largest level size over the side's median level size.
    rank
        Position of its nearest level counted from the touch (0 = at the touch).
    """

    side: BookSide
    price_lo: float
    price_hi: float
    size: float
    notional: float
    levels: int
    distance_bps: float
    strength: float
    multiple: float
    rank: int

    @property
    def near_price(self) -> float:
        """The wall's edge closest to the mid."""
        return self.price_hi if self.side is BookSide.BID else self.price_lo

    def overlaps(self, other: Wall) -> bool:
        """Whether both walls are on one side and their price ranges intersect."""
        return (
            self.side is other.side
            and self.price_lo <= other.price_hi
            and other.price_lo <= self.price_hi
        )


class WallSet:
    """The walls of one update: a ``float64[count, 10]`` table, bids first, each from the touch out.

    Columns: side (0 bid, 1 ask), price_lo, price_hi, size, notional, levels, distance_bps,
    strength, multiple, rank. Iterating yields :class:`Wall` tuples, made on demand, so a caller
    that only needs the table pays nothing per wall.
    """

    __slots__ = ("table",)

    def __init__(self, table: np.ndarray) -> None:
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i: int) -> Wall:
        row = self.table[i].tolist()
        return Wall(
            _SIDES[int(row[0])], row[1], row[2], row[3], row[4], int(row[5]), row[6], row[7],
            row[8], int(row[9]),
        )  # fmt: skip

    def __iter__(self) -> Iterator[Wall]:
        for i in range(len(self.table)):
            yield self[i]


@dataclass(frozen=True, slots=True)
class WallParams:
    """Detection parameters (see the module docstring)."""

    levels: int = 100
    method: str = "robust_z"
    threshold: float = 4.0
    min_multiple: float = 3.0
    max_gap: float = float("inf")
    band_bps: float | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UserError(f"unknown wall method {self.method!r}; choose robust_z or percentile")
        if self.levels < 3:
            raise UserError(f"wall detection needs at least 3 levels, got {self.levels}")
        if self.method == "percentile" and not 0 < self.threshold < 100:
            raise UserError(f"a percentile threshold must be in (0, 100), got {self.threshold}")
        if self.band_bps is not None and not self.band_bps > 0:
            raise UserError(f"band_bps must be positive, got {self.band_bps}")


_DEFAULT = WallParams()


def detect_walls(book: OrderBook, params: WallParams | None = None) -> WallSet:
    """Detect bid and ask walls in the current book, bids first, each side from the touch out.

    Parameters
    ----------
    book
        The current book (an empty side gives no walls on that side; distances need both).
    params
        Detection parameters; defaults to :class:`WallParams` ().

    Returns
    -------
    WallSet
        The walls, as a table and as :class:`Wall` tuples when iterated.
    """
    p = params if params is not None else _DEFAULT
    out = np.empty((2 * p.levels, 10), dtype=np.float64)
    count = _walls(
        book._px, book._sz, book._n, book.mid(), p.band_bps or 0.0, p.levels, METHODS[p.method],
        p.threshold, p.min_multiple, p.max_gap, out,
    )  # fmt: skip
    return WallSet(out[:count])


@dataclass(slots=True)
class TrackedWall:
    """A wall followed across updates."""

    wall_id: int
    wall: Wall
    first_ts: int
    last_ts: int
    updates: int = 1
    peak_size: float = 0.0
    touched: bool = False


@dataclass(frozen=True, slots=True)
class WallEnd:
    """How a tracked wall ended: ``hit``, ``pulled`` or ``faded``."""

    tracked: TrackedWall
    outcome: str
    end_ts: int
    remaining_size: float

    @property
    def spoofing_hint(self) -> bool:
        """Pulled before the price reached it."""
        return self.outcome == "pulled"


@dataclass
class WallTracker:
    """Follow walls over a stream of updates.

    A wall in the new update continues a tracked one when they are on the same side and their
    price ranges overlap. A tracked wall is *touched* once the touch reaches its near edge. When it
    is no longer detected, it ended as ``hit`` if it was touched, else ``faded`` if at least
    ``fade_fraction`` of its last size still rests at its prices, else ``pulled``.
    """

    fade_fraction: float = 0.5
    active: list[TrackedWall] = field(default_factory=list)
    ended: list[WallEnd] = field(default_factory=list)
    _next_id: int = 0

    def update(self, book: OrderBook, walls: WallSet | list[Wall], ts: int) -> list[WallEnd]:
        """Match this update's walls with the tracked ones; return the walls that ended now."""
        best_bid, best_ask = book.best_bid(), book.best_ask()
        walls = list(walls)
        still: list[TrackedWall] = []
        taken = [False] * len(walls)
        ends: list[WallEnd] = []
        for tracked in self.active:
            match = -1
            for j, wall in enumerate(walls):
                if not taken[j] and tracked.wall.overlaps(wall):
                    match = j
                    break
            if match >= 0:
                taken[match] = True
                wall = walls[match]
                tracked.wall = wall
                tracked.last_ts = ts
                tracked.updates += 1
                tracked.peak_size = max(tracked.peak_size, wall.size)
                tracked.touched |= self._at_touch(wall, best_bid, best_ask)
                still.append(tracked)
                continue
            old = tracked.wall
            side = old.side
            remaining = 0.0
            prices, sizes = book.side_levels(side)
            inside = (prices >= old.price_lo) & (prices <= old.price_hi)
            remaining = float(sizes[inside].sum())
            reached = tracked.touched or self._at_touch(old, best_bid, best_ask)
            if reached:
                outcome = "hit"
            elif remaining >= self.fade_fraction * old.size:
                outcome = "faded"
            else:
                outcome = "pulled"
            ends.append(WallEnd(tracked, outcome, ts, remaining))
        for j, wall in enumerate(walls):
            if not taken[j]:
                still.append(
                    TrackedWall(
                        self._next_id, wall, ts, ts, 1, wall.size,
                        self._at_touch(wall, best_bid, best_ask),
                    )
                )  # fmt: skip
                self._next_id += 1
        self.active = still
        self.ended.extend(ends)
        return ends

    @staticmethod
    def _at_touch(wall: Wall, best_bid: float, best_ask: float) -> bool:
        if wall.side is BookSide.BID:
            return bool(best_bid <= wall.price_hi)
        return bool(best_ask >= wall.price_lo)
