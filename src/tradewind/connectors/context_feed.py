"""Market context across venues, polled over REST: each venue's quote, 24-hour volume, funding
rate and open interest of the same markets, gathered into one
:class:`~tradewind.core.market_context.MarketContext` per symbol and poll.

Every venue of the config (:class:`~.source_config.ContextVenueConfig`, any exchange ccxt
supports) is asked at once, each with its own async client, every ``period_s``:

- ``fetch_ticker``: best bid and ask, and the 24-hour quote volume;
- for a perpetual (a ccxt ``swap`` market) also ``fetch_funding_rate`` (the current rate and the
  next funding time) and ``fetch_open_interest`` (in base units).

Price aggregators (:mod:`.aggregators`: CoinGecko, CryptoCompare) are asked at the same time:
each gives an entry with its ``price`` (it quotes no book), and the first that publishes it gives
the context's BTC dominance.

A venue that fails to answer (or does not list the market) gives a
:class:`~tradewind.core.market_context.VenueContext` with only its ``error`` set, and the others
stand: context is advisory, one venue's outage must not silence the rest. A venue's values are
what it said at the poll; nothing is carried over from an earlier poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from tradewind.connectors.aggregators import Aggregator, AggregatorError
from tradewind.connectors.client import create_async_client
from tradewind.connectors.market_feed import wall_ms
from tradewind.connectors.source_config import AggregatorConfig, ContextVenueConfig
from tradewind.core.errors import UserError
from tradewind.core.market_context import MarketContext, VenueContext
from tradewind.core.money import to_decimal

_log = logging.getLogger(__name__)


class ContextFeed:
    """Poll ``venues`` for the context of ``symbols`` (canonical) every ``period_s``.

    Parameters
    ----------
    venues
        The venues polled; each maps canonical symbols to its own.
    symbols
        Canonical symbols.
    period_s
        Seconds between polls (:meth:`start`); :meth:`poll` polls once, now.
    clients
        Async ccxt clients by venue name (made from the venue's exchange config when absent);
        the feed closes every client when it stops.
    clock
        This machine's clock in ms (receive stamps).
    aggregators
        Price aggregators asked with the venues (opened here, closed when the feed stops).
    """

    def __init__(
        self,
        venues: Sequence[ContextVenueConfig],
        symbols: Sequence[str],
        *,
        period_s: float = 60.0,
        clients: Mapping[str, Any] | None = None,
        clock: Callable[[], int] = wall_ms,
        aggregators: Sequence[AggregatorConfig] = (),
    ) -> None:
        if not venues and not aggregators:
            raise UserError("market context needs at least one venue or aggregator")
        if not symbols:
            raise UserError("market context needs at least one symbol")
        if period_s <= 0:
            raise UserError(f"the context poll period must be > 0 s, got {period_s}")
        self.venues = list(venues)
        self.symbols = tuple(symbols)
        self.period_s = period_s
        given = dict(clients or {})
        self.clients = {v.name: given.get(v.name) or create_async_client(v.exchange)
                        for v in self.venues}  # fmt: skip
        self.aggregators = [Aggregator(a) for a in aggregators]
        self._clock = clock
        self._loaded: set[str] = set()
        self.events: asyncio.Queue[MarketContext] = asyncio.Queue()
        self.latest: dict[str, MarketContext] = {}
        """The last context of each symbol."""
        self._task: asyncio.Task[None] | None = None

    async def poll(self) -> dict[str, MarketContext]:
        """Ask every venue now; return (and queue on :attr:`events`) one context per symbol."""
        asked = [self._venue(v, s) for s in self.symbols for v in self.venues]
        asked += [self._aggregated(a, s) for s in self.symbols for a in self.aggregators]
        answers, dominance = await asyncio.gather(asyncio.gather(*asked), self._dominance())
        now = self._clock()
        out: dict[str, MarketContext] = {}
        for symbol in self.symbols:
            mine = tuple(a for a in answers if a.symbol == symbol)
            context = MarketContext(symbol, mine, now, dominance)
            out[symbol] = context
            self.latest[symbol] = context
            self.events.put_nowait(context)
        return out

    async def _venue(self, venue: ContextVenueConfig, symbol: str) -> VenueContext:
        client = self.clients[venue.name]
        market_symbol = venue.venue_symbol(symbol)
        try:
            if venue.name not in self._loaded:
                await client.load_markets()
                self._loaded.add(venue.name)
            if market_symbol not in client.markets:
                raise UserError(f"{venue.name} does not list {market_symbol}")
            ticker = await client.fetch_ticker(market_symbol)
            funding: dict[str, Any] = {}
            interest: dict[str, Any] = {}
            if client.markets[market_symbol].get("swap"):
                funding, interest = await asyncio.gather(
                    client.fetch_funding_rate(market_symbol),
                    client.fetch_open_interest(market_symbol),
                )  # fmt: skip
        except Exception as error:  # ccxt's network and exchange errors alike: advisory data
            detail = f"{type(error).__name__}: {error}"
            _log.warning("context venue %s, %s: %s", venue.name, market_symbol, detail)
            return VenueContext(venue.name, symbol, received_ms=self._clock(), error=detail)
        next_ms = funding.get("nextFundingTimestamp") or funding.get("fundingTimestamp")
        return VenueContext(
            venue.name, symbol, bid=_decimal(ticker.get("bid")), ask=_decimal(ticker.get("ask")),
            volume_24h=_decimal(ticker.get("quoteVolume")),
            funding_rate=_decimal(funding.get("fundingRate")),
            next_funding_ms=int(next_ms) if next_ms else None,
            open_interest=_decimal(interest.get("openInterestAmount")),
            received_ms=self._clock(),
        )  # fmt: skip

    async def _aggregated(self, aggregator: Aggregator, symbol: str) -> VenueContext:
        try:
            price = await aggregator.price(symbol)
        except (AggregatorError, UserError) as error:
            _log.warning("aggregator %s, %s: %s", aggregator.name, symbol, error)
            return VenueContext(aggregator.name, symbol, received_ms=self._clock(),
                                error=str(error))  # fmt: skip
        return VenueContext(aggregator.name, symbol, price=price, received_ms=self._clock())

    async def _dominance(self) -> Decimal | None:
        for aggregator in self.aggregators:
            try:
                share = await aggregator.btc_dominance()
            except AggregatorError as error:
                _log.warning("aggregator %s: BTC dominance: %s", aggregator.name, error)
                continue
            if share is not None:
                return share
        return None

    async def start(self) -> None:
        """Poll now and then every ``period_s`` in a task (a failed poll is logged, the next one
        runs)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="context feed")

    async def _run(self) -> None:
        while True:
            try:
                await self.poll()
            except Exception:
                _log.exception("market context poll failed")
            await asyncio.sleep(self.period_s)

    async def stop(self) -> None:
        """Stop polling and close every venue's client."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                await client.close()
        for aggregator in self.aggregators:
            await aggregator.close()

    async def __aenter__(self) -> ContextFeed:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _decimal(value: object) -> Decimal | None:
    return None if value is None else to_decimal(value)
