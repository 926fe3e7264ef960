"""A book and trade flow derived from candles, so any symbol with candles can be traded.

Candles say where the price went but not the book or the trades. :class:`CandleFlow` derives both,
deterministically from a seed, by these rules (so a test can reason about them):

- Each candle is replayed as ``steps`` steps spaced ``interval / steps`` apart, starting at the
  candle's open time (re-based so the first candle opens at offset 0; gaps in the candles stay gaps).
- The price path visits open, then the extreme nearer the close's opposite side, then the other
  extreme, then close: a rising candle (close >= open) goes open -> low -> high -> close, a falling
  one open -> high -> low -> close (the usual intrabar assumption). The path is piecewise linear
  through those four points and sampled at each step (the samples nearest the two extremes are
  moved onto them, so the book does reach the candle's high and low), rounded down to the tick grid.
- At each step the book is replaced by ``levels`` levels a side around that price: best bid at the
  price, best ask one spacing above, spacing ``max(tick, 1 bp of price)`` on the tick grid. Level
  sizes are ``volume / steps / levels`` times a seeded factor in [0.5, 1.5), on the step grid and
  at least ``min_levels_qty`` steps.
- Each step has one public trade of ``volume / steps`` times a seeded factor in [0.5, 1.5): a buy
  at the best ask when the price rose since the last step, a sell at the best bid when it fell,
  a seeded coin toss when flat.
- The random draws of candle ``k`` come from ``numpy.random.default_rng((seed, crc32(symbol), k))``:
  the same seed gives the same flow on every run and every machine, whatever is replayed first.

The flow loops over the candles forever; every step replaces the whole book, so no rewind is needed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from decimal import Decimal

import numpy as np

from tradewind.venues.exchange_sim.intervals import INTERVAL_MS
from tradewind.venues.exchange_sim.replay import ReplayStep, ReplayTrade, on_grid
from tradewind.venues.exchange_sim.tables import KlineTable


class CandleFlow:
    """A looped replay source built from one candle table (see the module docstring).

    Parameters
    ----------
    symbol
        Seeds the draws (two symbols with the same candles get different flows).
    candles
        The candles to replay (a fixed-length interval).
    tick, step
        The listing's price tick and quantity step.
    seed
        The random seed.
    steps, levels
        Steps per candle and book levels per side.

    Raises
    ------
    ValueError
        For an empty table or an interval without a fixed length.
    """

    def __init__(
        self,
        symbol: str,
        candles: KlineTable,
        tick: Decimal,
        step: Decimal,
        *,
        seed: int = 0,
        steps: int = 8,
        levels: int = 10,
        min_level_steps: int = 10,
    ) -> None:
        if len(candles) == 0:
            raise ValueError(f"{symbol}: no candles to derive a market from")
        if candles.interval not in INTERVAL_MS:
            raise ValueError(f"{symbol}: candle interval {candles.interval} has no fixed length")
        self.symbol = symbol
        self.candles = candles
        self.tick, self.step = tick, step
        self.seed = seed
        self.steps, self.levels = steps, levels
        self.min_size = step * min_level_steps
        self.length_ms = INTERVAL_MS[candles.interval]
        self.period_ms = int(candles.open_ms[-1] - candles.open_ms[0]) + self.length_ms
        self._symbol_key = zlib.crc32(symbol.encode())

    def __iter__(self) -> Iterator[ReplayStep]:
        c = self.candles
        t0 = int(c.open_ms[0])
        loop = 0
        last_price: Decimal | None = None
        while True:
            for k in range(len(c)):
                base = loop * self.period_ms + int(c.open_ms[k]) - t0
                for step in self.candle_steps(k, base, last_price):
                    yield step
                    last_price = max(step.bids) if step.bids else last_price
            loop += 1

    def path(self, k: int) -> np.ndarray:
        """Return the sampled price path of candle ``k`` (``steps`` floats)."""
        c = self.candles
        o, h, lo, cl = float(c.open[k]), float(c.high[k]), float(c.low[k]), float(c.close[k])
        points = [o, lo, h, cl] if cl >= o else [o, h, lo, cl]
        x = np.linspace(0.0, 3.0, self.steps)
        last = self.steps - 1
        if self.steps >= 4:
            x[round(last / 3)] = 1.0
            x[round(2 * last / 3)] = 2.0
        return np.interp(x, [0.0, 1.0, 2.0, 3.0], points)

    def candle_steps(self, k: int, base_ms: int, last_price: Decimal | None) -> list[ReplayStep]:
        """Return the steps of candle ``k``, the first at ``base_ms``."""
        rng = np.random.default_rng((self.seed, self._symbol_key, k))
        volume = float(self.candles.volume[k])
        volume = 0.0 if np.isnan(volume) else volume
        per_step = volume / self.steps
        size_draws = rng.uniform(0.5, 1.5, size=(self.steps, 2, self.levels))
        trade_draws = rng.uniform(0.5, 1.5, size=self.steps)
        coins = rng.random(self.steps) < 0.5
        out = []
        prev = last_price
        for s, price_f in enumerate(self.path(k)):
            bid = on_grid(price_f, self.tick)
            if bid <= 0:
                bid = self.tick
            spacing = max(self.tick, on_grid(float(bid) * 1e-4, self.tick))
            bids: dict[Decimal, Decimal] = {}
            asks: dict[Decimal, Decimal] = {}
            for lvl in range(self.levels):
                size_b = self._size(per_step / self.levels * size_draws[s, 0, lvl])
                size_a = self._size(per_step / self.levels * size_draws[s, 1, lvl])
                p_bid = bid - spacing * lvl
                if p_bid > 0:
                    bids[p_bid] = size_b
                asks[bid + spacing * (lvl + 1)] = size_a
            rising = prev is None or bid > prev
            falling = prev is not None and bid < prev
            buy = rising if (rising or falling) else bool(coins[s])
            qty = on_grid(per_step * trade_draws[s], self.step)
            trades = []
            if qty > 0:
                trades.append(ReplayTrade(bid + spacing if buy else bid, qty, not buy))
            offset = base_ms + (self.length_ms * s) // self.steps
            out.append(ReplayStep(offset, bids, asks, True, trades))
            prev = bid
        return out

    def _size(self, value: float) -> Decimal:
        return max(self.min_size, on_grid(value, self.step))
