"""Conformance: USDT-M conditional orders through the algo API, and funding payments.

ccxt 4.5.90 sends linear-swap conditional orders (``STOP_MARKET``, ``STOP``,
``TAKE_PROFIT_MARKET``, ``TAKE_PROFIT``) to ``/fapi/v1/algoOrder`` and reads them back with
``params={'trigger': True}``. Triggers here are deterministic: another account trades through the
replayed XRP/USDT:USDT book (a candle-derived book that holds still for 37.5 replay seconds), which
moves the last price onto the stop. Funding runs on a replay clock started just before an 8-hour
funding time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import ccxt
import pytest
from simkit import FUTURES_USDT, configure, open_account
from simkit import _settings as settings

from tradewind.exchange_sim import LoopbackServer, SimExchange
from tradewind.exchange_sim.clock import SimClock, wall_ms
from tradewind.exchange_sim.funding import next_funding_ms
from tradewind.exchange_sim.listings import Api

PERP = "XRP/USDT:USDT"
TRIGGER = {"trigger": True}


def _levels_through(levels: list[list[float]], index: int) -> float:
    """Quantity that trades through levels 0..index-1 and one unit into level ``index``."""
    return sum(q for _, q in levels[:index]) + 1


async def _whale(venue: Any) -> Any:
    """Another client whose account can trade through several replayed levels."""
    return await venue.new(key=open_account(venue.server, futures_usdt=50_000_000))


async def test_take_profit_market_triggers_and_the_others_cancel(venue: Any) -> None:
    await venue("create_order", PERP, "market", "buy", 100)
    book = await venue("fetch_order_book", PERP, 10)
    ask3 = book["asks"][2][0]
    mid = (book["bids"][0][0] + book["asks"][0][0]) / 2
    tp = await venue("create_order", PERP, "market", "sell", 100, None,
                     {"takeProfitPrice": ask3, "reduceOnly": True})  # fmt: skip
    sl = await venue("create_order", PERP, "market", "sell", 100, None,
                     {"stopPrice": round(mid * 0.5, 4), "reduceOnly": True})  # fmt: skip
    tpl = await venue("create_order", PERP, "limit", "sell", 100, round(mid * 2, 4),
                      {"takeProfitPrice": round(mid * 2, 4), "reduceOnly": True})  # fmt: skip
    placed = {o["id"]: o for o in (tp, sl, tpl)}
    assert all(o["status"] == "open" for o in placed.values())
    # Visible through the algo endpoints only, with Binance's types.
    opened = await venue("fetch_open_orders", PERP, None, None, TRIGGER)
    assert {o["id"]: o["info"]["orderType"] for o in opened} == {
        tp["id"]: "TAKE_PROFIT_MARKET", sl["id"]: "STOP_MARKET", tpl["id"]: "TAKE_PROFIT"
    }  # fmt: skip
    assert await venue("fetch_open_orders", PERP) == []
    with pytest.raises(ccxt.OrderNotFound):
        await venue("fetch_order", tp["id"], PERP)
    got = await venue("fetch_order", tp["id"], PERP, TRIGGER)
    assert got["status"] == "open"
    assert got["triggerPrice"] == ask3
    # Another account buys through two ask levels: the last price reaches the take-profit.
    taker = await _whale(venue)
    await taker("create_order", PERP, "market", "buy", _levels_through(book["asks"], 2))
    done = await venue("fetch_order", tp["id"], PERP, TRIGGER)
    assert done["status"] == "closed"
    assert done["info"]["algoStatus"] == "FINISHED"
    actual = await venue("fetch_order", done["info"]["actualOrderId"], PERP)
    assert actual["status"] == "closed"
    assert actual["filled"] == 100
    assert actual["clientOrderId"] == tp["clientOrderId"]
    assert not [p for p in await venue("fetch_positions", [PERP]) if p["contracts"]]
    # The two left are cancelled through DELETE /fapi/v1/algoOrder.
    for order in (sl, tpl):
        await venue("cancel_order", order["id"], PERP, TRIGGER)
        assert (await venue("fetch_order", order["id"], PERP, TRIGGER))["status"] == "canceled"
    assert await venue("fetch_open_orders", PERP, None, None, TRIGGER) == []
    with pytest.raises(ccxt.OrderNotFound):
        await venue("cancel_order", tp["id"], PERP, TRIGGER)


async def test_stop_limit_triggers_on_a_sell_through(venue: Any) -> None:
    await venue("create_order", PERP, "market", "buy", 100)
    book = await venue("fetch_order_book", PERP, 10)
    bid2, bid6 = book["bids"][1][0], book["bids"][5][0]
    stop = await venue("create_order", PERP, "limit", "sell", 100, bid6,
                       {"stopLossPrice": bid2, "reduceOnly": True})  # fmt: skip
    assert (await venue("fetch_order", stop["id"], PERP, TRIGGER))["info"]["orderType"] == "STOP"
    taker = await _whale(venue)
    await taker("create_order", PERP, "market", "sell", _levels_through(book["bids"], 1))
    done = await venue("fetch_order", stop["id"], PERP, TRIGGER)
    assert done["status"] == "closed"
    actual = await venue("fetch_order", done["info"]["actualOrderId"], PERP)
    assert actual["filled"] == 100
    assert actual["average"] <= bid2
    assert actual["average"] >= bid6
    trades = await venue("fetch_my_trades", PERP)
    assert sum(t["amount"] for t in trades if t["side"] == "sell") == 100


async def test_stop_market_buy_triggers_and_cancel_all(venue: Any) -> None:
    book = await venue("fetch_order_book", PERP, 10)
    ask2 = book["asks"][1][0]
    stop = await venue("create_order", PERP, "market", "buy", 50, None, {"stopPrice": ask2})
    spare = await venue("create_order", PERP, "market", "buy", 50, None,
                        {"stopPrice": round(book["asks"][0][0] * 3, 4)})  # fmt: skip
    assert stop["info"]["orderType"] == "STOP_MARKET"
    taker = await _whale(venue)
    await taker("create_order", PERP, "market", "buy", _levels_through(book["asks"], 1))
    actual_id = (await venue("fetch_order", stop["id"], PERP, TRIGGER))["info"]["actualOrderId"]
    assert (await venue("fetch_order", actual_id, PERP))["filled"] == 50
    (position,) = [p for p in await venue("fetch_positions", [PERP]) if p["contracts"]]
    assert position["contracts"] == 50
    await venue("cancel_all_orders", PERP, TRIGGER)
    assert (await venue("fetch_order", spare["id"], PERP, TRIGGER))["status"] == "canceled"


async def test_pro_client_places_and_cancels_a_conditional_order(async_client: Any) -> None:
    client = await async_client(pro=True)
    await client.create_order(PERP, "market", "buy", 100)
    book = await client.fetch_order_book(PERP, 5)
    order = await client.create_order(PERP, "market", "sell", 100, None,
                                      {"stopLossPrice": book["bids"][2][0], "reduceOnly": True})  # fmt: skip
    assert (await client.fetch_open_orders(PERP, None, None, TRIGGER))[0]["id"] == order["id"]
    await client.cancel_order(order["id"], PERP, TRIGGER)
    assert (await client.fetch_order(order["id"], PERP, TRIGGER))["status"] == "canceled"


@pytest.fixture
def funding_server(recorded_exchange: SimExchange) -> Iterator[tuple[LoopbackServer, int]]:
    """The recorded exchange on a replay clock 5 s before a funding time (restored after)."""
    original = recorded_exchange.clock
    funding_ms = next_funding_ms(wall_ms())
    recorded_exchange.clock = SimClock(1.0, start_ms=funding_ms - 5000)
    try:
        with LoopbackServer(recorded_exchange) as running:
            yield running, funding_ms
    finally:
        recorded_exchange.clock = original


async def _wallet(client: Any) -> Decimal:
    # The wallet balance alone: ccxt's "total" adds unrealised PnL, which moves with the mark
    # (a new candle opens at every funding time, so the replayed book moves then too).
    (usdt,) = [b for b in await client.fapiPrivateV2GetBalance() if b["asset"] == "USDT"]
    return Decimal(usdt["balance"])


async def test_position_held_across_funding_time_is_charged(
    funding_server: tuple[LoopbackServer, int],
) -> None:
    server, funding_ms = funding_server
    key = open_account(server)
    client = configure(ccxt.async_support.binance(settings(key, False, 3000)), server, ws=False)
    try:
        await client.load_markets()
        await client.create_order(PERP, "market", "sell", 1000)
        await client.create_order(PERP, "market", "buy", 300)  # one-way mode: 700 short
        before = await client.fetch_funding_rate(PERP)
        assert before["fundingTimestamp"] == funding_ms
        rate = Decimal(before["info"]["lastFundingRate"])
        mark = Decimal(before["info"]["markPrice"])
        assert rate != 0
        wallet_before = await _wallet(client)
        while server.sim.clock() < funding_ms + 1500:
            await asyncio.sleep(0.2)
        history = await client.fetch_funding_history(PERP)
        assert len(history) == 1
        expected = (Decimal(700) * mark * rate).quantize(Decimal("1e-8"), ROUND_HALF_EVEN)
        assert Decimal(history[0]["info"]["income"]) == expected  # the short receives qty*mark*rate
        assert history[0]["timestamp"] == funding_ms
        assert history[0]["info"]["incomeType"] == "FUNDING_FEE"
        wallet = await _wallet(client)
        assert wallet == wallet_before + expected
        assert wallet_before < Decimal(FUTURES_USDT)  # the fees of the two trades came off first
        after = await client.fetch_funding_rate(PERP)
        assert after["fundingTimestamp"] == funding_ms + 28_800_000
    finally:
        await client.close()


async def test_funding_account_update_on_the_user_stream(
    funding_server: tuple[LoopbackServer, int],
) -> None:
    server, funding_ms = funding_server
    key = open_account(server)
    client = configure(ccxt.pro.binance(settings(key, False, 3000)), server, ws=True)
    try:
        await client.load_markets()
        await client.set_margin_mode("isolated", PERP)
        await client.create_order(PERP, "market", "buy", 200)
        rate = Decimal(repr(server.sim.funding_rate_at("XRPUSDT", funding_ms - 1)))
        # The mark at funding time: the book holds still until then (a candle step every 37.5
        # s, and the next one opens a candle exactly at funding time, after the settlement).
        mark = _mark(server)
        received: list[dict[str, Any]] = []
        original = client.handle_message

        def spy(ws: Any, message: Any) -> Any:
            if isinstance(message, dict) and message.get("e") == "ACCOUNT_UPDATE":
                received.append(message)
            return original(ws, message)

        client.handle_message = spy
        watcher = asyncio.ensure_future(client.watch_balance({"type": "future"}))
        deadline = time.monotonic() + 10
        while not any(m["a"]["m"] == "FUNDING_FEE" for m in received):
            assert time.monotonic() < deadline, "no FUNDING_FEE event"
            await asyncio.sleep(0.1)
        event = next(m for m in received if m["a"]["m"] == "FUNDING_FEE")
        assert event["T"] == funding_ms
        (row,) = event["a"]["P"]  # isolated: the position comes with the balance
        assert row["s"] == "XRPUSDT"
        income = Decimal((await client.fetch_funding_history(PERP))[0]["info"]["income"])
        expected = (-(Decimal(200) * mark * rate)).quantize(Decimal("1e-8"), ROUND_HALF_EVEN)
        assert income == expected
        balance = await client.fetch_balance({"type": "future"})
        assert Decimal(event["a"]["B"][0]["wb"]) == Decimal(balance["info"]["totalWalletBalance"])
        watcher.cancel()
    finally:
        await client.close()


def _mark(server: LoopbackServer) -> Decimal:
    market = server.sim.live(Api.USDM, "XRPUSDT")
    assert market is not None
    assert market.mark_price is not None
    return market.mark_price.quantize(market.listing.tick_size)
