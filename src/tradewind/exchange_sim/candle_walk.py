"""The walk inside one recorded candle: the prices and trades a candle is replayed as.

A candle says where the price went, not how. :func:`walk` turns one candle into ``steps`` steps
spaced ``interval / steps`` apart, the first at the candle's open time, by these rules (so a test
can reason about them):

- The price visits open, then the extreme on the far side of the close, then the other extreme,
  then close: a rising candle (close >= open) goes open -> low -> high -> close, a falling one
  open -> high -> low -> close. The path is piecewise linear through those four points, sampled
  at each step and rounded down to the tick grid; the first sample is the open, the last the
  close and the samples nearest one and two thirds are the two extremes, exactly. Every sample
  lies within [low, high].
- Each step trades at its sample price. The candle's volume (in integer units of 1e-8, Binance's
  8-decimal quantities) is split over the steps by seeded weights in [0.5, 1.5): in lots of the
  instrument's step size when the volume is a whole number of them, else in units of 1e-8. Every
  step gets at least one lot when there are enough; with fewer lots than steps the open, the
  close and the extremes get them first. The parts sum to the volume exactly.

So the trades of a whole candle rebuild it exactly (open, high, low, close, volume), and after
``n`` steps they give the partial candle Binance would serve at that moment.

The draws of candle ``k`` come from ``numpy.random.default_rng((seed, key, k))``; the flow that
derives a book from the same candles (:mod:`.candle_flow`) draws from the same generator, so the
book and the served candles agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

VOLUME_UNIT_DECIMALS = 8
"""Volumes and derived quantities are integers of ``10**-8`` (Binance's 8-decimal strings)."""


@dataclass(frozen=True)
class Walk:
    """One candle as steps: offsets in the candle (ms), prices in ticks, volumes in 1e-8 units."""

    offsets_ms: list[int]
    price_ticks: list[int]
    volume_units: list[int]

    def partial(self, open_ticks: int, steps_done: int) -> tuple[int, int, int, int, int]:
        """Return ``(open, high, low, close, volume)`` after the first ``steps_done`` steps."""
        n = max(1, min(steps_done, len(self.price_ticks)))
        prices = self.price_ticks[:n]
        return open_ticks, max(prices), min(prices), prices[-1], sum(self.volume_units[:n])

    def steps_done(self, elapsed_ms: int) -> int:
        """Return how many steps have happened ``elapsed_ms`` after the candle opened."""
        return sum(1 for t in self.offsets_ms if t <= elapsed_ms)


def key_steps(steps: int) -> tuple[int, int]:
    """Return the step indices that sit on the two extremes."""
    last = steps - 1
    return round(last / 3), round(2 * last / 3)


def walk(
    ohlc_ticks: tuple[int, int, int, int],
    volume_units: int,
    length_ms: int,
    steps: int,
    weights: NDArray[np.float64],
    lot_units: int,
) -> Walk:
    """Return the walk of one candle (see the module docstring).

    Parameters
    ----------
    ohlc_ticks
        Open, high, low and close in ticks.
    volume_units
        The volume in units of 1e-8 (negative when none was recorded: no trades).
    length_ms
        The candle's interval.
    steps
        Steps per candle (at least 4, so both extremes get a step of their own).
    weights
        ``steps`` seeded weights in [0.5, 1.5) for the volume split.
    lot_units
        The instrument's step size in units of 1e-8.
    """
    o, h, lo, c = ohlc_ticks
    points = [o, lo, h, c] if c >= o else [o, h, lo, c]
    x = np.linspace(0.0, 3.0, steps)
    first_x, second_x = key_steps(steps)
    x[first_x], x[second_x] = 1.0, 2.0
    path = np.floor(np.interp(x, [0.0, 1.0, 2.0, 3.0], [float(p) for p in points]) + 1e-9)
    prices = [min(h, max(lo, int(p))) for p in path]
    prices[0], prices[-1] = o, c
    prices[first_x], prices[second_x] = points[1], points[2]
    offsets = [(length_ms * s) // steps for s in range(steps)]
    return Walk(offsets, prices, _split(volume_units, steps, weights, lot_units))


def _split(volume: int, steps: int, weights: NDArray[np.float64], lot: int) -> list[int]:
    if volume <= 0:
        return [0] * steps
    unit = lot if lot > 0 and volume % lot == 0 else 1
    lots = volume // unit
    if lots < steps:
        # Too few lots for every step: the open, the close and the extremes trade first.
        first_x, second_x = key_steps(steps)
        order = list(dict.fromkeys([0, steps - 1, first_x, second_x, *range(steps)]))
        parts = [0] * steps
        for s in order[:lots]:
            parts[s] = unit
        return parts
    spare = lots - steps
    shares = np.floor(spare * weights / weights.sum()).astype(np.int64)
    parts = [1 + int(v) for v in shares]
    parts[-1] += lots - sum(parts)
    return [p * unit for p in parts]
