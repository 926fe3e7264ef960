"""What a live market-data feed tells the engine: closed and revised bars, trades, book updates,
tickers, mark prices and funding, and the health of each stream.

Every event carries two times, both UTC ms: ``exchange_ms``, the exchange's own stamp of the
message (Binance ``E``), and ``received_ms``, this machine's clock when the message arrived. The
engine decides on exchange time; the difference is latency, which the drift report explains.

A bar is *closed* only on the exchange's word (its closed flag, the next bar's first update, or a
REST page that lists a later bar), never by this machine's clock alone. A bar the exchange changes
after it closed is reported as :class:`BarRevised`, not silently replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tradewind.core.records import Bar, Trade


class BarSource(StrEnum):
    """How a closed bar reached the feed."""

    STREAM = "stream"
    """The WebSocket kline stream."""
    WARMUP = "warmup"
    """The REST history loaded before the first decision."""
    BACKFILL = "backfill"
    """The REST history fetched after a reconnect, for bars closed while the stream was down."""


@dataclass(frozen=True, slots=True)
class BarClosed:
    """A bar the exchange has closed. ``bar.ts`` is its open time; each (symbol, timeframe,
    open time) is announced once.

    ``venue`` names the data source the bar came from when several sources feed one stream
    (:class:`~tradewind.connectors.failover.SourceSet`; empty from a single feed), and
    ``secondary`` marks a bar taken from a source other than the first one configured.
    """

    bar: Bar
    source: BarSource
    exchange_ms: int
    received_ms: int
    venue: str = ""
    secondary: bool = False


@dataclass(frozen=True, slots=True)
class BarRevised:
    """A bar that changed after it was announced closed: ``previous`` is what was announced."""

    bar: Bar
    previous: Bar
    exchange_ms: int
    received_ms: int


@dataclass(frozen=True, slots=True)
class TradePrinted:
    """A public trade."""

    trade: Trade
    exchange_ms: int
    received_ms: int
    venue: str = ""
    secondary: bool = False


@dataclass(frozen=True, slots=True)
class BookUpdated:
    """The local L2 book of ``symbol`` now reflects exchange update id ``update_id``.

    ``resynced`` marks the first update after a snapshot (the book was rebuilt). The book itself
    is held by the feed (``book(symbol)``); best bid and ask are copied here for convenience.
    """

    symbol: str
    update_id: int
    best_bid: Decimal | None
    best_ask: Decimal | None
    resynced: bool
    exchange_ms: int
    received_ms: int
    venue: str = ""
    secondary: bool = False


@dataclass(frozen=True, slots=True)
class TickerUpdated:
    """Best bid and ask (and their sizes) of ``symbol``."""

    symbol: str
    bid: Decimal
    bid_size: Decimal
    ask: Decimal
    ask_size: Decimal
    exchange_ms: int
    received_ms: int


@dataclass(frozen=True, slots=True)
class Ticker24hUpdated:
    """The rolling 24-hour ticker of ``symbol``: last price, the window's open, high, low, base
    and quote volume, and best bid/ask where the exchange sends them (spot does, USDT-M not)."""

    symbol: str
    last: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    volume: Decimal
    quote_volume: Decimal
    bid: Decimal | None
    ask: Decimal | None
    exchange_ms: int
    received_ms: int


@dataclass(frozen=True, slots=True)
class MarkPriceUpdated:
    """Mark price, index price and the funding rate to be settled at ``next_funding_ms``
    (perpetuals)."""

    symbol: str
    mark: Decimal
    index: Decimal | None
    funding_rate: Decimal | None
    next_funding_ms: int | None
    exchange_ms: int
    received_ms: int


class StreamState(StrEnum):
    """Health of one stream."""

    STARTING = "starting"
    LIVE = "live"
    STALE = "stale"
    """Silent past its allowance, or disconnected: no new risk on its symbols until fresh."""
    STOPPED = "stopped"


class AlertKind(StrEnum):
    """Why a stream raised an alert."""

    STALE = "stale"
    """Silent for longer than ``max(3 x push interval, 10 s)`` of wall time: restarted."""
    DISCONNECTED = "disconnected"
    """The connection closed or failed; it is being reconnected with backoff."""
    RECONNECTED = "reconnected"
    """Back, after a backfill of what was missed."""
    BOOK_RESYNC = "book_resync"
    """A sequence gap or a crossed book: the book is rebuilt from a fresh snapshot."""
    FRESH = "fresh"
    """Data flows again after a stale spell."""
    BACKFILL_FAILED = "backfill_failed"
    """The REST backfill after a reconnect kept failing; it is retried at the next reconnect."""


@dataclass(frozen=True, slots=True)
class StreamAlert:
    """A change in a stream's health. ``stream`` names it (``XRP/USDT kline 1m``); ``symbols``
    are the markets whose data it carries; ``state`` is the stream's state after the change."""

    stream: str
    symbols: tuple[str, ...]
    kind: AlertKind
    state: StreamState
    detail: str
    received_ms: int


MarketEvent = (
    BarClosed
    | BarRevised
    | TradePrinted
    | BookUpdated
    | TickerUpdated
    | Ticker24hUpdated
    | MarkPriceUpdated
    | StreamAlert
)
"""Everything a market-data feed emits, in the order it happened on this machine."""
