"""Replay a decoded stream and keep the best levels after every message, as arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradewind.book.book import OrderBook, UpdateStatus
from tradewind.book.sequencing import Sequencer
from tradewind.book.stream import DecodedBookStream


@dataclass(frozen=True, slots=True)
class TopLevelsSeries:
    """Best ``k`` levels after each message.

    ``bid_prices`` etc. are ``float64[m, k]`` best first; a missing level has NaN price and 0 size.
    ``valid`` is False after messages that left the book needing a resync (those rows are NaN).
    ``depth_bps`` maps a band in basis points to ``float64[m, 2]`` bid/ask size within it.
    """

    ts: np.ndarray
    valid: np.ndarray
    bid_prices: np.ndarray
    bid_sizes: np.ndarray
    ask_prices: np.ndarray
    ask_sizes: np.ndarray
    depth_bps: dict[float, np.ndarray]

    @property
    def best_bid(self) -> np.ndarray:
        """``float64[m]`` best bid."""
        return self.bid_prices[:, 0]

    @property
    def best_ask(self) -> np.ndarray:
        """``float64[m]`` best ask."""
        return self.ask_prices[:, 0]


def top_levels_series(
    stream: DecodedBookStream,
    k: int = 5,
    *,
    sequencer: Sequencer | None = None,
    depth_bands_bps: tuple[float, ...] = (10.0, 25.0, 50.0, 100.0),
) -> TopLevelsSeries:
    """Replay ``stream`` into a fresh book and record the best ``k`` levels after each message.

    Each row uses only the messages up to and including its own (causal).
    """
    m = stream.message_count
    bp = np.full((m, k), np.nan)
    ap = np.full((m, k), np.nan)
    bs = np.zeros((m, k))
    as_ = np.zeros((m, k))
    valid = np.zeros(m, dtype=np.bool_)
    depth = {float(b): np.full((m, 2), np.nan) for b in depth_bands_bps}
    book = OrderBook(stream.symbol, sequencer=sequencer)
    for i in range(m):
        status = book.apply_message(stream, i)
        if book.needs_resync or status is UpdateStatus.RESYNC_NEEDED:
            continue
        valid[i] = True
        top = book.top(k)
        nb, na = len(top.bid_prices), len(top.ask_prices)
        bp[i, :nb] = top.bid_prices
        bs[i, :nb] = top.bid_sizes
        ap[i, :na] = top.ask_prices
        as_[i, :na] = top.ask_sizes
        for band, out in depth.items():
            out[i] = book.depth_within_bps(band)
    return TopLevelsSeries(stream.msg_ts.copy(), valid, bp, bs, ap, as_, depth)
