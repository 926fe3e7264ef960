"""Binance's public market streams: their names, push intervals and raw payloads as events.

The feed subscribes to raw streams through ccxt.pro's connection machinery and reads each
message as Binance sent it (decimal strings become ``Decimal`` exactly; ccxt's own parsing goes
through floats and drops the kline's closed flag). Payloads, from Binance's documentation and
the exchange simulator:

=================  ==============  =====================================================
stream             push interval   payload fields read
=================  ==============  =====================================================
``kline_<tf>``     2 s             ``E``, ``k.t o h l c v x``
``depth@100ms``    0.1 s           ``E``, ``U``, ``u``, ``pu`` (USDT-M), ``b``, ``a``
``trade``          none            ``E``, ``t``, ``p``, ``q``, ``T``, ``m``
``bookTicker``     none (real      ``u``, ``b``, ``B``, ``a``, ``A``, ``E`` (USDT-M only)
                   time)
``markPrice@1s``   1 s             ``E``, ``p``, ``i``, ``r``, ``T``
``ticker``         none here       ``E``, ``c``, ``o``, ``h``, ``l``, ``v``, ``q``, ``b``/``a``
                   (Binance 1 s)   (spot only)
=================  ==============  =====================================================

``m`` (buyer is maker) means the aggressor sold.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from tradewind.connectors.candles import KlineUpdate
from tradewind.core.market_events import (
    MarkPriceUpdated,
    Ticker24hUpdated,
    TickerUpdated,
    TradePrinted,
)
from tradewind.core.records import Side, Trade


class StreamKind(StrEnum):
    """A kind of public market stream."""

    KLINE = "kline"
    TRADE = "trade"
    DEPTH = "depth"
    TICKER = "ticker"
    MARK_PRICE = "mark_price"
    TICKER_24H = "ticker_24h"


PUSH_INTERVAL_S: dict[StreamKind, float | None] = {
    StreamKind.KLINE: 2.0,
    StreamKind.DEPTH: 0.1,
    StreamKind.MARK_PRICE: 1.0,
    StreamKind.TRADE: None,
    StreamKind.TICKER: None,
    # Binance pushes it every second; judged like the change-driven streams so that an exchange
    # (or a replay) that pushes on change only is not called stale while it is quiet.
    StreamKind.TICKER_24H: None,
}
"""Binance's push interval of each stream; None for streams that push only on change."""


def stream_name(market_id: str, kind: StreamKind, timeframe: str | None = None) -> str:
    """Return Binance's stream name (``xrpusdt@kline_1m``, ``xrpusdt@depth@100ms`` ...)."""
    low = market_id.lower()
    if kind is StreamKind.KLINE:
        if timeframe is None:
            raise ValueError("a kline stream needs a timeframe")
        return f"{low}@kline_{timeframe}"
    suffix = {
        StreamKind.TRADE: "trade",
        StreamKind.DEPTH: "depth@100ms",
        StreamKind.TICKER: "bookTicker",
        StreamKind.MARK_PRICE: "markPrice@1s",
        StreamKind.TICKER_24H: "ticker",
    }[kind]
    return f"{low}@{suffix}"


def ws_category(kind: StreamKind) -> str:
    """Return the USDT-M URL category of ``kind`` (``public`` or ``market``), as ccxt routes it."""
    return "public" if kind in (StreamKind.DEPTH, StreamKind.TICKER, StreamKind.TRADE) else "market"


def message_kind(message: Any) -> StreamKind | None:
    """Return the kind of a raw market message, or None for anything else (acks, errors)."""
    if not isinstance(message, dict):
        return None
    event = message.get("e")
    if event == "kline":
        return StreamKind.KLINE
    if event == "depthUpdate":
        return StreamKind.DEPTH
    if event in ("trade", "aggTrade"):
        return StreamKind.TRADE
    if event == "markPriceUpdate":
        return StreamKind.MARK_PRICE
    if event == "24hrTicker":
        return StreamKind.TICKER_24H
    if event == "bookTicker" or (event is None and "u" in message and "b" in message):
        return StreamKind.TICKER
    return None


def kline_update(message: dict[str, Any], received_ms: int) -> tuple[str, str, KlineUpdate]:
    """Return ``(market id, interval, update)`` of a raw kline message."""
    k = message["k"]
    update = KlineUpdate(
        open_ms=int(k["t"]),
        open=Decimal(k["o"]),
        high=Decimal(k["h"]),
        low=Decimal(k["l"]),
        close=Decimal(k["c"]),
        volume=Decimal(k["v"]),
        closed=bool(k["x"]),
        exchange_ms=int(message.get("E", received_ms)),
        received_ms=received_ms,
    )
    return str(k.get("s") or message["s"]), str(k["i"]), update


def rest_kline(row: list[Any], exchange_ms: int, received_ms: int) -> KlineUpdate:
    """Return one raw REST kline row (Binance's 12 fields) as an update."""
    return KlineUpdate(
        open_ms=int(row[0]),
        open=Decimal(str(row[1])),
        high=Decimal(str(row[2])),
        low=Decimal(str(row[3])),
        close=Decimal(str(row[4])),
        volume=Decimal(str(row[5])),
        closed=False,
        exchange_ms=exchange_ms,
        received_ms=received_ms,
    )


def trade_printed(message: dict[str, Any], symbol: str, received_ms: int) -> TradePrinted:
    """Return a raw ``trade``/``aggTrade`` message as an event of ``symbol``."""
    trade_id = message.get("t", message.get("a"))
    trade = Trade(
        ts=int(message["T"]),
        symbol=symbol,
        price=Decimal(message["p"]),
        amount=Decimal(message["q"]),
        side=Side.SELL if message.get("m") else Side.BUY,
        trade_id=str(trade_id),
    )
    return TradePrinted(trade, int(message.get("E", message["T"])), received_ms)


def ticker_updated(message: dict[str, Any], symbol: str, received_ms: int) -> TickerUpdated:
    """Return a raw ``bookTicker`` message as an event (spot's has no event time: the receive
    time stands in)."""
    return TickerUpdated(
        symbol=symbol,
        bid=Decimal(message["b"]),
        bid_size=Decimal(message["B"]),
        ask=Decimal(message["a"]),
        ask_size=Decimal(message["A"]),
        exchange_ms=int(message.get("E", received_ms)),
        received_ms=received_ms,
    )


def mark_price_updated(message: dict[str, Any], symbol: str, received_ms: int) -> MarkPriceUpdated:
    """Return a raw ``markPriceUpdate`` message as an event."""
    rate = message.get("r")
    index = message.get("i")
    next_ms = message.get("T")
    return MarkPriceUpdated(
        symbol=symbol,
        mark=Decimal(message["p"]),
        index=Decimal(index) if index not in (None, "") else None,
        funding_rate=Decimal(rate) if rate not in (None, "") else None,
        next_funding_ms=int(next_ms) if next_ms else None,
        exchange_ms=int(message["E"]),
        received_ms=received_ms,
    )


def ticker_24h_updated(message: dict[str, Any], symbol: str, received_ms: int) -> Ticker24hUpdated:
    """Return a raw ``24hrTicker`` message as an event (bid/ask None when absent, as on USDT-M)."""

    def optional(key: str) -> Decimal | None:
        value = message.get(key)
        return Decimal(value) if value not in (None, "") else None

    return Ticker24hUpdated(
        symbol=symbol,
        last=Decimal(message["c"]),
        open=Decimal(message["o"]),
        high=Decimal(message["h"]),
        low=Decimal(message["l"]),
        volume=Decimal(message["v"]),
        quote_volume=Decimal(message["q"]),
        bid=optional("b"),
        ask=optional("a"),
        exchange_ms=int(message.get("E", received_ms)),
        received_ms=received_ms,
    )
