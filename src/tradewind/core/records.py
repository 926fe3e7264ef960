"""Immutable market records for streams and callbacks.

In backtests, bars stay as NumPy arrays; these records exist where one event happens at a time (a
live stream, a strategy callback, a recorded book replay). Timestamps are UTC milliseconds since the
epoch. Prices and sizes are ``Decimal``, exactly as the exchange sent them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tradewind.core.timeframe import Timeframe


class Side(StrEnum):
    """Side of an order or of the aggressor of a trade."""

    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        """The other side."""
        return Side.SELL if self is Side.BUY else Side.BUY


class BookSide(StrEnum):
    """Side of an order book."""

    BID = "bid"
    ASK = "ask"


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV candle. ``ts`` is the open time; the bar is known at ``ts + timeframe``."""

    ts: int
    timeframe: Timeframe
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    symbol: str = ""

    @property
    def close_time(self) -> int:
        """The moment this bar is complete and may be acted on."""
        return self.timeframe.close_time(self.ts)


@dataclass(frozen=True, slots=True)
class Trade:
    """One public trade. ``side`` is the aggressor's side (a buy lifted the ask)."""

    ts: int
    symbol: str
    price: Decimal
    amount: Decimal
    side: Side
    trade_id: str = ""


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and ask at one moment."""

    ts: int
    symbol: str
    bid: Decimal
    bid_size: Decimal
    ask: Decimal
    ask_size: Decimal

    @property
    def mid(self) -> Decimal:
        """Midpoint of bid and ask."""
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True)
class BookDelta:
    """A change of one price level of an L2 book.

    ``size`` is the new absolute size at ``price``; zero deletes the level (the rule Binance, Bybit
    and tardis use). ``is_snapshot`` marks levels that belong to a snapshot: the book is cleared
    before the first of them. ``sequence`` is the exchange's update id of the message the level came
    in (0 where the source has none) and ``is_last`` marks the last level of that message, so a
    consumer can act once per exchange message.
    """

    ts: int
    symbol: str
    side: BookSide
    price: Decimal
    size: Decimal
    sequence: int = 0
    is_snapshot: bool = False
    is_last: bool = True
