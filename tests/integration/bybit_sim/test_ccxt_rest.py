"""ccxt.bybit (sync and async) against the simulator's Bybit v5 REST, limiter on and off."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt
import pytest
import requests
from bybitkit import FUNDS, LINEAR, SPOT, open_account

from tradewind.exchange_sim import LoopbackServer
from tradewind.exchange_sim.ledgers import positions_of
from tradewind.exchange_sim.listings import Api


def _book(server: LoopbackServer, api: Api) -> tuple[Decimal, Decimal]:
    def best() -> tuple[Decimal, Decimal]:
        market = server.sim.live(api, "XRPUSDT")
        assert market is not None
        bid, ask = market.book.bids.best(), market.book.asks.best()
        assert bid is not None
        assert ask is not None
        return bid, ask

    result: tuple[Decimal, Decimal] = server.call(best)
    return result


def test_markets_carry_the_instrument_filters(ccxt_sync: Callable[..., Any]) -> None:
    ex = ccxt_sync()
    linear, spot = ex.market(LINEAR), ex.market(SPOT)
    assert linear["linear"]
    assert linear["swap"]
    assert linear["settle"] == "USDT"
    assert linear["precision"]["price"] == 0.0001
    assert linear["precision"]["amount"] == 1
    assert linear["limits"]["leverage"]["max"] == 100
    assert spot["spot"]
    assert spot["precision"]["amount"] == 0.1
    assert spot["limits"]["cost"]["min"] == 5
    assert abs(ex.fetch_time() - time.time() * 1000) < 5_000


def test_order_book_is_the_recorded_bybit_book(
    ccxt_sync: Callable[..., Any], bybit_server: LoopbackServer
) -> None:
    ex = ccxt_sync()
    book = ex.fetch_order_book(LINEAR, 200)
    assert len(book["bids"]) == 200
    assert len(book["asks"]) == 200
    assert book["bids"][0][0] < book["asks"][0][0]
    # Recorded on 2024-12-01: XRP traded near 1.95 USDT.
    assert 1.8 < book["bids"][0][0] < 2.1
    bid, _ask = _book(bybit_server, Api.USDM)
    assert abs(Decimal(str(book["bids"][0][0])) - bid) <= Decimal("0.001")
    ticker = ex.fetch_ticker(LINEAR)
    assert ticker["bid"] is not None
    assert ticker["bid"] < ticker["ask"]
    assert ticker["info"]["nextFundingTime"]
    assert int(ticker["info"]["nextFundingTime"]) % 28_800_000 == 0


def test_klines_and_trades_are_the_recorded_ones(ccxt_sync: Callable[..., Any]) -> None:
    ex = ccxt_sync()
    candles = ex.fetch_ohlcv("BTC/USDT", "1m", limit=5)
    assert candles
    assert all(c[2] >= max(c[1], c[4]) and c[3] <= min(c[1], c[4]) for c in candles)
    # Recorded Binance BTCUSDT trades of 2021-01-08 (39,000-40,000 USDT).
    assert all(30_000 < c[4] < 45_000 for c in candles)
    trades = ex.fetch_trades("BTC/USDT", limit=20)
    assert trades
    assert all(30_000 < t["price"] < 45_000 for t in trades)
    assert [t["timestamp"] for t in trades] == sorted(t["timestamp"] for t in trades)


def test_limit_order_lifecycle(ccxt_sync: Callable[..., Any], bybit_server: LoopbackServer) -> None:
    ex = ccxt_sync()
    bid, _ = _book(bybit_server, Api.SPOT)
    price = float(bid - Decimal("0.05"))
    order = ex.create_order(SPOT, "limit", "buy", 100, price)
    assert order["id"]
    fetched = ex.fetch_open_order(order["id"], SPOT)
    assert fetched["status"] == "open"
    assert fetched["amount"] == 100
    assert fetched["price"] == price
    balance = ex.fetch_balance()
    assert balance["USDT"]["free"] == pytest.approx(FUNDS["USDT"] + 20_000 - 100 * price)
    ex.edit_order(order["id"], SPOT, "limit", "buy", 120, price - 0.01)
    amended = ex.fetch_open_order(order["id"], SPOT)
    assert amended["amount"] == 120
    assert amended["price"] == pytest.approx(price - 0.01)
    balance = ex.fetch_balance()
    assert balance["USDT"]["free"] == pytest.approx(FUNDS["USDT"] + 20_000 - 120 * (price - 0.01))
    ex.cancel_order(order["id"], SPOT)
    closed = ex.fetch_closed_order(order["id"], SPOT)
    assert closed["status"] == "canceled"
    assert closed["filled"] == 0
    assert ex.fetch_balance()["USDT"]["free"] == FUNDS["USDT"] + 20_000
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_order(order["id"], SPOT)


def test_linear_market_order_opens_a_position_and_fills_match_the_wallet(
    ccxt_sync: Callable[..., Any], bybit_server: LoopbackServer
) -> None:
    ex = ccxt_sync()
    ex.set_leverage(10, LINEAR)
    with pytest.raises(ccxt.BadRequest):  # 110043: leverage not modified
        ex.set_leverage(10, LINEAR)
    ex.create_order(LINEAR, "market", "buy", 100)
    position = ex.fetch_position(LINEAR)
    assert position["contracts"] == 100
    assert position["side"] == "long"
    assert position["leverage"] == 10
    trades = ex.fetch_my_trades(LINEAR)
    assert sum(t["amount"] for t in trades) == 100
    fee = sum(Decimal(t["info"]["execFee"]) for t in trades)
    assert fee > 0
    wallet = bybit_server.call(lambda: ex.sim_key.account.futures_wallet)
    assert wallet == Decimal(20_000) - fee
    ex.create_order(LINEAR, "market", "sell", 100, None, {"reduceOnly": True})
    assert bybit_server.call(lambda: positions_of(ex.sim_key.account)["XRPUSDT"].qty) == 0
    with pytest.raises(ccxt.InvalidOrder):  # 110017: nothing left to reduce
        ex.create_order(LINEAR, "market", "sell", 100, None, {"reduceOnly": True})


def test_time_in_force_and_post_only(
    ccxt_sync: Callable[..., Any], bybit_server: LoopbackServer
) -> None:
    ex = ccxt_sync()
    bid, ask = _book(bybit_server, Api.USDM)
    # 1 % through the ask: the book may move between reading it and the order (a client with
    # its limiter on waits before each request), and at the old ask the order could rest.
    through = (ask * Decimal("1.01")).quantize(Decimal("0.0001"))
    taking = ex.create_order(LINEAR, "limit", "buy", 10, float(through), {"postOnly": True})
    assert ex.fetch_closed_order(taking["id"], LINEAR)["status"] == "canceled"
    assert taking
    assert ex.fetch_closed_order(taking["id"], LINEAR)["info"]["rejectReason"] == (
        "EC_PostOnlyWillTakeLiquidity"
    )
    resting = ex.create_order(LINEAR, "limit", "buy", 10, float(bid - Decimal("0.01")),
                              {"postOnly": True})  # fmt: skip
    assert ex.fetch_open_order(resting["id"], LINEAR)["info"]["timeInForce"] == "PostOnly"
    ioc = ex.create_order(LINEAR, "limit", "buy", 10, float(bid - Decimal("0.01")),
                          {"timeInForce": "IOC"})  # fmt: skip
    assert ex.fetch_closed_order(ioc["id"], LINEAR)["status"] == "canceled"
    top = ex.fetch_order_book(LINEAR, 1)["asks"][0]
    more_than_the_level = int(top[1]) + 1_000  # at the best ask only: cannot fill whole
    fok = ex.create_order(LINEAR, "limit", "buy", more_than_the_level, top[0],
                          {"timeInForce": "FOK"})  # fmt: skip
    closed = ex.fetch_closed_order(fok["id"], LINEAR)
    assert closed["status"] == "canceled"
    assert closed["filled"] == 0


def test_conditional_order_and_position_take_profit_stop_loss(
    ccxt_sync: Callable[..., Any], bybit_server: LoopbackServer
) -> None:
    ex = ccxt_sync()
    bid, ask = _book(bybit_server, Api.USDM)
    stop = ex.create_order(LINEAR, "market", "buy", 10, None,
                           {"triggerPrice": float(ask + Decimal("0.2")), "triggerDirection": 1})  # fmt: skip
    info = ex.fetch_open_order(stop["id"], LINEAR)["info"]
    assert info["orderStatus"] == "Untriggered"
    assert info["triggerDirection"] == 1
    ex.cancel_order(stop["id"], LINEAR, {"trigger": True})
    ex.create_order(LINEAR, "market", "buy", 20)
    tp, sl = bid + Decimal("0.3"), bid - Decimal("0.3")
    ex.private_post_v5_position_trading_stop({
        "category": "linear", "symbol": "XRPUSDT", "takeProfit": str(tp), "stopLoss": str(sl),
        "tpslMode": "Full", "positionIdx": 0,
    })  # fmt: skip
    position = ex.fetch_position(LINEAR)
    assert position["takeProfitPrice"] == float(tp)
    assert position["stopLossPrice"] == float(sl)
    # The stop-loss fires when the last price falls to it: force a fall by selling through it.
    ex.private_post_v5_position_trading_stop(
        {"category": "linear", "symbol": "XRPUSDT", "stopLoss": "0", "positionIdx": 0}
    )
    assert ex.fetch_position(LINEAR)["stopLossPrice"] in (None, 0)
    with pytest.raises(ccxt.BadRequest):
        ex.private_post_v5_position_trading_stop({"category": "spot", "symbol": "XRPUSDT"})


def test_refusals_map_to_ccxt_errors(
    ccxt_sync: Callable[..., Any], bybit_server: LoopbackServer
) -> None:
    ex = ccxt_sync()
    bid, _ = _book(bybit_server, Api.SPOT)
    with pytest.raises(ccxt.InsufficientFunds):  # 170131
        ex.create_order(SPOT, "limit", "buy", 10**6, float(bid))
    with pytest.raises(ccxt.InvalidOrder):  # 170140: below the 5 USDT minimum
        ex.create_order(SPOT, "limit", "buy", 1, float(bid - Decimal("0.01")))
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_order("424242", LINEAR)
    wrong = ccxt_sync(open_account(bybit_server))
    wrong.secret = "0" * 64
    with pytest.raises(ccxt.AuthenticationError):  # 10004
        wrong.fetch_balance()


def test_signature_and_recv_window_checked_as_bybit_does(bybit_server: LoopbackServer) -> None:
    key = open_account(bybit_server)
    query = "accountType=UNIFIED"
    url = f"{bybit_server.rest_url}/v5/account/wallet-balance?{query}"

    def call(stamp: int, window: int = 5000, secret: str = key.secret) -> dict[str, Any]:
        origin = f"{stamp}{key.key}{window}{query}"
        sign = hmac.new(secret.encode(), origin.encode(), hashlib.sha256).hexdigest()
        headers = {"X-BAPI-API-KEY": key.key, "X-BAPI-TIMESTAMP": str(stamp),
                   "X-BAPI-RECV-WINDOW": str(window), "X-BAPI-SIGN": sign}  # fmt: skip
        answer = requests.get(url, headers=headers, timeout=5)
        assert answer.status_code == 200  # Bybit answers refusals with HTTP 200 too
        body: dict[str, Any] = answer.json()
        return body

    now = int(time.time() * 1000)
    assert call(now)["retCode"] == 0
    assert call(now - 6000)["retCode"] == 10002  # older than the window
    assert call(now - 6000, window=20_000)["retCode"] == 0
    assert call(now + 5000)["retCode"] == 10002  # ahead of the server
    bad = call(now, secret="x")
    assert bad["retCode"] == 10004
    assert key.secret not in bad["retMsg"]


async def test_async_client_trades_both_categories(
    ccxt_async: Callable[..., Any], bybit_server: LoopbackServer
) -> None:
    ex = await ccxt_async(pro=False, rate_limit=True)
    spot = await ex.create_order(SPOT, "market", "buy", None, None, {"cost": 50})
    done = await ex.fetch_closed_order(spot["id"], SPOT)
    # Filled up to the last whole lot (0.1 XRP) the 50 USDT buys.
    assert done["status"] == "closed"
    assert 49.8 <= done["cost"] <= 50
    await ex.create_order(LINEAR, "market", "sell", 30)
    positions = await ex.fetch_positions([LINEAR])
    assert positions[0]["contracts"] == 30
    assert positions[0]["side"] == "short"
    balance = await ex.fetch_balance()
    trades = await ex.fetch_my_trades(SPOT)
    bought = sum(Decimal(t["info"]["execQty"]) for t in trades)
    fees = sum(Decimal(t["info"]["execFee"]) for t in trades)
    # A spot buy pays its fee in the coin bought.
    assert Decimal(str(balance["XRP"]["total"])) == FUNDS["XRP"] + bought - fees


def test_take_profit_and_stop_loss_sent_with_the_order(
    ccxt_sync: Callable[..., Any], bybit_server: LoopbackServer
) -> None:
    ex = ccxt_sync()
    bid, _ = _book(bybit_server, Api.USDM)
    tp, sl = bid + Decimal("0.25"), bid - Decimal("0.25")
    ex.create_order(LINEAR, "market", "buy", 30, None,
                    {"takeProfit": float(tp), "stopLoss": float(sl)})  # fmt: skip
    position = ex.fetch_position(LINEAR)
    assert position["takeProfitPrice"] == float(tp)
    assert position["stopLossPrice"] == float(sl)
    with pytest.raises(ccxt.BadRequest):  # a long's take-profit below the price
        ex.create_order(LINEAR, "market", "buy", 10, None, {"takeProfit": float(sl)})


def test_take_profit_of_a_resting_order_applies_when_it_fills(
    ccxt_sync: Callable[..., Any], bybit_server: LoopbackServer
) -> None:
    ex = ccxt_sync()
    bid, ask = _book(bybit_server, Api.USDM)
    tp = ask + Decimal("0.25")
    order = ex.create_order(LINEAR, "limit", "buy", 20, float(bid - Decimal("0.02")),
                            {"takeProfit": float(tp)})  # fmt: skip
    assert ex.fetch_position(LINEAR)["contracts"] in (None, 0)
    ex.edit_order(order["id"], LINEAR, "limit", "buy", 20, float(ask + Decimal("0.01")))
    deadline = time.monotonic() + 5
    while ex.fetch_position(LINEAR)["takeProfitPrice"] != float(tp):
        assert time.monotonic() < deadline, "the take-profit never reached the position"
        time.sleep(0.05)
    assert ex.fetch_position(LINEAR)["contracts"] == 20
