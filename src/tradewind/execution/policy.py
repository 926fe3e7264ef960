"""The execution policy: which algorithm carries out an order, when the strategy named none.

The rules, in order (``size`` is the order's quantity; the liquidity figures are what the market
showed at the decision):

1. A reduce-only exit that must happen now (a stop, a liquidation guard, the kill switch) goes as
   a guarded market order: waiting adds risk.
2. ``size`` within the depth on our side inside ``guard_bps`` of the mid, and the spread at most
   ``tight_spread_bps``: a guarded market order (it fills at once within the cap).
3. The spread wider than ``tight_spread_bps`` and ``size`` within the best level on the passive
   side: a smart limit (posting earns the spread instead of paying it).
4. ``size`` up to ``pov_share`` of the volume expected over ``horizon_ms`` (recent volume per
   millisecond x horizon): TWAP over the horizon, in slices no bigger than the best level on our
   side (at least one slice).
5. Larger than that: POV at ``pov_share``, so the order never dominates the tape.

A strategy's own choice (an intent that names an algorithm) always wins over these rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from tradewind.core.errors import UserError
from tradewind.execution.algos import Algo, AlgoSpec

BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Liquidity:
    """What the market shows at a decision: the spread, the depth on the side we would take
    within ``guard_bps`` of the mid, the size at the best passive level, and the recent volume
    per millisecond (base units)."""

    spread_bps: Decimal
    depth_within_guard: Decimal
    best_passive_size: Decimal
    best_taking_size: Decimal
    volume_per_ms: Decimal


@dataclass(frozen=True, slots=True)
class ExecutionPolicy:
    """The rules of the module's docstring, with their thresholds."""

    guard_bps: Decimal = Decimal(10)
    tight_spread_bps: Decimal = Decimal(2)
    pov_share: float = 0.1
    horizon_ms: int = 300_000
    smart_timeout_ms: int = 60_000

    def __post_init__(self) -> None:
        if not 0 < self.pov_share <= 1:
            raise UserError(f"execution policy: pov_share must be in (0, 1], got {self.pov_share}")
        if self.horizon_ms <= 0 or self.smart_timeout_ms <= 0:
            raise UserError("execution policy: horizon_ms and smart_timeout_ms must be positive")

    def choose(
        self,
        size: Decimal,
        liquidity: Liquidity,
        *,
        urgent_exit: bool = False,
        named: AlgoSpec | None = None,
    ) -> tuple[AlgoSpec, str]:
        """The algorithm for an order of ``size``, and the rule that chose it (for the record)."""
        if named is not None:
            return named, "named by the strategy"
        market = AlgoSpec(algo=Algo.MARKET, guard_bps=self.guard_bps)
        if urgent_exit:
            return market, "rule 1: urgent exit"
        tight = liquidity.spread_bps <= self.tight_spread_bps
        if tight and size <= liquidity.depth_within_guard:
            return market, "rule 2: fits the depth within the guard"
        if not tight and size <= liquidity.best_passive_size:
            spec = AlgoSpec(algo=Algo.SMART_LIMIT, timeout_ms=self.smart_timeout_ms,
                            chase_bps=liquidity.spread_bps, guard_bps=self.guard_bps)  # fmt: skip
            return spec, "rule 3: wide spread, fits the best passive level"
        expected = liquidity.volume_per_ms * self.horizon_ms
        if size <= expected * Decimal(repr(self.pov_share)):
            top = liquidity.best_taking_size
            slices = max(1, math.ceil(size / top)) if top > 0 else 1
            spec = AlgoSpec(algo=Algo.TWAP, horizon_ms=self.horizon_ms, slices=slices,
                            guard_bps=self.guard_bps)  # fmt: skip
            return spec, "rule 4: within the share of the horizon's expected volume"
        spec = AlgoSpec(algo=Algo.POV, participation=self.pov_share, guard_bps=self.guard_bps)
        return spec, "rule 5: larger than the share of the horizon's volume"


def liquidity_of(
    side_is_buy: bool,
    bids: list[tuple[Decimal, Decimal]],
    asks: list[tuple[Decimal, Decimal]],
    guard_bps: Decimal,
    volume_per_ms: Decimal,
) -> Liquidity:
    """Read :class:`Liquidity` from a book (levels best first) for a buy (``side_is_buy``) or a
    sell, with the recent volume per millisecond.

    Raises
    ------
    UserError
        If either side of the book is empty (no liquidity to read: decide nothing).
    """
    if not bids or not asks:
        raise UserError("execution policy: the book has an empty side")
    bid, ask = bids[0][0], asks[0][0]
    mid = (bid + ask) / 2
    taking, passive = (asks, bids) if side_is_buy else (bids, asks)
    limit = mid * (1 + guard_bps / BPS) if side_is_buy else mid * (1 - guard_bps / BPS)
    depth = sum((q for p, q in taking if (p <= limit if side_is_buy else p >= limit)), Decimal(0))
    return Liquidity(
        spread_bps=(ask - bid) / mid * BPS,
        depth_within_guard=depth,
        best_passive_size=passive[0][1],
        best_taking_size=taking[0][1],
        volume_per_ms=volume_per_ms,
    )
