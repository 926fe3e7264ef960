"""L2 order books and order-book analytics.

- :mod:`~tradewind.book.book`: the array-backed L2 book (snapshot + deltas, resync reporting);
  :mod:`~tradewind.book.sequencing`: each exchange's update-id rule.
- :mod:`~tradewind.book.readers`: recorded Bybit, Binance, tardis and Freqtrade files, as core
  records or as arrays (:class:`~tradewind.book.stream.DecodedBookStream`,
  :class:`~tradewind.book.tape.TradeTape`).
- Analytics: :mod:`~tradewind.book.prices` (spread, mid, microprice, weighted mid, imbalance),
  :mod:`~tradewind.book.ofi`, :mod:`~tradewind.book.impact` (VWAP to size, slippage, depth bands),
  :mod:`~tradewind.book.liquidity`, :mod:`~tradewind.book.walls`, :mod:`~tradewind.book.levels`
  (support/resistance, entry/exit), :mod:`~tradewind.book.flow` (whales, icebergs, CVD, volume per
  bar, footprint) and :mod:`~tradewind.book.features` (causal per-bar features).
"""

from tradewind.book.book import OrderBook, TopLevels, UpdateStatus, replay
from tradewind.book.sequencing import (
    BinanceFuturesSequencer,
    BinanceSpotSequencer,
    BybitSequencer,
    Sequencer,
    UnsequencedSequencer,
    sequencer_for,
)
from tradewind.book.stream import DecodedBookStream
from tradewind.book.tape import QuoteTape, TradeTape

__all__ = [
    "BinanceFuturesSequencer",
    "BinanceSpotSequencer",
    "BybitSequencer",
    "DecodedBookStream",
    "OrderBook",
    "QuoteTape",
    "Sequencer",
    "TopLevels",
    "TradeTape",
    "UnsequencedSequencer",
    "UpdateStatus",
    "replay",
    "sequencer_for",
]
