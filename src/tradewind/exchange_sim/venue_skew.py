"""One recording, several venues: a recorded book replayed with a venue's own prices.

Real venues quote the same market a little apart. :class:`SkewedBook` replays a
:class:`~.replay.RecordedBook` with, per venue:

- an **offset**: every price moved by a whole number of ticks (``offset_bps`` of the first
  snapshot's mid, rounded to ticks), so the venue trades consistently above or below the others;
- a wider **spread**: bids moved down and asks up by ``half_spread_bps`` more (never narrower, so
  the book never crosses);
- **noise** on sizes: each level's size times ``1 + size_noise * u`` with ``u`` in [-1, 1] drawn
  from the venue's seed, the step and the price (deterministic: the same seed replays the same
  book);
- a **divergence** that can change while it runs (the price-divergence fault of
  :mod:`.venue_chaos`): more ticks on every price; when it changes, the venue's next step is a
  whole-book snapshot at the new prices, so the level structure stays exact.

Prices move by whole ticks (not by a factor) so that distinct recorded levels stay distinct.
Recorded trades move with the side they took. Served historical candles are the recording's and
are not skewed: the skew is of the live market.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal

from tradewind.exchange_sim.replay import RecordedBook, ReplayStep, ReplayTrade

Levels = dict[Decimal, Decimal]


class SkewedBook(RecordedBook):
    """A recorded book replayed at a venue's offset, spread, size noise and divergence.

    Parameters
    ----------
    source
        The recording (its steps are shared, not copied).
    tick, step
        The listing's price tick and lot step.
    offset_bps, half_spread_bps
        The venue's price offset and extra half-spread, in basis points of the recording's
        first mid price (converted to whole ticks once).
    size_noise
        Relative size noise (0.05: sizes within +-5 %).
    seed
        The venue's seed for the size noise.
    """

    def __init__(
        self,
        source: RecordedBook,
        *,
        tick: Decimal,
        step: Decimal,
        offset_bps: float = 0.0,
        half_spread_bps: float = 0.0,
        size_noise: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__(source.steps, source.period_ms, source.origin_ms)
        if half_spread_bps < 0 or not 0 <= size_noise < 1:
            raise ValueError("half_spread_bps must be >= 0 and size_noise within [0, 1)")
        first = source.steps[0]
        bid = max(first.bids) if first.bids else None
        ask = min(first.asks) if first.asks else None
        mid = (bid + ask) / 2 if bid is not None and ask is not None else (bid or ask or tick)
        self.tick, self.step = tick, step
        self.bps_ticks = mid / tick / 10_000
        self.offset_ticks = self.ticks(offset_bps)
        self.half_spread_ticks = abs(self.ticks(half_spread_bps))
        self.size_noise = Decimal(str(size_noise))
        self.seed = seed
        self.divergence_ticks = 0
        """Extra ticks on every price; changed live by the price-divergence fault."""

    def ticks(self, bps: float) -> int:
        """Whole ticks closest to ``bps`` basis points of the recording's first mid."""
        return int((Decimal(str(bps)) * self.bps_ticks).to_integral_value(ROUND_HALF_EVEN))

    def _shift(self, bid: bool, divergence: int) -> Decimal:
        spread = -self.half_spread_ticks if bid else self.half_spread_ticks
        return (self.offset_ticks + spread + divergence) * self.tick

    def _size(self, k: int, price: Decimal, size: Decimal) -> Decimal:
        if not self.size_noise or not size:
            return size
        draw = hash((self.seed, k, int(price / self.tick))) % 2001 - 1000
        noisy = size * (1 + self.size_noise * Decimal(draw) / 1000)
        return max(self.step, (noisy / self.step).to_integral_value() * self.step)

    def _levels(self, k: int, levels: Levels, bid: bool, divergence: int) -> Levels:
        shift = self._shift(bid, divergence)
        return {p + shift: self._size(k, p, q) for p, q in levels.items() if p + shift > 0}

    def steps_from(self, offset_ms: int) -> Iterator[ReplayStep]:
        """Yield the recording's steps at this venue's prices (see the module docstring)."""
        bids: Levels = {}
        asks: Levels = {}
        applied: int | None = None
        for k, step in enumerate(super().steps_from(offset_ms)):
            if step.snapshot:
                bids, asks = dict(step.bids), dict(step.asks)
            else:
                for side, changes in ((bids, step.bids), (asks, step.asks)):
                    for price, size in changes.items():
                        if size:
                            side[price] = size
                        else:
                            side.pop(price, None)
            divergence = self.divergence_ticks
            trades = [self._trade(t, divergence) for t in step.trades]
            if step.snapshot or divergence != applied:
                applied = divergence
                yield ReplayStep(
                    step.offset_ms,
                    self._levels(k, bids, True, divergence),
                    self._levels(k, asks, False, divergence),
                    True,
                    trades,
                )
                continue
            yield ReplayStep(
                step.offset_ms,
                self._levels(k, step.bids, True, divergence),
                self._levels(k, step.asks, False, divergence),
                False,
                trades,
            )

    def _trade(self, trade: ReplayTrade, divergence: int) -> ReplayTrade:
        # A buyer-maker trade hit the bid; otherwise it lifted the ask.
        price = trade.price + self._shift(trade.buyer_maker, divergence)
        return ReplayTrade(max(price, self.tick), trade.qty, trade.buyer_maker)
