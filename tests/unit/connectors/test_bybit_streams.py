"""Bybit's raw public messages read by the market feed's protocol: routing by topic, a closing
kline push, the best bid and offer kept across ``orderbook.1`` deltas, and a bad timeframe."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.connectors.binance_streams import StreamKind
from tradewind.connectors.bybit_streams import BybitProtocol
from tradewind.core.errors import UserError
from tradewind.core.market_events import TickerUpdated


def test_topics_route_to_their_streams_and_acks_do_not() -> None:
    bybit = BybitProtocol()
    assert bybit.route({"topic": "kline.5.ETHBTC", "data": []}) == (StreamKind.KLINE, "ETHBTC",
                                                                     "5m")  # fmt: skip
    assert bybit.route({"topic": "orderbook.1.ETHBTC"}) == (StreamKind.TICKER, "ETHBTC", None)
    assert bybit.route({"topic": "publicTrade.ETHBTC"}) == (StreamKind.TRADE, "ETHBTC", None)
    ack = {"success": True, "ret_msg": "", "op": "subscribe", "req_id": "7"}
    assert bybit.route(ack) is None
    assert bybit.is_ack(ack, 7)
    assert not bybit.is_ack({**ack, "success": False}, 7)
    assert bybit.stream_name("ETHBTC", StreamKind.KLINE, "1h") == "kline.60.ETHBTC"


def test_a_closing_kline_push_gives_the_confirmed_bar_then_the_new_one() -> None:
    row = {"start": 0, "end": 299_999, "interval": "5", "open": "0.05", "close": "0.051",
           "high": "0.052", "low": "0.049", "volume": "12.5", "turnover": "0.6",
           "timestamp": 300_010}  # fmt: skip
    message = {"topic": "kline.5.ETHBTC", "ts": 300_011,
               "data": [{**row, "confirm": True},
                        {**row, "start": 300_000, "confirm": False}]}  # fmt: skip
    updates = BybitProtocol().klines(message, received_ms=300_020)
    assert [(u.open_ms, u.closed) for u in updates] == [(0, True), (300_000, False)]
    assert updates[0].close == Decimal("0.051")
    assert (updates[0].exchange_ms, updates[0].received_ms) == (300_010, 300_020)


def test_the_best_bid_and_offer_follow_snapshot_and_deltas() -> None:
    bybit = BybitProtocol()
    topic = "orderbook.1.ETHBTC"
    first = bybit.events(StreamKind.TICKER, {"topic": topic, "type": "snapshot", "ts": 1,
                                             "data": {"b": [["0.05", "3"]],
                                                      "a": [["0.0501", "2"]]}}, "ETH/BTC", 2)  # fmt: skip
    # The best bid leaves and a lower one takes its place; the ask is unchanged.
    second = bybit.events(StreamKind.TICKER, {"topic": topic, "type": "delta", "ts": 3,
                                              "data": {"b": [["0.05", "0"], ["0.0499", "4"]],
                                                       "a": []}}, "ETH/BTC", 4)  # fmt: skip
    assert first == [TickerUpdated("ETH/BTC", Decimal("0.05"), Decimal(3), Decimal("0.0501"),
                                   Decimal(2), 1, 2)]  # fmt: skip
    assert second == [TickerUpdated("ETH/BTC", Decimal("0.0499"), Decimal(4), Decimal("0.0501"),
                                    Decimal(2), 3, 4)]  # fmt: skip


def test_a_timeframe_bybit_lacks_and_a_kind_it_does_not_stream_are_one_line_errors() -> None:
    bybit = BybitProtocol()
    with pytest.raises(UserError, match="bybit has no 1s candles"):
        bybit.stream_name("ETHBTC", StreamKind.KLINE, "1s")
    with pytest.raises(UserError, match="not mark_price"):
        bybit.check_kinds(frozenset({StreamKind.KLINE, StreamKind.MARK_PRICE}))


def test_depth_streams_the_50_or_200_level_book_the_feed_asks_for() -> None:
    assert BybitProtocol(book_levels=50).stream_name("XRPUSDT", StreamKind.DEPTH, None) == (
        "orderbook.50.XRPUSDT"
    )
    bybit = BybitProtocol(book_levels=1000)
    assert bybit.stream_name("XRPUSDT", StreamKind.DEPTH, None) == "orderbook.200.XRPUSDT"
    assert bybit.route({"topic": "orderbook.200.XRPUSDT"}) == (StreamKind.DEPTH, "XRPUSDT", None)
    assert bybit.route({"topic": "orderbook.50.XRPUSDT"}) is None  # not the depth subscribed
    assert bybit.unsubscribe_request(["orderbook.200.XRPUSDT"], 7) == {
        "op": "unsubscribe", "args": ["orderbook.200.XRPUSDT"], "req_id": "7"}  # fmt: skip
