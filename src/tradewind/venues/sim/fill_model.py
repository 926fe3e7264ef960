"""How the simulated venue turns bars into fills: every modelling choice in one frozen config."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tradewind.core.errors import UserError


class FillAt(StrEnum):
    """Where a market order made at a bar's close fills."""

    NEXT_OPEN = "next_open"
    """At the next bar's open: the first price anyone could trade at after the signal."""
    CLOSE = "close"
    """At the signal bar's own close: optimistic, for comparison with tools that do this."""


@dataclass(frozen=True, kw_only=True)
class FillModel:
    """Fill assumptions of the simulated venue.

    Attributes
    ----------
    fill_at
        Where market orders fill (see :class:`FillAt`).
    slippage_bps
        Fixed slippage against the trader on market and stop fills, in basis points.
    volatility_slippage
        Extra slippage as a fraction of the fill bar's high-low range (0.1 = a tenth of the range).
    max_participation
        Largest share of a bar's volume one order may take (0 = no cap); the rest fills on
        later bars. Volume is in base units.
    latency_ms
        An order submitted at t is live at t + latency; it cannot fill on a bar that opened before.
    adverse_first
        When one bar reaches both a stop and a take-profit, assume the stop came first.
    book_walk
        Where an L2 book is fed for the symbol, market orders fill at the VWAP of walking it
        for their size (instead of the bar's open plus slippage); the part beyond the visible
        depth is priced at the last visible level, an optimistic bound that the report states.
    """

    fill_at: FillAt = FillAt.NEXT_OPEN
    slippage_bps: float = 0.0
    volatility_slippage: float = 0.0
    max_participation: float = 0.0
    latency_ms: int = 0
    adverse_first: bool = True
    book_walk: bool = False

    def __post_init__(self) -> None:
        if self.slippage_bps < 0 or self.volatility_slippage < 0:
            raise UserError("slippage cannot be negative")
        if not 0 <= self.max_participation <= 1:
            raise UserError(
                f"max_participation must be within [0, 1], got {self.max_participation}"
            )
        if self.latency_ms < 0:
            raise UserError(f"latency_ms cannot be negative, got {self.latency_ms}")
