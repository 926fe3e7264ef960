"""A book and trade flow derived from candles, so any symbol with candles can be traded.

Candles say where the price went but not the book or the trades. :class:`CandleFlow` replays each
candle as its walk (:mod:`.candle_walk`: ``steps`` steps, prices within [low, high] visiting open,
both extremes and close, volumes summing to the candle's), deterministically from a seed:

- Step ``s`` of candle ``k`` happens at the candle's open time plus ``s * interval / steps``
  (recording time; the market's :class:`~.timeline.Timeline` puts it on the server clock; gaps in
  the candles stay gaps).
- Each step trades the walk's volume at the walk's price: a buy when the price rose since the
  last step, a sell when it fell, a seeded coin toss when flat. So the trades of a candle rebuild
  it exactly, and the candles served over REST and streams (:mod:`.served_candles`) are the
  trades the book showed.
- At each step the book is replaced by ``levels`` levels a side, spacing ``max(tick, 1 bp of
  price)`` on the tick grid, around the trade: a buy lifts the best ask (best ask at the price,
  best bid one spacing below), a sell hits the best bid (best bid at the price). Level sizes are
  ``volume / steps / levels`` times a seeded factor in [0.5, 1.5), on the step grid and at least
  ``min_level_steps`` steps.
- The random draws of candle ``k`` come from ``numpy.random.default_rng((seed, crc32(symbol), k))``:
  the same seed gives the same flow on every run and every machine, whatever is replayed first.

The flow loops over the candles forever, one pass every ``period_ms`` (the timeline's); every
step replaces the whole book, so no rewind is needed and a replay may start at any step.

The price-divergence fault of :mod:`.venue_chaos` sets :attr:`CandleFlow.divergence_ticks`: from
the next step on, every level of the book is that many ticks away (the venue quotes apart from
the others). The trades stay on the walk, so the served candles stay the recording's, as a
:class:`~.venue_skew.SkewedBook`'s do.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

import numpy as np

from tradewind.exchange_sim.candle_walk import Walk, walk
from tradewind.exchange_sim.intervals import INTERVAL_MS
from tradewind.exchange_sim.replay import ReplayStep, ReplayTrade, on_grid
from tradewind.exchange_sim.served_candles import DEFAULT_STEPS, GridCandles, volume_decimal


class CandleFlow:
    """A looped replay source built from one candle table (see the module docstring).

    Parameters
    ----------
    symbol
        Seeds the draws (two symbols with the same candles get different flows).
    candles
        The candles to replay (a fixed-length interval), on the listing's grid.
    tick, step
        The listing's price tick and quantity step.
    seed
        The random seed.
    steps, levels
        Steps per candle (at least 4) and book levels per side.

    Raises
    ------
    ValueError
        For an empty table, an interval without a fixed length, or fewer than 4 steps.
    """

    def __init__(
        self,
        symbol: str,
        candles: GridCandles,
        tick: Decimal,
        step: Decimal,
        *,
        seed: int = 0,
        steps: int = DEFAULT_STEPS,
        levels: int = 10,
        min_level_steps: int = 10,
    ) -> None:
        if len(candles) == 0:
            raise ValueError(f"{symbol}: no candles to derive a market from")
        if candles.interval not in INTERVAL_MS:
            raise ValueError(f"{symbol}: candle interval {candles.interval} has no fixed length")
        if steps < 4:
            raise ValueError(f"{symbol}: a candle needs at least 4 steps, got {steps}")
        self.symbol = symbol
        self.candles = candles
        self.tick, self.step = tick, step
        self.seed = seed
        self.steps, self.levels = steps, levels
        self.min_size = step * min_level_steps
        self.length_ms = INTERVAL_MS[candles.interval]
        self.origin_ms = int(candles.open_ms[0])
        self.period_ms = int(candles.open_ms[-1]) - self.origin_ms + self.length_ms
        self._symbol_key = zlib.crc32(symbol.encode())
        self._lot_units = max(1, int(step.scaleb(8)))
        self.walk = lru_cache(maxsize=64)(self._walk)
        self.divergence_ticks = 0
        """Extra ticks on every book level; changed live by the price-divergence fault."""
        self._bps_ticks = Decimal(int(candles.open[0])) / 10_000

    def ticks(self, bps: float) -> int:
        """Whole ticks closest to ``bps`` basis points of the first candle's open."""
        return int((Decimal(str(bps)) * self._bps_ticks).to_integral_value(ROUND_HALF_EVEN))

    def _draws(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng((self.seed, self._symbol_key, k))
        sizes = rng.uniform(0.5, 1.5, size=(self.steps, 2, self.levels))
        weights = rng.uniform(0.5, 1.5, size=self.steps)
        coins = rng.random(self.steps) < 0.5
        return sizes, weights, coins

    def _walk(self, k: int) -> Walk:
        _, weights, _ = self._draws(k)
        c = self.candles
        return walk(
            c.ohlc(k), int(c.volume[k]), self.length_ms, self.steps, weights, self._lot_units
        )

    def walk_of(self, table: GridCandles, k: int) -> Walk:
        """The walker of the served candles: candle ``k``'s walk (``table`` is the flow's)."""
        return self.walk(k)

    def __iter__(self) -> Iterator[ReplayStep]:
        return self.steps_from(0)

    def steps_from(self, offset_ms: int) -> Iterator[ReplayStep]:
        """Yield steps forever from the first step of the candle at ``offset_ms`` (since the origin).

        Step offsets count from :attr:`origin_ms` across passes (pass ``p`` adds
        ``p * period_ms``). A replay that starts inside a candle starts at that candle's first
        step: the steps already due are applied at once, so the candle's trades so far all
        happen and the served partial candle is made of them. Inside a gap between candles it
        starts at the last step of the candle before.
        """
        c = self.candles
        rel = c.open_ms - self.origin_ms
        loop, within = divmod(max(0, offset_ms), self.period_ms)
        k = max(0, int(np.searchsorted(rel, within, side="right")) - 1)
        first_s = 0
        if within >= int(rel[k]) + self.length_ms:
            first_s = self.steps - 1
        last_price: Decimal | None = None
        while True:
            while k < len(c):
                base = loop * self.period_ms + int(rel[k])
                for step in self.candle_steps(k, base, last_price)[first_s:]:
                    yield self._diverged(step) if self.divergence_ticks else step
                    if step.trades:
                        last_price = step.trades[-1].price
                first_s = 0
                k += 1
            k = 0
            loop += 1

    def _diverged(self, step: ReplayStep) -> ReplayStep:
        shift = self.tick * self.divergence_ticks
        bids = {p + shift: q for p, q in step.bids.items() if p + shift > 0}
        asks = {p + shift: q for p, q in step.asks.items() if p + shift > 0}
        return ReplayStep(step.offset_ms, bids, asks, step.snapshot, step.trades)

    def candle_steps(self, k: int, base_ms: int, last_price: Decimal | None) -> list[ReplayStep]:
        """Return the steps of candle ``k``, the first at ``base_ms``."""
        sizes, _, coins = self._draws(k)
        w = self.walk(k)
        vol = int(self.candles.volume[k])
        per_step = max(0.0, vol / 1e8) / self.steps
        out = []
        prev = last_price
        for s in range(self.steps):
            price = self.tick * w.price_ticks[s]
            spacing = max(self.tick, on_grid(float(price) * 1e-4, self.tick))
            rising = prev is None or price > prev
            falling = prev is not None and price < prev
            buy = rising if (rising or falling) else bool(coins[s])
            best_bid = price - spacing if buy else price
            bids: dict[Decimal, Decimal] = {}
            asks: dict[Decimal, Decimal] = {}
            for lvl in range(self.levels):
                p_bid = best_bid - spacing * lvl
                if p_bid > 0:
                    bids[p_bid] = self._size(per_step / self.levels * sizes[s, 0, lvl])
                asks[best_bid + spacing * (lvl + 1)] = self._size(
                    per_step / self.levels * sizes[s, 1, lvl]
                )
            trades = []
            if w.volume_units[s] > 0:
                trades.append(ReplayTrade(price, volume_decimal(w.volume_units[s]), not buy))
            out.append(ReplayStep(base_ms + w.offsets_ms[s], bids, asks, True, trades))
            prev = price
        return out

    def _size(self, value: float) -> Decimal:
        return max(self.min_size, on_grid(value, self.step))
