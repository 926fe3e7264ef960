"""Liquidity score: spread, depth and resilience (how fast depth returns after it is taken).

Resilience is measured from the stream itself. A *depletion* is an update where the depth near the
mid falls by at least ``drop_fraction`` from the level just before it (after trades when trades are
reported, otherwise any such drop). It *recovers* when the depth is back to ``recover_fraction`` of
the level before the drop; the time that takes is the recovery time. Depletions still open when the
stream ends are not counted (their recovery time is unknown).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tradewind.book.book import OrderBook
from tradewind.core.errors import UserError


class DepthResilience:
    """Streaming recovery-time tracker for depth near the mid.

    Parameters
    ----------
    drop_fraction
        Relative fall between two updates that counts as a depletion (0.3 = 30 %).
    recover_fraction
        Share of the pre-drop depth that counts as recovered.
    require_trades
        Count a depletion only if trades were reported (``traded=True``) since the last update, so
        quote cancellations alone do not count.
    """

    def __init__(
        self,
        *,
        drop_fraction: float = 0.3,
        recover_fraction: float = 0.9,
        require_trades: bool = False,
    ) -> None:
        if not 0 < drop_fraction < 1 or not 0 < recover_fraction <= 1:
            raise UserError(
                "drop_fraction must be in (0, 1) and recover_fraction in (0, 1], got "
                f"{drop_fraction} and {recover_fraction}"
            )
        self.drop_fraction = drop_fraction
        self.recover_fraction = recover_fraction
        self.require_trades = require_trades
        self._last: float | None = None
        self._open: tuple[int, float] | None = None  # (start ts, depth to regain)
        self.recovery_ms: list[int] = []

    def update(self, ts: int, depth: float, *, traded: bool = False) -> int | None:
        """Feed the depth after one update; return a recovery time (ms) when one completes."""
        done: int | None = None
        if self._open is not None and depth >= self._open[1]:
            done = ts - self._open[0]
            self.recovery_ms.append(done)
            self._open = None
        last = self._last
        self._last = depth
        if (
            self._open is None
            and last is not None
            and last > 0
            and depth <= last * (1 - self.drop_fraction)
            and (traded or not self.require_trades)
        ):
            self._open = (ts, last * self.recover_fraction)
        return done

    @property
    def depletions_open(self) -> bool:
        """Whether a depletion is waiting to recover."""
        return self._open is not None

    def median_recovery_ms(self) -> float:
        """Median recovery time so far (NaN before the first recovery)."""
        return float(np.median(self.recovery_ms)) if self.recovery_ms else float("nan")


@dataclass(frozen=True, slots=True)
class LiquidityScore:
    """Components and the combined score.

    ``score`` is the two-sided notional within the band per basis point of spread, discounted by
    resilience: ``notional / max(spread_bps, min_spread_bps) / (1 + recovery_ms / reference_ms)``.
    Larger is more liquid; the discount is 1 with no recovery data or instant recovery.
    """

    spread_bps: float
    bid_notional: float
    ask_notional: float
    recovery_ms: float
    score: float


def liquidity_score(
    book: OrderBook,
    *,
    band_bps: float = 25.0,
    resilience: DepthResilience | None = None,
    reference_ms: float = 1000.0,
    min_spread_bps: float = 0.1,
) -> LiquidityScore:
    """Score the book's liquidity now (see :class:`LiquidityScore` for the formula).

    Parameters
    ----------
    book
        The current book.
    band_bps
        Depth is summed within this distance of the mid.
    resilience
        A tracker fed with this book's updates; its median recovery time discounts the score.
    reference_ms
        Recovery time that halves the score.
    min_spread_bps
        Floor on the spread so a locked or one-tick book does not divide by ~0.
    """
    bid, ask = book.best_bid(), book.best_ask()
    mid = 0.5 * (bid + ask)
    spread_bps = (ask - bid) / mid * 1e4
    bid_notional, ask_notional = book.notional_within_bps(band_bps)
    recovery = resilience.median_recovery_ms() if resilience is not None else float("nan")
    discount = 1.0 if math.isnan(recovery) else 1.0 / (1.0 + recovery / reference_ms)
    score = (bid_notional + ask_notional) / max(spread_bps, min_spread_bps) * discount
    return LiquidityScore(spread_bps, bid_notional, ask_notional, recovery, score)
