"""Transaction-cost analysis: the formulas on hand-checked numbers, the 3-sigma slippage alert, and
the aggregates."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from tradewind.core.orders import Fill, Liquidity
from tradewind.core.records import Side
from tradewind.execution.tca import ALERT_MIN_HISTORY, MarketTape, TcaBook, measure
from tradewind.testing.execution_replay import XRPUSDT


def _fill(ts: int, price: str, qty: str, fee: str, liquidity: Liquidity, side: Side) -> Fill:
    return Fill("p-1", "XRPUSDT", side, ts, Decimal(price), Decimal(qty), Decimal(fee), "USDT",
                liquidity, f"t{ts}")  # fmt: skip


TAPE = MarketTape(
    mid_ts=np.array([0, 1_000, 2_000, 3_000], np.int64),
    mid=np.array([2.0, 2.002, 2.004, 2.01]),
    trade_ts=np.array([500, 1_500], np.int64),
    price=np.array([2.001, 2.003]),
    volume=np.array([100.0, 300.0]),
)


def test_shortfall_fees_opportunity_and_benchmarks_of_a_partly_filled_buy() -> None:
    fills = [
        _fill(1_000, "2.002", "60", "0.02402", Liquidity.TAKER, Side.BUY),
        _fill(2_000, "2.004", "20", "0", Liquidity.MAKER, Side.BUY),
    ]
    r = measure(execution_id="p", kind="parent", strategy_id="s", venue="bybit", algo="twap",
                instrument=XRPUSDT, side=Side.BUY, quantity=Decimal(100), fills=fills,
                arrival_mid=2.0, start_ts=0, end_ts=3_000, tape=TAPE)  # fmt: skip
    avg = (2.002 * 60 + 2.004 * 20) / 80
    assert r.fill_rate == pytest.approx(0.8)
    assert r.shortfall_bps == pytest.approx((avg - 2.0) / 2.0 * 1e4)
    assert r.fee_bps == pytest.approx(0.02402 / (avg * 80) * 1e4)
    assert r.market_move_bps == pytest.approx(50.0)  # 2.0 -> 2.01
    assert r.opportunity_bps == pytest.approx(50.0 * 0.2)
    assert r.total_cost_bps == pytest.approx((r.shortfall_bps + r.fee_bps) * 0.8 + 10.0)
    vwap = (2.001 * 100 + 2.003 * 300) / 400
    assert r.slippage_vwap_bps == pytest.approx((avg - vwap) / vwap * 1e4)
    assert r.slippage_twap_bps == pytest.approx((avg - np.mean(TAPE.mid)) / np.mean(TAPE.mid) * 1e4)
    assert r.slippage_mid_bps == pytest.approx(0.0, abs=1e-9)  # filled at the mid each time
    assert r.maker_share == pytest.approx(0.25)
    assert r.time_to_fill_ms == 2_000


def test_a_sell_below_arrival_is_a_cost_and_nothing_filled_is_only_opportunity() -> None:
    sold = measure(execution_id="o", kind="order", strategy_id="s", venue="v", algo="market",
                   instrument=XRPUSDT, side=Side.SELL, quantity=Decimal(10),
                   fills=[_fill(0, "1.99", "10", "0", Liquidity.TAKER, Side.SELL)],
                   arrival_mid=2.0, start_ts=0, end_ts=0, tape=TAPE)  # fmt: skip
    assert sold.shortfall_bps == pytest.approx(50.0)
    none = measure(execution_id="o2", kind="order", strategy_id="s", venue="v", algo="smart_limit",
                   instrument=XRPUSDT, side=Side.SELL, quantity=Decimal(10), fills=[],
                   arrival_mid=2.0, start_ts=0, end_ts=3_000, tape=TAPE)  # fmt: skip
    assert math.isnan(none.shortfall_bps)
    assert none.opportunity_bps == pytest.approx(-50.0)  # the price rose: waiting paid off
    assert none.as_dict()["shortfall_bps"] is None


def test_slippage_beyond_three_sigma_of_its_history_raises_an_alert() -> None:
    alerts = []
    book = TcaBook(on_alert=alerts.append)
    rng = np.random.default_rng(3)
    for k in range(ALERT_MIN_HISTORY + 5):
        price = f"{2.0 * (1 + rng.normal(0, 2e-4)):.6f}"
        fill = _fill(0, price, "1", "0", Liquidity.TAKER, Side.BUY)
        r = measure(execution_id=f"e{k}", kind="parent", strategy_id="s", venue="v", algo="twap",
                    instrument=XRPUSDT, side=Side.BUY, quantity=Decimal(1), fills=[fill],
                    arrival_mid=2.0, start_ts=0, end_ts=0, tape=TAPE)  # fmt: skip
        assert book.add(r) is None
    outlier = measure(execution_id="bad", kind="parent", strategy_id="s", venue="v", algo="twap",
                      instrument=XRPUSDT, side=Side.BUY, quantity=Decimal(1),
                      fills=[_fill(0, "2.03", "1", "0", Liquidity.TAKER, Side.BUY)],
                      arrival_mid=2.0, start_ts=0, end_ts=0, tape=TAPE)  # fmt: skip
    alert = book.add(outlier)
    assert alert is not None
    assert alerts == [alert]
    assert alert.execution_id == "bad"
    assert alert.slippage_bps > alert.mean_bps + 3 * alert.std_bps
    rows = book.aggregate("algo")
    assert rows[0]["algo"] == "twap"
    assert rows[0]["count"] == ALERT_MIN_HISTORY + 6
    assert set(book.as_dict()) == {"records", "alerts", "by_strategy", "by_venue", "by_algo"}


def test_a_restarted_book_judges_slippage_against_the_stored_history() -> None:
    rng = np.random.default_rng(4)
    history = []
    for k in range(ALERT_MIN_HISTORY):
        price = f"{2.0 * (1 + rng.normal(0, 2e-4)):.6f}"
        fill = _fill(0, price, "1", "0", Liquidity.TAKER, Side.BUY)
        history.append(measure(execution_id=f"e{k}", kind="parent", strategy_id="s", venue="v",
                               algo="twap", instrument=XRPUSDT, side=Side.BUY,
                               quantity=Decimal(1), fills=[fill], arrival_mid=2.0, start_ts=0,
                               end_ts=0, tape=TAPE))  # fmt: skip
    outlier = measure(execution_id="bad", kind="parent", strategy_id="s", venue="v", algo="twap",
                      instrument=XRPUSDT, side=Side.BUY, quantity=Decimal(1),
                      fills=[_fill(0, "2.03", "1", "0", Liquidity.TAKER, Side.BUY)],
                      arrival_mid=2.0, start_ts=0, end_ts=0, tape=TAPE)  # fmt: skip
    fresh = TcaBook()
    assert fresh.add(outlier) is None  # no history: nothing is abnormal yet
    restarted = TcaBook()
    restarted.learn(history)
    assert restarted.records == []
    alert = restarted.add(outlier)
    assert alert is not None
    assert alert.execution_id == "bad"
