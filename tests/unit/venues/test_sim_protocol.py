"""Simulator building blocks: signatures and recvWindow, weight limits and bans, fault plans from
TOML, the replay clock, candle-derived flows and looped recordings with continuous update ids."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import time
import tomllib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.book.readers.bybit import decode_bybit_orderbook
from tradewind.exchange_sim.accounts import InsufficientBalance, KeyRing, Permissions
from tradewind.exchange_sim.auth import Need, verify_rest, verify_ws
from tradewind.exchange_sim.candle_flow import CandleFlow
from tradewind.exchange_sim.clock import SimClock, wall_ms
from tradewind.exchange_sim.errors import BinanceError
from tradewind.exchange_sim.faults import Fault, FaultKind, FaultPlan
from tradewind.exchange_sim.limits import LimitConfig, RateLimits
from tradewind.exchange_sim.replay import book_from_depth_stream
from tradewind.exchange_sim.served_candles import GridCandles
from tradewind.exchange_sim.sim_book import MarketBook
from tradewind.exchange_sim.tables import KlineTable

D = Decimal


def _signed(secret: str, query: str) -> str:
    return (
        query
        + "&signature="
        + hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    )


def _codes(fn: object) -> int:
    try:
        fn()  # type: ignore[operator]
    except BinanceError as exc:
        return exc.code
    return 0


def test_signature_time_and_permission_checks() -> None:
    keys = KeyRing()
    key = keys.create("a", permissions=Permissions(spot=False))
    now = wall_ms()
    good = _signed(key.secret, f"symbol=XRPUSDT&timestamp={now}&recvWindow=5000")
    params = dict(p.split("=") for p in good.split("&"))
    assert verify_rest(keys, key.key, good, "", params, Need.READ) is key
    # The same parameters split between query and body sign as their concatenation.
    body_part = good.split("&", 1)[1]
    assert verify_rest(keys, key.key, "symbol=XRPUSDT", body_part, params, Need.READ) is key
    assert _codes(lambda: verify_rest(keys, key.key, good, "", params, Need.SPOT)) == -2015
    assert _codes(lambda: verify_rest(keys, None, good, "", params, Need.READ)) == -2014
    assert _codes(lambda: verify_rest(keys, "nope", good, "", params, Need.READ)) == -2015
    tampered = good.replace("XRPUSDT", "BTCUSDT")
    assert _codes(lambda: verify_rest(keys, key.key, tampered, "", params, Need.READ)) == -1022
    old = _signed(key.secret, f"timestamp={now - 6000}&recvWindow=5000")
    old_params = dict(p.split("=") for p in old.split("&"))
    assert _codes(lambda: verify_rest(keys, key.key, old, "", old_params, Need.READ)) == -1021
    ahead = _signed(key.secret, f"timestamp={now + 5000}")
    assert (
        _codes(
            lambda: verify_rest(keys, key.key, ahead, "", {"timestamp": str(now + 5000)}, Need.READ)
        )
        == -1021
    )
    wide = _signed(key.secret, f"timestamp={now}&recvWindow=70000")
    wide_params = dict(p.split("=") for p in wide.split("&"))
    assert _codes(lambda: verify_rest(keys, key.key, wide, "", wide_params, Need.READ)) == -1131


def test_ws_api_signature_is_over_sorted_params() -> None:
    keys = KeyRing()
    key = keys.create("a")
    params: dict[str, object] = {"apiKey": key.key, "timestamp": wall_ms(), "symbol": "XRPUSDT"}
    text = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = hmac.new(key.secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    assert verify_ws(keys, params, Need.SPOT) is key
    params["symbol"] = "BTCUSDT"
    assert _codes(lambda: verify_ws(keys, params, Need.SPOT)) == -1022


def test_weight_limit_429_then_escalating_418() -> None:
    limits = RateLimits(LimitConfig(weight_per_minute=10, ban_s=2))
    t = 1_700_000_000_000 - 1_700_000_000_000 % 60_000
    assert limits.admit("ip", 10, t)[0] is None
    verdict, used, retry = limits.admit("ip", 1, t + 1)
    assert (verdict, used) == ("429", 11)
    assert retry == 60
    verdict, _, retry = limits.admit("ip", 1, t + 2)
    assert (verdict, retry) == ("418", 2)
    assert limits.admit("ip", 1, t + 1000)[0] == "418"  # still banned
    assert limits.admit("other", 1, t + 1000)[0] is None  # per IP
    assert limits.admit("ip", 1, t + 60_000 + 3000)[0] is None  # a new minute, ban over


def test_order_count_windows() -> None:
    limits = RateLimits(LimitConfig(orders_per_10s=2))
    assert limits.count_order(1, 10_000)[0] is None
    assert limits.count_order(1, 10_001)[0] is None
    assert limits.count_order(1, 10_002)[0] == "10 SECOND"
    assert limits.count_order(1, 20_000)[0] is None


def test_fault_plan_from_toml_and_seeded_draws() -> None:
    text = """
seed = 5
[[fault]]
kind = "server_error"
path = "/api/v3/order"
probability = 0.5
json_body = true

[[fault]]
kind = "ws_disconnect"
path = "ws:btcusdt@trade"
at_request = 3
"""
    draws = []
    for _ in range(2):
        plan = FaultPlan.from_mapping(tomllib.loads(text))
        draws.append([plan.draw("/api/v3/order") is not None for _ in range(40)])
        assert plan.has_stream_faults
        assert [plan.draw_stream("ws:btcusdt@trade") is not None for _ in range(4)] == [
            False,
            False,
            True,
            False,
        ]
    assert draws[0] == draws[1]
    assert 10 < sum(draws[0]) < 30
    with pytest.raises(ValueError, match="unknown kind"):
        FaultPlan.from_mapping({"fault": [{"kind": "meteor"}]})
    with pytest.raises(ValueError, match="unknown keys"):
        FaultPlan.from_mapping({"fault": [{"kind": "stall", "dealy_s": 1}]})
    with pytest.raises(ValueError, match="stream fault"):
        Fault(kind=FaultKind.WS_STALL, path="/api/v3/depth")


def test_replay_clock_speed() -> None:
    clock = SimClock(speed=100.0, start_ms=0)
    time.sleep(0.05)
    assert 4_000 <= clock() <= 20_000
    fast = SimClock(speed=math.inf, start_ms=1000)
    fast.advance_to(5000)
    fast.advance_to(3000)
    assert fast() == 5000
    assert fast.wall_delay_s(10_000) == 0
    with pytest.raises(ValueError, match="positive"):
        SimClock(speed=0)


def test_balances_never_go_negative() -> None:
    account = KeyRing().create("a", balances={"USDT": D(10)}).account
    with pytest.raises(InsufficientBalance):
        account.debit("USDT", D(11))
    res = account.lock("USDT", D(4))
    with pytest.raises(InsufficientBalance):
        account.spend_locked(res, D(5))
    assert account.balance("USDT").free == 6


OHLC = ("open", "high", "low", "close")


def test_candle_flow_is_deterministic_and_its_trades_rebuild_the_candle(
    shared_data: Path,
) -> None:
    frame = pd.read_feather(shared_data / "candles" / "ETH_BTC-5m.feather")
    tick, step = D("0.00000001"), D("0.001")
    table = GridCandles.from_table(KlineTable.from_frame(frame, "5m"), tick)
    a = CandleFlow("ETHBTC", table, tick, step, seed=1).candle_steps(3, 0, None)
    b = CandleFlow("ETHBTC", table, tick, step, seed=1).candle_steps(3, 0, None)
    c = CandleFlow("ETHBTC", table, tick, step, seed=2).candle_steps(3, 0, None)
    assert [(s.bids, s.asks, s.trades) for s in a] == [(s.bids, s.asks, s.trades) for s in b]
    assert [s.bids for s in a] != [s.bids for s in c]
    # The recorded candle, as Binance published it (the file's floats carry noise).
    o, h, lo, cl = (D(repr(float(frame[col].iloc[3]))).quantize(tick) for col in OHLC)
    volume = D(repr(float(frame["volume"].iloc[3]))).quantize(D("0.00000001"))
    trades = [t for s in a for t in s.trades]
    prices = [t.price for t in trades]
    assert (prices[0], max(prices), min(prices), prices[-1]) == (o, h, lo, cl)
    assert sum(t.qty for t in trades) == volume
    assert all(lo <= p <= h for p in prices)
    # A buy lifts the best ask, a sell hits the best bid; the book never crosses.
    for s in a:
        (t,) = s.trades
        assert t.price == (max(s.bids) if t.buyer_maker else min(s.asks))
        assert min(s.asks) > max(s.bids)
    assert [s.offset_ms for s in a] == [i * 37_500 for i in range(8)]


def test_looped_recording_keeps_update_ids_continuous(shared_data: Path) -> None:
    stream = decode_bybit_orderbook(shared_data / "orderbook" / "bybit-xrpusdt-ob500.data.zip")
    recording = book_from_depth_stream(stream, D("0.0001"), D("0.1"))
    book = MarketBook()
    diffs = []
    steps = iter(recording)
    first_pass_end = None
    for k in range(len(recording.steps) * 2 + 1):
        step = next(steps)
        if step.snapshot:
            book.replace_replay(step.bids, step.asks)
        else:
            for p, q in step.bids.items():
                book.set_replay(True, p, q)
            for p, q in step.asks.items():
                book.set_replay(False, p, q)
        diff = book.flush()
        if diff is not None:
            diffs.append(diff)
        if k == 0:
            first = book.snapshot(500)
        if k == len(recording.steps):
            first_pass_end = book.snapshot(500)
    assert step.offset_ms >= 2 * recording.period_ms  # the third pass has begun
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(diffs))
    assert first_pass_end is not None
    assert first_pass_end[1:] == first[1:]  # the rewind restores the first snapshot
    assert first_pass_end[0] > first[0]  # with newer ids
    assert np.all(np.diff([d[1] for d in diffs]) > 0)
