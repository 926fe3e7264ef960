"""What differs between exchanges' public streams, for :class:`~.market_feed.MarketFeed`: how a
stream is named and subscribed, how a raw message is routed to its stream and parsed, and how a
page of REST candles is read.

The feed does the rest the same way for every exchange (connections and their reconnects, the
watchdog, warm-up and backfill, the candle tracker). :class:`BinanceProtocol` speaks Binance's
streams (:mod:`.binance_streams`), :class:`~.bybit_streams.BybitProtocol` Bybit's v5 public
streams; :func:`protocol_for` picks one by the ccxt exchange id.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from tradewind.connectors import binance_streams as bs
from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.candles import KlineUpdate
from tradewind.core.errors import UserError
from tradewind.core.market_events import MarketEvent

Route = tuple[StreamKind, str, str | None]
"""A market message's (stream kind, exchange market id, unified timeframe or None)."""

RawKline = list[Any]
"""One REST candle as ``[open ms, open, high, low, close, volume]`` (exact decimal text)."""


class StreamProtocol(ABC):
    """One exchange's public streams and REST candles as the market feed reads them.

    Attributes
    ----------
    exchange
        The ccxt exchange id.
    kinds
        The stream kinds this protocol can stream.
    page_limit
        Most candles one REST page returns, by market type (``spot``, ``linear``).
    page_weight
        Request weight of one REST candle page, by market type.
    """

    exchange: str
    kinds: frozenset[StreamKind]
    page_limit: ClassVar[dict[str, int]]
    page_weight: ClassVar[dict[str, int]]

    @abstractmethod
    def stream_name(self, market_id: str, kind: StreamKind, timeframe: str | None) -> str:
        """Return the exchange's name of a stream (the subscription's argument)."""

    @abstractmethod
    def url(self, client: Any, market_type: str, kind: StreamKind, message_hash: str) -> str:
        """Return the WebSocket URL of one connection (each group has its own)."""

    @abstractmethod
    def request_id(self, client: Any, url: str) -> Any:
        """Return the id of the next request on ``url``."""

    @abstractmethod
    def subscribe_request(self, streams: list[str], request_id: Any) -> dict[str, Any]:
        """Return the frame that subscribes ``streams``."""

    def unsubscribe_request(self, streams: list[str], request_id: Any) -> dict[str, Any]:
        """Return the frame that unsubscribes ``streams``.

        Raises
        ------
        UserError
            For a protocol that never unsubscribes.
        """
        raise UserError(f"{self.exchange} streams are not unsubscribed here")

    @abstractmethod
    def is_ack(self, message: Any, request_id: Any) -> bool:
        """Tell whether ``message`` acknowledges the subscription ``request_id``."""

    @abstractmethod
    def route(self, message: Any) -> Route | None:
        """Return the stream of a market message; None for anything else (acks, pongs)."""

    @abstractmethod
    def klines(self, message: dict[str, Any], received_ms: int) -> list[KlineUpdate]:
        """Return the candle updates of a kline message, oldest first."""

    @abstractmethod
    def events(
        self, kind: StreamKind, message: dict[str, Any], symbol: str, received_ms: int
    ) -> list[MarketEvent]:
        """Return the events of a trade, ticker or mark-price message of ``symbol``."""

    @abstractmethod
    async def kline_page(
        self,
        client: Any,
        market_type: str,
        market_id: str,
        timeframe: str,
        *,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
    ) -> list[RawKline]:
        """Request one page of candles (oldest first) opened in ``[start_ms, end_ms]``; the
        latest ``limit`` of them up to ``end_ms`` when ``start_ms`` is None."""

    def check_kinds(self, kinds: frozenset[StreamKind]) -> None:
        """Raise a one-line error for kinds this protocol cannot stream.

        Raises
        ------
        UserError
            Naming the kinds that are not streamed.
        """
        missing = kinds - self.kinds
        if missing:
            raise UserError(
                f"{self.exchange} streams {', '.join(sorted(k.value for k in self.kinds))} "
                f"here, not {', '.join(sorted(k.value for k in missing))}"
            )


class BinanceProtocol(StreamProtocol):
    """Binance's raw streams (spot and USDT-M) and its ``klines`` endpoints."""

    exchange = "binance"
    kinds = frozenset(StreamKind)
    page_limit: ClassVar[dict[str, int]] = {"spot": 1000, "linear": 1500}
    page_weight: ClassVar[dict[str, int]] = {"spot": 2, "linear": 5}

    def stream_name(self, market_id: str, kind: StreamKind, timeframe: str | None) -> str:
        """Return Binance's stream name (``xrpusdt@kline_1m`` ...)."""
        return bs.stream_name(market_id, kind, timeframe)

    def url(self, client: Any, market_type: str, kind: StreamKind, message_hash: str) -> str:
        """Return the URL of ccxt's stream index for ``message_hash`` (its own connection)."""
        base = client.get_ws_url(market_type, bs.ws_category(kind))
        return f"{base}/{client.stream(market_type, message_hash)}"

    def request_id(self, client: Any, url: str) -> Any:
        """Return ccxt's next request id of ``url``."""
        return client.request_id(url)

    def subscribe_request(self, streams: list[str], request_id: Any) -> dict[str, Any]:
        """Return the ``SUBSCRIBE`` frame."""
        return {"method": "SUBSCRIBE", "params": streams, "id": request_id}

    def is_ack(self, message: Any, request_id: Any) -> bool:
        """Tell whether ``message`` is the ``{"result": null, "id": ...}`` of the request."""
        return (isinstance(message, dict) and "result" in message
                and str(message.get("id")) == str(request_id))  # fmt: skip

    def route(self, message: Any) -> Route | None:
        """Return the stream of a raw Binance message (its ``e``, ``s`` and ``k.i``)."""
        kind = bs.message_kind(message)
        if kind is None:
            return None
        timeframe = str(message["k"]["i"]) if kind is StreamKind.KLINE else None
        return kind, str(message["s"]), timeframe

    def klines(self, message: dict[str, Any], received_ms: int) -> list[KlineUpdate]:
        """Return the one candle update of a ``kline`` message."""
        return [bs.kline_update(message, received_ms)[2]]

    def events(
        self, kind: StreamKind, message: dict[str, Any], symbol: str, received_ms: int
    ) -> list[MarketEvent]:
        """Return the event of a trade, book ticker, 24-hour ticker or mark-price message."""
        parse = {
            StreamKind.TRADE: bs.trade_printed,
            StreamKind.TICKER: bs.ticker_updated,
            StreamKind.TICKER_24H: bs.ticker_24h_updated,
            StreamKind.MARK_PRICE: bs.mark_price_updated,
        }[kind]
        return [parse(message, symbol, received_ms)]

    async def kline_page(
        self,
        client: Any,
        market_type: str,
        market_id: str,
        timeframe: str,
        *,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
    ) -> list[RawKline]:
        """Request ``klines`` (spot) or ``fapi klines`` (USDT-M), oldest first."""
        params: dict[str, Any] = {"symbol": market_id, "interval": timeframe, "limit": limit}
        if start_ms is not None:
            params["startTime"] = start_ms
        if end_ms is not None:
            params["endTime"] = end_ms
        method = client.publicGetKlines if market_type == "spot" else client.fapiPublicGetKlines
        rows = await method(params)
        return [row[:6] for row in rows]


def protocol_for(exchange: str, *, book_levels: int = 1000) -> StreamProtocol:
    """Return a fresh protocol of the ccxt exchange id ``exchange`` (one per feed: a protocol
    may keep per-stream state, such as Bybit's top of book); ``book_levels`` is the depth of
    the L2 books the feed keeps where the stream names it (Bybit's ``orderbook.50``/``200``).

    Raises
    ------
    UserError
        For an exchange whose streams are not read.
    """
    from tradewind.connectors.bybit_streams import BybitProtocol  # it builds on this module

    if exchange == "bybit":
        return BybitProtocol(book_levels=book_levels)
    if exchange == "binance":
        return BinanceProtocol()
    raise UserError(f"the market feed streams binance, bybit, not {exchange!r}")


STREAMED_EXCHANGES = frozenset({"binance", "bybit"})
"""The exchanges :func:`protocol_for` knows."""
