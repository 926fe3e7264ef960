"""The trade, book, funding and open-interest needs of a session that reads several market-data
sources: the ``[[sources.trades]]`` and ``[[sources.books]]`` of its config, each a
:class:`~tradewind.connectors.failover.SourceSet` of its own (hot standbys, failover, switch
back), whose active venue's prints and book updates go to the strategies' ``on_trade`` and
``on_book`` hooks (and the book to the parents of the symbol) through the Node; and the
``[[sources.funding]]`` and ``[[sources.open_interest]]``, each a
:class:`~tradewind.connectors.polled_sources.PolledSourceSet` (polled over REST, failover in the
same poll), whose readings the session keeps on the symbol's market context
(``ctx.market_context(symbol).reading("funding")``).

The candle need stays the session's own feed (its bars drive the instants); these sets stream
beside it and are drained between its events, so a print reaches the strategies within the
session loop's wait (0.2 s at most) of its arrival. The Node's clock moves to each print's and
book's exchange time (never backwards), as in a backtest fed trades and books.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tradewind.book.book import OrderBook
from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.failover import SourceSet
from tradewind.connectors.market_feed import FeedSpec
from tradewind.connectors.polled_sources import POLLED_NEEDS, PolledSourceSet
from tradewind.connectors.source_config import SourcesConfig
from tradewind.connectors.sources import open_sources
from tradewind.core.market_context import ContextReading
from tradewind.core.market_events import BookUpdated, TradePrinted
from tradewind.engine.node import Node

_KINDS = {
    # A trade source's health is judged on every connection: its book ticker keeps talking on a
    # quiet market, and it feeds the cross-check.
    "trades": frozenset({StreamKind.TRADE, StreamKind.TICKER}),
    "books": frozenset({StreamKind.DEPTH}),
}


class MarketNeeds:
    """The trade and book source sets and the polled funding and open-interest sets of
    ``config`` for ``symbols`` (canonical); a need without sources is not opened.

    Parameters
    ----------
    config
        The session's ``[sources]``.
    symbols
        The session's symbols.
    book_levels
        Levels of each L2 book (Binance's snapshot limit; Bybit's 50 or 200).
    """

    def __init__(self, config: SourcesConfig, symbols: Sequence[str], *,
                 book_levels: int = 1000) -> None:  # fmt: skip
        self.sets: dict[str, SourceSet] = {}
        for need, kinds in _KINDS.items():
            if getattr(config, need):
                spec = FeedSpec(symbols=tuple(symbols), kinds=kinds, warmup_bars=0,
                                snapshot_limit=book_levels)  # fmt: skip
                self.sets[need] = SourceSet(open_sources(config, spec, need=need), config,
                                            need=need)  # fmt: skip
        self.polled: dict[str, PolledSourceSet] = {
            need: PolledSourceSet.from_config(config, symbols, need)
            for need in POLLED_NEEDS if getattr(config, need)
        }  # fmt: skip
        self.readings = 0
        """Funding and open-interest readings handed on."""
        self.trades = 0
        """Prints handed to the Node."""
        self.books = 0
        """Book updates handed to the Node."""
        self.book_hook: Callable[[BookUpdated, OrderBook], None] | None = None
        """Where book updates go instead of ``on_book`` when set: a session whose fill model
        walks the book feeds them to its driver, which calls ``on_book`` at the book's place
        in time (a symbol's book takes one path, never both)."""

    def __bool__(self) -> bool:
        return bool(self.sets or self.polled)

    @property
    def all_sets(self) -> list[SourceSet | PolledSourceSet]:
        """Every set, streamed and polled (their switches and active venues are metrics)."""
        return [*self.sets.values(), *self.polled.values()]

    async def start(self, ready_timeout_s: float = 60.0) -> None:
        """Start every set (their sources stream at once; the polled sets poll now)."""
        for sources in self.sets.values():
            await sources.start(ready_timeout_s=ready_timeout_s)
        for polled in self.polled.values():
            await polled.start()

    async def stop(self) -> None:
        """Stop every set and close its clients."""
        for sources in self.sets.values():
            await sources.stop()
        for polled in self.polled.values():
            await polled.stop()

    def drain(self, node: Node, other: Callable[[Any], None],
              reading: Callable[[ContextReading], None]) -> None:  # fmt: skip
        """Hand what the sets have queued to ``node``: prints to ``on_trade``, book updates (the
        active venue's book) to ``on_book``; the polled sets' readings to ``reading``; switches,
        cross-check findings and stream alerts to ``other``."""
        for polled in self.polled.values():
            while not polled.events.empty():
                event = polled.events.get_nowait()
                if isinstance(event, ContextReading):
                    self.readings += 1
                    reading(event)
                else:
                    other(event)
        for sources in self.sets.values():
            while not sources.events.empty():
                event = sources.events.get_nowait()
                if isinstance(event, TradePrinted):
                    self.trades += 1
                    node.on_trade(event.trade.symbol, event.trade)
                elif isinstance(event, BookUpdated):
                    self.books += 1
                    if self.book_hook is not None:
                        self.book_hook(event, sources.book(event.symbol))
                    else:
                        node.on_book(event.symbol, sources.book(event.symbol))
                else:
                    other(event)
