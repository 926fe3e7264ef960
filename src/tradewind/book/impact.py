"""Walking the book: VWAP to size, expected slippage, market impact, depth bands.

A market order of a given size is assumed to consume the visible levels from the touch outwards at
their displayed prices, with no hidden liquidity and no refills while it executes. That is the
usual first-order estimate: real fills can be better (icebergs, price improvement) or worse
(latency, others trading first).
"""

from __future__ import annotations

from dataclasses import dataclass

from tradewind.book import _ladder
from tradewind.book.book import ASK, BID, OrderBook
from tradewind.core.errors import UserError
from tradewind.core.records import Side

DEFAULT_BANDS_BPS = (10.0, 25.0, 50.0, 100.0)


@dataclass(frozen=True, slots=True)
class FillEstimate:
    """What a market order of the requested size would get from the visible book.

    Attributes
    ----------
    side
        The order's side (a buy walks the asks).
    requested
        Requested size (base units, or quote notional if ``by_notional``).
    filled, notional
        Base size and quote notional the visible book can fill.
    vwap
        Average fill price (NaN if nothing fills).
    worst_price
        Price of the last level touched.
    levels
        Number of levels touched.
    complete
        Whether the visible book covers the whole request.
    slippage_bps
        Cost of the VWAP against the mid, in bps; positive is worse for the order.
    impact_bps
        Distance of the worst price from the mid, in bps (how far the touch would move).
    """

    side: Side
    requested: float
    filled: float
    notional: float
    vwap: float
    worst_price: float
    levels: int
    complete: bool
    slippage_bps: float
    impact_bps: float


def vwap_to_size(
    book: OrderBook, side: Side, amount: float, *, by_notional: bool = False
) -> FillEstimate:
    """Estimate the fill of a market order of ``amount`` by walking the opposite side.

    Parameters
    ----------
    book
        The current book.
    side
        BUY consumes asks, SELL consumes bids.
    amount
        Order size in base units, or in quote currency when ``by_notional`` is True.

    Raises
    ------
    UserError
        If ``amount`` is not positive.
    """
    if not amount > 0:
        raise UserError(f"order size must be positive, got {amount!r}")
    row = ASK if side is Side.BUY else BID
    filled, notional, last, used = _ladder.walk(
        book._px, book._sz, book._n, row, float(amount), by_notional
    )
    mid = book.mid()
    vwap = notional / filled if filled > 0 else float("nan")
    sign = 1.0 if side is Side.BUY else -1.0
    got = notional if by_notional else filled
    return FillEstimate(
        side=side,
        requested=float(amount),
        filled=filled,
        notional=notional,
        vwap=vwap,
        worst_price=float(last),
        levels=int(used),
        complete=got >= amount * (1 - 1e-12),
        slippage_bps=sign * (vwap - mid) / mid * 1e4,
        impact_bps=sign * (last - mid) / mid * 1e4,
    )


def expected_slippage_bps(
    book: OrderBook, side: Side, amount: float, *, by_notional: bool = False
) -> float:
    """VWAP cost of a market order of ``amount`` against the mid, in bps (NaN if too thin)."""
    estimate = vwap_to_size(book, side, amount, by_notional=by_notional)
    return estimate.slippage_bps if estimate.complete else float("nan")


def depth_bands(
    book: OrderBook, bands_bps: tuple[float, ...] = DEFAULT_BANDS_BPS
) -> dict[float, tuple[float, float]]:
    """Bid and ask size within each band (bps of the mid), e.g. ``{10.0: (bid, ask), ...}``."""
    return {float(b): book.depth_within_bps(b) for b in bands_bps}
