"""Bybit's v5 public streams and REST candles as the market feed reads them (a
:class:`~.stream_protocols.StreamProtocol`).

Messages are read raw, as Bybit sends them (decimal strings become ``Decimal`` exactly; ccxt's
own parsing goes through floats and drops the kline's ``confirm`` flag):

=========================  ================  ==================================================
topic                      feed stream kind  fields read
=========================  ================  ==================================================
``kline.{i}.{SYM}``        kline             ``data[]``: ``start open high low close volume
                                             confirm timestamp`` (a closing push carries the
                                             confirmed candle, then the new one)
``orderbook.1.{SYM}``      ticker            ``type`` (snapshot/delta), ``data.b a`` (price,
                                             size; size 0 removes), ``cts`` or ``ts``
``publicTrade.{SYM}``      trade             ``data[]``: ``T p v S i``
``orderbook.{50|200}.      depth             the L2 book: ``snapshot`` then ``delta`` with
{SYM}``                                      consecutive ``u`` (:mod:`.bybit_book`: sequence
                                             checks, resync by resubscribing)
=========================  ================  ==================================================

The best bid and offer come from ``orderbook.1`` because spot's ``tickers`` topic carries no
bid or ask. Every feed connection is its own WebSocket (one per stream kind and market type, as
on Binance): Bybit has one public URL per market type, so each connection's URL carries a
``tradewind`` query naming its kind (Bybit routes on the path), which keeps ccxt's clients (one
per URL) apart. REST candles: ``/v5/market/kline``, newest first, at most 1,000 a page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.bybit_book import book_depth
from tradewind.connectors.candles import KlineUpdate
from tradewind.connectors.stream_protocols import RawKline, Route, StreamProtocol
from tradewind.core.errors import UserError
from tradewind.core.market_events import MarketEvent, TickerUpdated, TradePrinted
from tradewind.core.records import Side, Trade
from tradewind.core.timeframe import Timeframe

INTERVALS = {
    "1m": "1", "3m": "3", "5m": "5", "15m": "15", "30m": "30", "1h": "60", "2h": "120",
    "4h": "240", "6h": "360", "12h": "720", "1d": "D", "1w": "W", "1M": "M",
}  # fmt: skip
"""Unified timeframe -> Bybit's kline interval."""
_UNIFIED = {v: k for k, v in INTERVALS.items()}
_ZERO = Decimal(0)


def interval(timeframe: str) -> str:
    """Return Bybit's interval of ``timeframe``.

    Raises
    ------
    UserError
        For a timeframe Bybit has no candles of.
    """
    found = INTERVALS.get(timeframe)
    if found is None:
        raise UserError(f"bybit has no {timeframe} candles (it has {', '.join(INTERVALS)})")
    return found


class BybitProtocol(StreamProtocol):
    """Bybit's v5 public streams of spot and linear markets: candles, best bid and offer,
    trades and L2 books of ``book_levels`` (50 or fewer: ``orderbook.50``, else
    ``orderbook.200``; see the module docstring)."""

    exchange = "bybit"
    kinds = frozenset({StreamKind.KLINE, StreamKind.TICKER, StreamKind.TRADE, StreamKind.DEPTH})
    page_limit: ClassVar[dict[str, int]] = {"spot": 1000, "linear": 1000}
    page_weight: ClassVar[dict[str, int]] = {"spot": 1, "linear": 1}

    def __init__(self, *, book_levels: int = 200) -> None:
        self._tops: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
        self.book_depth = book_depth(book_levels)

    def stream_name(self, market_id: str, kind: StreamKind, timeframe: str | None) -> str:
        """Return the topic (``kline.5.BTCUSDT``, ``orderbook.1.BTCUSDT``, ``publicTrade...``)."""
        if kind is StreamKind.KLINE:
            if timeframe is None:
                raise ValueError("a kline stream needs a timeframe")
            return f"kline.{interval(timeframe)}.{market_id}"
        if kind is StreamKind.TICKER:
            return f"orderbook.1.{market_id}"
        if kind is StreamKind.TRADE:
            return f"publicTrade.{market_id}"
        if kind is StreamKind.DEPTH:
            return f"orderbook.{self.book_depth}.{market_id}"
        raise ValueError(f"bybit streams no {kind.value} here")

    def url(self, client: Any, market_type: str, kind: StreamKind, message_hash: str) -> str:
        """Return the market type's public URL, its query naming the connection's kind."""
        base = client.implode_hostname(client.urls["api"]["ws"]["public"][market_type])
        return f"{base}?tradewind={kind.value}"

    def request_id(self, client: Any, url: str) -> Any:
        """Return ccxt's next Bybit request id (one sequence for every connection)."""
        return str(client.request_id())

    def subscribe_request(self, streams: list[str], request_id: Any) -> dict[str, Any]:
        """Return the ``subscribe`` frame."""
        return {"op": "subscribe", "args": streams, "req_id": str(request_id)}

    def unsubscribe_request(self, streams: list[str], request_id: Any) -> dict[str, Any]:
        """Return the ``unsubscribe`` frame."""
        return {"op": "unsubscribe", "args": streams, "req_id": str(request_id)}

    def is_ack(self, message: Any, request_id: Any) -> bool:
        """Tell whether ``message`` is the successful answer of the ``subscribe``."""
        return (isinstance(message, dict) and message.get("op") == "subscribe"
                and message.get("success") is True
                and str(message.get("req_id")) == str(request_id))  # fmt: skip

    def route(self, message: Any) -> Route | None:
        """Return the stream of a message by its ``topic``."""
        topic = message.get("topic") if isinstance(message, dict) else None
        if not isinstance(topic, str):
            return None
        parts = topic.split(".")
        if len(parts) == 3 and parts[0] == "kline" and parts[1] in _UNIFIED:
            return StreamKind.KLINE, parts[2], _UNIFIED[parts[1]]
        if len(parts) == 3 and parts[0] == "orderbook" and parts[1] == "1":
            return StreamKind.TICKER, parts[2], None
        if len(parts) == 3 and parts[0] == "orderbook" and parts[1] == str(self.book_depth):
            return StreamKind.DEPTH, parts[2], None
        if len(parts) == 2 and parts[0] == "publicTrade":
            return StreamKind.TRADE, parts[1], None
        return None

    def klines(self, message: dict[str, Any], received_ms: int) -> list[KlineUpdate]:
        """Return the candles of a kline push (``confirm`` marks a closed one)."""
        default = int(message.get("ts", received_ms))
        return [
            KlineUpdate(
                open_ms=int(k["start"]), open=Decimal(str(k["open"])),
                high=Decimal(str(k["high"])), low=Decimal(str(k["low"])),
                close=Decimal(str(k["close"])), volume=Decimal(str(k["volume"])),
                closed=bool(k["confirm"]), exchange_ms=int(k.get("timestamp", default)),
                received_ms=received_ms,
            )
            for k in message["data"]
        ]  # fmt: skip

    def events(
        self, kind: StreamKind, message: dict[str, Any], symbol: str, received_ms: int
    ) -> list[MarketEvent]:
        """Return the best bid and offer of an ``orderbook.1`` push, or a trade push's prints."""
        exchange_ms = int(message.get("cts") or message.get("ts") or received_ms)
        if kind is StreamKind.TRADE:
            return [
                TradePrinted(
                    Trade(ts=int(t["T"]), symbol=symbol, price=Decimal(t["p"]),
                          amount=Decimal(t["v"]), side=Side.BUY if t["S"] == "Buy" else Side.SELL,
                          trade_id=str(t["i"])),
                    exchange_ms, received_ms,
                )
                for t in message["data"]
            ]  # fmt: skip
        return self._top(message, symbol, exchange_ms, received_ms)

    def _top(
        self, message: dict[str, Any], symbol: str, exchange_ms: int, received_ms: int
    ) -> list[MarketEvent]:
        data = message["data"]
        if message.get("type") == "snapshot" or symbol not in self._tops:
            self._tops[symbol] = ({}, {})
        bids, asks = self._tops[symbol]
        for side, levels in ((bids, data.get("b", [])), (asks, data.get("a", []))):
            for price, size in levels:
                if Decimal(size) == _ZERO:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = Decimal(size)
        if not bids or not asks:
            return []
        bid, ask = max(bids), min(asks)
        # Depth 1: only the best level is Bybit's; keep it alone for the next delta.
        self._tops[symbol] = ({bid: bids[bid]}, {ask: asks[ask]})
        return [TickerUpdated(symbol=symbol, bid=bid, bid_size=bids[bid], ask=ask,
                              ask_size=asks[ask], exchange_ms=exchange_ms,
                              received_ms=received_ms)]  # fmt: skip

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
        """Request ``/v5/market/kline``, oldest first.

        Bybit answers the *newest* ``limit`` candles of a window: a page from ``start_ms`` has
        its window cut to ``limit`` candles so that it begins at ``start_ms``.
        """
        params: dict[str, Any] = {"category": market_type, "symbol": market_id,
                                  "interval": interval(timeframe), "limit": limit}  # fmt: skip
        if start_ms is not None:
            params["start"] = start_ms
            cap = start_ms + limit * Timeframe.parse(timeframe).ms - 1
            end_ms = cap if end_ms is None else min(end_ms, cap)
        if end_ms is not None:
            params["end"] = end_ms
        answer = await client.publicGetV5MarketKline(params)
        rows = answer["result"]["list"]
        return [[int(r[0]), r[1], r[2], r[3], r[4], r[5]] for r in reversed(rows)]
