"""REST candles for the live feed: the warm-up before the first decision and the backfills after
reconnects and holes, read raw (exact decimals) through the exchange's own candle endpoint
(:meth:`~.stream_protocols.StreamProtocol.kline_page`).

Every request spends its weight from the feed's :class:`~.rate_budget.RateBudget` first. A
transient failure (5xx, timeout, dropped connection, 429: :func:`~.errors.classify`) is retried
after an exponential, jittered wait, at most ``retries`` times; then the error goes up and the feed
tries again at its next reconnect, holding every bar behind the gap meanwhile. REST rows carry no
exchange time of their own: their events take the receive time for both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from tradewind.connectors.backoff import Backoff
from tradewind.connectors.binance_streams import rest_kline
from tradewind.connectors.candles import KlineUpdate
from tradewind.connectors.errors import ErrorClass, classify
from tradewind.connectors.rate_budget import RateBudget
from tradewind.connectors.stream_protocols import BinanceProtocol, StreamProtocol
from tradewind.core.timeframe import Timeframe

_log = logging.getLogger(__name__)


class CandleHistory:
    """Raw kline pages of one ccxt client.

    Parameters
    ----------
    client
        The ccxt (async) client.
    budget
        Weight budget for every request.
    clock
        This machine's clock in ms.
    retries
        Retries of a transient failure per request.
    protocol
        The exchange's candle endpoint (Binance's by default).
    """

    def __init__(
        self,
        client: Any,
        budget: RateBudget,
        clock: Callable[[], int],
        *,
        retries: int = 4,
        backoff: Backoff | None = None,
        protocol: StreamProtocol | None = None,
    ) -> None:
        self.client = client
        self.protocol = protocol or BinanceProtocol()
        self.budget = budget
        self.clock = clock
        self.retries = retries
        self._backoff = backoff or Backoff(base_s=0.2, cap_s=5.0)
        self.requests = 0
        self.retried = 0

    def _kind(self, symbol: str) -> tuple[str, str]:
        market = self.client.market(symbol)
        return ("spot" if market.get("spot") else "linear"), str(market["id"])

    async def page(
        self,
        symbol: str,
        timeframe: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
    ) -> list[KlineUpdate]:
        """Return one page of klines (oldest first), at most the exchange's page size."""
        market_type, market_id = self._kind(symbol)
        page = self.protocol.page_limit[market_type]
        attempt = 0
        while True:
            await self.budget.acquire(self.protocol.page_weight[market_type])
            self.requests += 1
            try:
                rows = await self.protocol.kline_page(
                    self.client, market_type, market_id, timeframe, start_ms=start_ms,
                    end_ms=end_ms, limit=min(limit or page, page),
                )  # fmt: skip
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if classify(exc) is not ErrorClass.RETRYABLE or attempt >= self.retries:
                    raise
                attempt += 1
                self.retried += 1
                wait = self._backoff.next_delay_s()
                _log.info("%s %s klines: %s; retry %d in %.2f s", symbol, timeframe,
                          type(exc).__name__, attempt, wait)  # fmt: skip
                await asyncio.sleep(wait)
        self._backoff.reset()
        received = self.clock()
        return [rest_kline(row, received, received) for row in rows]

    async def latest(self, symbol: str, timeframe: str, count: int) -> list[KlineUpdate]:
        """Return the latest ``count`` klines (the last one is the bar still forming)."""
        market_type, _ = self._kind(symbol)
        rows: list[KlineUpdate] = []
        end: int | None = None
        while len(rows) < count:
            want = min(count - len(rows), self.protocol.page_limit[market_type])
            page = await self.page(symbol, timeframe, end_ms=end, limit=want)
            rows = page + rows
            if len(page) < want or not page:
                break
            end = page[0].open_ms - 1
        return rows[-count:] if count else []

    async def since(
        self, symbol: str, timeframe: str, start_ms: int
    ) -> AsyncIterator[tuple[list[KlineUpdate], bool]]:
        """Yield pages from ``start_ms`` to the present; the flag marks the last page (whose last
        row is the bar still forming)."""
        market_type, _ = self._kind(symbol)
        step = Timeframe.parse(timeframe).ms
        cursor = start_ms
        while True:
            page = await self.page(symbol, timeframe, start_ms=cursor)
            last = len(page) < self.protocol.page_limit[market_type]
            yield page, last
            if last or not page:
                return
            cursor = page[-1].open_ms + step

    async def range(
        self, symbol: str, timeframe: str, start_ms: int, end_ms: int
    ) -> list[KlineUpdate]:
        """Return the klines opened in ``[start_ms, end_ms)`` (all closed: a later bar exists)."""
        market_type, _ = self._kind(symbol)
        step = Timeframe.parse(timeframe).ms
        rows: list[KlineUpdate] = []
        cursor = start_ms
        while cursor < end_ms:
            page = await self.page(symbol, timeframe, start_ms=cursor, end_ms=end_ms - 1)
            rows += [r for r in page if start_ms <= r.open_ms < end_ms]
            if len(page) < self.protocol.page_limit[market_type] or not page:
                break
            cursor = page[-1].open_ms + step
        return rows
