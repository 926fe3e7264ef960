"""Conformance: the real ccxt REST clients (sync and async) trade on the simulator.

Every test runs with ``ccxt.binance`` and ``ccxt.async_support.binance`` (rate limiter off; the
rate-limited variants are in ``test_rate_limited.py``). Markets: XRP/USDT trades against the
replayed Bybit L2 recording, LTC/BTC against the flow derived from its recorded 5m candles (a book
that changes only every 37.5 replay seconds), XRP/USDT:USDT is the USDT-M perpetual.
"""

from __future__ import annotations

from decimal import Decimal

import ccxt
import pytest
from simkit import FUNDS, Venue

XRP = "XRP/USDT"


async def test_public_market_data(venue: Venue) -> None:
    markets = venue.client.markets
    assert {"BTC/USDT", "XRP/USDT", "ETH/BTC", "XRP/USDT:USDT"} <= set(markets)
    assert markets["XRP/USDT:USDT"]["swap"]
    assert markets["XRP/USDT:USDT"]["linear"]
    book = await venue("fetch_order_book", XRP, 50)
    assert book["bids"]
    assert book["asks"]
    assert book["bids"][0][0] < book["asks"][0][0]
    assert isinstance(book["nonce"], int)
    candles = await venue("fetch_ohlcv", "ETH/BTC", "5m", None, 3)
    assert len(candles) == 3
    assert all(c[2] >= c[3] for c in candles)
    trades = await venue("fetch_trades", "XRP/ETH", None, 5)
    assert len(trades) == 5
    assert trades[0]["price"] > 0
    assert abs(await venue("fetch_time") - venue.server.sim.clock()) < 5_000


async def test_balance_is_the_deposit(venue: Venue) -> None:
    balance = await venue("fetch_balance")
    assert balance["USDT"]["free"] == FUNDS["USDT"]
    assert balance["XRP"]["total"] == FUNDS["XRP"]


async def test_limit_order_lifecycle_locks_and_releases(venue: Venue) -> None:
    order = await venue("create_order", XRP, "limit", "buy", 100, 1.0)
    assert order["status"] == "open"
    assert order["id"]
    balance = await venue("fetch_balance")
    assert balance["USDT"]["used"] == pytest.approx(100.0)
    fetched = await venue("fetch_order", order["id"], XRP)
    assert fetched["status"] == "open"
    assert fetched["price"] == 1.0
    open_ids = [o["id"] for o in await venue("fetch_open_orders", XRP)]
    assert order["id"] in open_ids
    canceled = await venue("cancel_order", order["id"], XRP)
    assert canceled["status"] == "canceled"
    balance = await venue("fetch_balance")
    assert balance["USDT"]["used"] == 0
    assert balance["USDT"]["free"] == FUNDS["USDT"]
    with pytest.raises(ccxt.OrderNotFound):
        await venue("cancel_order", order["id"], XRP)
    assert (await venue("fetch_open_orders", XRP)) == []


async def test_market_order_fills_with_taker_fee_in_received_asset(venue: Venue) -> None:
    order = await venue("create_order", XRP, "market", "buy", 100)
    assert order["status"] == "closed"
    assert order["filled"] == 100
    fee = sum(t["fee"]["cost"] for t in order["trades"])
    assert fee == pytest.approx(0.1)  # 0.1 % taker, charged in XRP
    balance = await venue("fetch_balance")
    assert balance["XRP"]["total"] == pytest.approx(FUNDS["XRP"] + 100 - 0.1)
    assert balance["USDT"]["total"] == pytest.approx(FUNDS["USDT"] - order["cost"])
    trades = await venue("fetch_my_trades", XRP)
    assert sum(t["amount"] for t in trades) == pytest.approx(100)


async def test_market_buy_by_cost_spends_at_most_the_cost(venue: Venue) -> None:
    order = await venue("create_market_buy_order_with_cost", XRP, 50)
    assert order["status"] == "closed"
    assert 49 < order["cost"] <= 50
    balance = await venue("fetch_balance")
    assert balance["USDT"]["total"] == pytest.approx(FUNDS["USDT"] - order["cost"])


async def test_post_only_rests_or_is_refused(venue: Venue) -> None:
    resting = await venue("create_order", XRP, "limit", "buy", 10, 1.0, {"postOnly": True})
    assert resting["status"] == "open"
    fetched = await venue("fetch_order", resting["id"], XRP)
    assert fetched["info"]["type"] == "LIMIT_MAKER"
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await venue("create_order", XRP, "limit", "buy", 10, 3.0, {"postOnly": True})


async def test_ioc_and_fok(venue: Venue) -> None:
    ioc = await venue("create_order", XRP, "limit", "buy", 10, 1.0, {"timeInForce": "IOC"})
    assert ioc["status"] == "expired"
    assert ioc["filled"] == 0
    book = await venue("fetch_order_book", XRP, 5)
    best, size = book["asks"][0]
    # More than the whole level at the best ask: a FOK cannot fill completely, so nothing fills.
    too_much = size + book["asks"][1][1] + 5_000
    fok = await venue("create_order", XRP, "limit", "buy", too_much, best, {"timeInForce": "FOK"})
    assert fok["status"] == "expired"
    assert fok["filled"] == 0
    fok = await venue("create_order", XRP, "limit", "buy", 10, 2.5, {"timeInForce": "FOK"})
    assert fok["status"] == "closed"
    assert fok["filled"] == 10
    balance = await venue("fetch_balance")
    assert balance["USDT"]["used"] == 0


async def test_stop_loss_and_take_profit_wait_for_their_trigger(venue: Venue) -> None:
    gtc = {"timeInForce": "GTC"}  # Binance requires it on stop-limit orders; ccxt does not add it
    sl = await venue("create_order", XRP, "limit", "sell", 10, 1.0, {"stopLossPrice": 1.01, **gtc})
    tp = await venue("create_order", XRP, "market", "sell", 10, None, {"takeProfitPrice": 3.0})
    slm = await venue("create_order", XRP, "market", "sell", 10, None, {"stopLossPrice": 1.0})
    tpl = await venue(
        "create_order", XRP, "limit", "sell", 10, 3.0, {"takeProfitPrice": 3.0, **gtc}
    )
    types = {
        o["id"]: (await venue("fetch_order", o["id"], XRP))["info"]["type"]
        for o in (sl, tp, slm, tpl)
    }
    assert sorted(types.values()) == [
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
    ]
    assert len(await venue("fetch_open_orders", XRP)) == 4
    for order in (sl, tp, slm, tpl):
        assert (await venue("cancel_order", order["id"], XRP))["status"] == "canceled"
    assert (await venue("fetch_balance"))["XRP"]["used"] == 0


async def test_stop_buy_triggers_on_a_trade_through_its_price(venue: Venue) -> None:
    # LTC/BTC trades on a candle-derived book that holds still between steps (37.5 s).
    book = await venue("fetch_order_book", "LTC/BTC", 5)
    first, second = book["asks"][0], book["asks"][1]
    stop = await venue(
        "create_order", "LTC/BTC", "market", "buy", 0.5, None, {"stopLossPrice": second[0]}
    )
    assert stop["status"] == "open"
    taker = await venue.new()
    sweep = await taker("create_order", "LTC/BTC", "limit", "buy", first[1] + 0.1, second[0])
    assert sweep["filled"] > first[1]
    triggered = await venue("fetch_order", stop["id"], "LTC/BTC")
    assert triggered["status"] == "closed"
    assert triggered["filled"] == 0.5


async def test_duplicate_client_order_id_refused_while_open_then_reusable(venue: Venue) -> None:
    cid = "my-order-1"
    first = await venue("create_order", XRP, "limit", "buy", 10, 1.0, {"clientOrderId": cid})
    with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
        await venue("create_order", XRP, "limit", "buy", 10, 1.0, {"clientOrderId": cid})
    await venue("cancel_order", first["id"], XRP)
    second = await venue("create_order", XRP, "limit", "buy", 10, 1.0, {"clientOrderId": cid})
    assert second["id"] != first["id"]
    found = await venue("fetch_order", None, XRP, {"origClientOrderId": cid})
    assert found["id"] == second["id"]
    await venue("cancel_order", second["id"], XRP)


async def test_insufficient_balance_is_refused_and_nothing_goes_negative(venue: Venue) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        await venue("create_order", XRP, "limit", "buy", 100_000, 1.5)
    with pytest.raises(ccxt.InsufficientFunds):
        await venue("create_order", XRP, "market", "sell", 30_000)
    balance = await venue("fetch_balance")
    assert balance["USDT"]["free"] == FUNDS["USDT"]
    assert balance["XRP"]["free"] == FUNDS["XRP"]


async def test_filters_refuse_like_binance(venue: Venue) -> None:
    base = {"symbol": "XRPUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
        await venue("private_post_order", {**base, "quantity": "1", "price": "1.5"})
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        await venue("private_post_order", {**base, "quantity": "10.05", "price": "1.5"})
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        await venue("private_post_order", {**base, "quantity": "10", "price": "1.50005"})
    with pytest.raises(ccxt.BadSymbol):
        await venue(
            "private_post_order", {**base, "symbol": "NOPEUSDT", "quantity": "10", "price": "1.5"}
        )


async def test_oco_locks_once_and_cancels_as_a_list(venue: Venue) -> None:
    answer = await venue("private_post_orderlist_oco", {
        "symbol": "XRPUSDT", "side": "SELL", "quantity": "100",
        "aboveType": "LIMIT_MAKER", "abovePrice": "3",
        "belowType": "STOP_LOSS_LIMIT", "belowStopPrice": "1.01", "belowPrice": "1",
        "belowTimeInForce": "GTC",
    })  # fmt: skip
    assert answer["contingencyType"] == "OCO"
    assert len(answer["orders"]) == 2
    assert (await venue("fetch_balance"))["XRP"]["used"] == 100  # one lock for both legs
    assert len(await venue("fetch_open_orders", XRP)) == 2
    await venue(
        "private_delete_orderlist", {"symbol": "XRPUSDT", "orderListId": answer["orderListId"]}
    )
    assert await venue("fetch_open_orders", XRP) == []
    assert (await venue("fetch_balance"))["XRP"]["used"] == 0


async def test_futures_leverage_margin_positions_and_reduce_only(venue: Venue) -> None:
    perp = "XRP/USDT:USDT"
    await venue("set_leverage", 10, perp)
    await venue("set_margin_mode", "isolated", perp)
    with pytest.raises(ccxt.MarginModeAlreadySet):
        await venue("set_margin_mode", "isolated", perp)
    with pytest.raises(ccxt.InvalidOrder):
        await venue("create_order", perp, "market", "sell", 10, None, {"reduceOnly": True})
    opened = await venue("create_order", perp, "market", "buy", 100)
    assert opened["status"] == "closed"
    assert opened["filled"] == 100
    (position,) = [p for p in await venue("fetch_positions", [perp]) if p["contracts"]]
    assert position["side"] == "long"
    assert position["contracts"] == 100
    assert position["leverage"] == 10
    assert position["marginMode"] == "isolated"
    closed = await venue("create_order", perp, "market", "sell", 100, None, {"reduceOnly": True})
    assert closed["filled"] == 100
    assert not [p for p in await venue("fetch_positions", [perp]) if p["contracts"]]
    trades = await venue("fetch_my_trades", perp)
    pnl = sum(Decimal(t["info"]["realizedPnl"]) for t in trades)
    fees = sum(Decimal(t["info"]["commission"]) for t in trades)
    wallet = (await venue("fetch_balance", {"type": "future"}))["USDT"]["total"]
    assert Decimal(str(wallet)) == pytest.approx(Decimal(10_000) + pnl - fees)


async def test_futures_margin_is_checked(venue: Venue) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        await venue("create_order", "XRP/USDT:USDT", "market", "buy", 1_000_000)


async def test_key_permissions_are_enforced_and_reported(venue: Venue) -> None:
    from simkit import open_account

    from tradewind.exchange_sim.accounts import Permissions

    key = open_account(venue.server, Permissions(spot=False, withdrawals=True))
    reader = await venue.new(key=key)
    restrictions = await reader("sapi_get_account_apirestrictions")
    assert restrictions["enableWithdrawals"] is True
    assert restrictions["enableSpotAndMarginTrading"] is False
    with pytest.raises(ccxt.AuthenticationError):
        await reader("create_order", XRP, "limit", "buy", 10, 1.0)
    assert (await reader("fetch_balance"))["USDT"]["free"] == FUNDS["USDT"]
    # Once the key has worked, ccxt reads -2015 as a temporary ban (its own rule).
    with pytest.raises(ccxt.DDoSProtection, match="-2015"):
        await reader("create_order", XRP, "limit", "buy", 10, 1.0)


async def test_bad_signature_and_stale_timestamp(venue: Venue) -> None:
    client = venue.client
    client.secret = "not-the-secret"
    with pytest.raises(ccxt.AuthenticationError):
        await venue("fetch_balance")
    client.secret = venue.client.sim_key.secret
    real = client.milliseconds
    client.nonce = lambda: real() - 30_000
    with pytest.raises(ccxt.InvalidNonce):
        await venue("fetch_balance")


async def test_weight_and_order_count_headers(venue: Venue) -> None:
    await venue("fetch_order_book", XRP)
    headers = {k.upper(): v for k, v in venue.client.last_response_headers.items()}
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) >= 5
    order = await venue("create_order", XRP, "limit", "buy", 10, 1.0)
    headers = {k.upper(): v for k, v in venue.client.last_response_headers.items()}
    assert int(headers["X-MBX-ORDER-COUNT-10S"]) >= 1
    await venue("cancel_order", order["id"], XRP)
