"""Bybit's official SDK ``pybit`` against the simulator: a second, independent reading of the
protocol, so a misunderstanding is not shared by the simulator and its only client.

pybit builds its URLs from Bybit's host names; the tests point the REST session's ``endpoint`` and
the module's WebSocket URL templates at the loopback server (an internet address swapped for a
local one, nothing else). The REST rate limiter is pybit's own ``max_retries``/``retry_delay``
handling of ``10006``: "on" (3 tries) waits out a rate limit and retries, "off" (1 try)
raises at once.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from copy import deepcopy
from decimal import Decimal
from typing import Any

import pytest
from bybitkit import open_account

pybit_http = pytest.importorskip("pybit.unified_trading")
from pybit.exceptions import FailedRequestError, InvalidRequestError  # noqa: E402

from tradewind.exchange_sim import Fault, FaultKind, LoopbackServer, SimExchange  # noqa: E402
from tradewind.exchange_sim.bybit import build_bybit_app  # noqa: E402


def _session(server: LoopbackServer, *, limiter: bool, keyed: bool = True) -> Any:
    key = open_account(server) if keyed else None
    session = pybit_http.HTTP(
        api_key=key.key if key else None,
        api_secret=key.secret if key else None,
        max_retries=3 if limiter else 1,  # pybit sends nothing with 0
        retry_delay=0.05,
        recv_window=5000,
    )
    session.endpoint = server.rest_url
    session.sim_key = key
    return session


@pytest.fixture
def ws_at(bybit_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Point pybit's WebSocket URL templates at the server; exit every socket made."""
    monkeypatch.setattr(
        pybit_http, "PUBLIC_WSS", f"{bybit_server.ws_url}/v5/public/{{CHANNEL_TYPE}}"
    )
    monkeypatch.setattr(pybit_http, "PRIVATE_WSS", f"{bybit_server.ws_url}/v5/private")
    made: list[Any] = []
    yield made
    for ws in made:
        ws.exit()


@pytest.mark.parametrize("limiter", [False, True], ids=["limiter-off", "limiter-on"])
def test_public_rest(bybit_server: LoopbackServer, limiter: bool) -> None:
    http = _session(bybit_server, limiter=limiter, keyed=False)
    assert abs(int(http.get_server_time()["result"]["timeSecond"]) - time.time()) < 5
    info = http.get_instruments_info(category="linear", symbol="XRPUSDT")["result"]["list"][0]
    assert info["lotSizeFilter"]["qtyStep"] == "1"
    assert info["priceFilter"]["tickSize"] == "0.0001"
    book = http.get_orderbook(category="linear", symbol="XRPUSDT", limit=50)["result"]
    assert len(book["b"]) == 50
    assert Decimal(book["b"][0][0]) < Decimal(book["a"][0][0])
    ticker = http.get_tickers(category="spot", symbol="XRPUSDT")["result"]["list"][0]
    assert Decimal(ticker["bid1Price"]) < Decimal(ticker["ask1Price"])
    klines = http.get_kline(category="spot", symbol="BTCUSDT", interval="1", limit=3)
    rows = klines["result"]["list"]
    assert rows
    assert [int(r[0]) for r in rows] == sorted((int(r[0]) for r in rows), reverse=True)
    trades = http.get_public_trade_history(category="spot", symbol="BTCUSDT", limit=5)
    assert len(trades["result"]["list"]) == 5
    with pytest.raises(InvalidRequestError) as refused:
        http.get_orderbook(category="linear", symbol="NOPEUSDT")
    assert refused.value.status_code == 10001


@pytest.mark.parametrize("limiter", [False, True], ids=["limiter-off", "limiter-on"])
def test_funding_history_and_klines_of_the_recorded_futures(
    bybit_history_exchange: Any, limiter: bool
) -> None:
    with LoopbackServer(bybit_history_exchange, app_factory=build_bybit_app) as server:
        http = _session(server, limiter=limiter, keyed=False)
        funding = http.get_funding_rate_history(category="linear", symbol="XRPUSDT", limit=5)
        rows = funding["result"]["list"]
        assert len(rows) == 5
        stamps = [int(r["fundingRateTimestamp"]) for r in rows]
        # Bybit's funding times: 00:00, 08:00 and 16:00 UTC; newest first.
        assert all(t % 28_800_000 == 0 for t in stamps)
        assert stamps == sorted(stamps, reverse=True)
        klines = http.get_kline(category="linear", symbol="XRPUSDT", interval="60", limit=4)
        assert len(klines["result"]["list"]) == 4


@pytest.mark.parametrize("limiter", [False, True], ids=["limiter-off", "limiter-on"])
def test_trading_and_account(bybit_server: LoopbackServer, limiter: bool) -> None:
    http = _session(bybit_server, limiter=limiter)
    book = http.get_orderbook(category="linear", symbol="XRPUSDT", limit=1)["result"]
    bid = Decimal(book["b"][0][0])
    placed = http.place_order(category="linear", symbol="XRPUSDT", side="Buy", orderType="Limit",
                              qty="20", price=str(bid - Decimal("0.02")), orderLinkId="pb-1")  # fmt: skip
    order_id = placed["result"]["orderId"]
    assert placed["result"]["orderLinkId"] == "pb-1"
    http.amend_order(category="linear", symbol="XRPUSDT", orderId=order_id, qty="25")
    open_orders = http.get_open_orders(category="linear", symbol="XRPUSDT")["result"]["list"]
    assert [(o["orderId"], o["qty"], o["orderStatus"]) for o in open_orders] == [
        (order_id, "25", "New")
    ]
    http.cancel_order(category="linear", symbol="XRPUSDT", orderLinkId="pb-1")
    history = http.get_order_history(category="linear", symbol="XRPUSDT")["result"]["list"]
    assert history[0]["orderId"] == order_id
    assert history[0]["orderStatus"] == "Cancelled"
    http.set_leverage(category="linear", symbol="XRPUSDT", buyLeverage="5", sellLeverage="5")
    http.place_order(category="linear", symbol="XRPUSDT", side="Sell", orderType="Market", qty="40")
    position = http.get_positions(category="linear", symbol="XRPUSDT")["result"]["list"][0]
    assert (position["side"], position["size"], position["leverage"]) == ("Sell", "40", "5")
    http.set_trading_stop(category="linear", symbol="XRPUSDT", positionIdx=0,
                          takeProfit=str(bid - Decimal("0.3")))  # fmt: skip
    position = http.get_positions(category="linear", symbol="XRPUSDT")["result"]["list"][0]
    assert Decimal(position["takeProfit"]) == bid - Decimal("0.3")
    fills = http.get_executions(category="linear", symbol="XRPUSDT")["result"]["list"]
    fee = sum(Decimal(f["execFee"]) for f in fills)
    assert sum(Decimal(f["execQty"]) for f in fills) == 40
    assert fee > 0
    position = http.get_positions(category="linear", symbol="XRPUSDT")["result"]["list"][0]
    assert Decimal(position["cumRealisedPnl"]) == -fee  # opened only: the fees so far
    wallet = http.get_wallet_balance(accountType="CONTRACT")["result"]["list"][0]["coin"][0]
    assert Decimal(wallet["walletBalance"]) == Decimal(20_000) - fee
    with pytest.raises(InvalidRequestError) as refused:
        http.place_order(category="spot", symbol="XRPUSDT", side="Buy", orderType="Limit",
                         qty="1000000", price=str(bid))  # fmt: skip
    assert refused.value.status_code == 170131


def test_limiter_on_retries_a_rate_limited_request(bybit_server: LoopbackServer) -> None:
    bybit_server.faults.add(
        Fault(kind=FaultKind.RATE_LIMIT, path="/v5/market/time", retry_after_s=0)
    )
    retrying = _session(bybit_server, limiter=True, keyed=False)
    assert retrying.get_server_time()["retCode"] == 0
    bybit_server.faults.add(
        Fault(kind=FaultKind.RATE_LIMIT, path="/v5/market/time", retry_after_s=0)
    )
    plain = _session(bybit_server, limiter=False, keyed=False)
    with pytest.raises(FailedRequestError, match="retries exceeded"):  # one try, rate-limited
        plain.get_server_time()
    assert len(bybit_server.faults.injected(FaultKind.RATE_LIMIT)) == 2


# Bounded: a pybit socket that keeps reconnecting would otherwise hold the run for pytest's 300 s.
@pytest.mark.timeout(90)
def test_websockets(
    bybit_sim: SimExchange,
    bybit_server: LoopbackServer,
    ws_at: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pybit records a subscription's req_id only after sending it, so an ack that comes back
    # before that line runs is a KeyError in its reader thread and the socket exits for good
    # (seen once in CI). Over any real network the ack trails by a round trip: give the venue
    # one (200 ms: room on a loaded machine), rather than answer faster than the client listens.
    monkeypatch.setattr(bybit_sim, "latency_s", 0.2)
    books: queue.Queue[dict[str, Any]] = queue.Queue()
    private: queue.Queue[dict[str, Any]] = queue.Queue()
    public = pybit_http.WebSocket(
        testnet=False, channel_type="linear", ping_interval=20, ping_timeout=10
    )
    ws_at.append(public)
    # pybit hands over its one local book, updated in place: keep a copy of each state.
    public.orderbook_stream(depth=50, symbol="XRPUSDT", callback=lambda m: books.put(deepcopy(m)))
    # pybit applies each delta to its own copy (a wrong delete would raise in its thread) and
    # hands over the whole book each time.
    seen = [books.get(timeout=10) for _ in range(10)]
    ids = [m["data"]["u"] for m in seen]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    for message in seen:
        bids, asks = message["data"]["b"], message["data"]["a"]
        assert len(bids) == 50
        assert len(asks) == 50
        assert max(Decimal(p) for p, _ in bids) < min(Decimal(p) for p, _ in asks)
    http = _session(bybit_server, limiter=False)
    key = http.sim_key
    mine = pybit_http.WebSocket(testnet=False, channel_type="private", api_key=key.key,
                                api_secret=key.secret, ping_interval=20, ping_timeout=10)  # fmt: skip
    ws_at.append(mine)
    mine.order_stream(callback=private.put)
    mine.execution_stream(callback=private.put)
    mine.wallet_stream(callback=private.put)
    time.sleep(0.3)
    http.place_order(category="linear", symbol="XRPUSDT", side="Buy", orderType="Market", qty="10")
    topics = set()
    deadline = time.monotonic() + 10
    while {"order", "execution", "wallet"} - topics and time.monotonic() < deadline:
        message = private.get(timeout=10)
        topics.add(message["topic"])
        if message["topic"] == "execution":
            assert message["data"][0]["execQty"] == "10"
    assert {"order", "execution", "wallet"} <= topics
