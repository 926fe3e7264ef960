"""Parent orders and execution costs in the bot's database, on SQLite and PostgreSQL: a parent's
row round-trips every setting a restart needs, and cost rows are stored once and aggregated by
strategy, venue and algorithm."""

from __future__ import annotations

import math
from decimal import Decimal

from tradewind.core.algo_spec import Algo, AlgoSpec, Timeout
from tradewind.core.records import Side
from tradewind.execution.parent import Parent, ParentStatus
from tradewind.execution.tca import TcaRecord
from tradewind.persistence.bots import open_bot
from tradewind.persistence.engine import make_engine, upgrade
from tradewind.persistence.execution import ExecutionStore, spec_from_json, spec_to_json

T0 = 1_767_225_600_000


def _store(db_url: str) -> ExecutionStore:
    upgrade(make_engine(db_url))
    bot = open_bot("parents", bots_dir="unused", url=db_url)
    session = bot.start_session(mode="paper", strategies=["s"], parameters={}, config_hash="",
                                code_version="")  # fmt: skip
    return ExecutionStore(bot.engine, bot.bot_id, session)


def _record(execution_id: str, algo: str, slippage: float, quantity: float = 1.0) -> TcaRecord:
    return TcaRecord(
        execution_id=execution_id, kind="parent", strategy_id="s", venue="binance", algo=algo,
        symbol="XRP/USDT", side="buy", quantity=quantity, filled=quantity, fill_rate=1.0,
        average_price=0.5, arrival_mid=0.5, final_mid=0.5, shortfall_bps=slippage, fee_bps=10.0,
        opportunity_bps=0.0, total_cost_bps=slippage + 10.0, slippage_mid_bps=slippage,
        slippage_vwap_bps=math.nan, slippage_twap_bps=1.5, market_move_bps=0.0, maker_share=0.0,
        fees_quote=0.001, time_to_fill_ms=60_000, start_ts=T0, end_ts=T0 + 60_000,
    )  # fmt: skip


def test_a_parent_row_round_trips_what_a_restart_needs(db_url: str) -> None:
    store = _store(db_url)
    spec = AlgoSpec(algo=Algo.VWAP, horizon_ms=600_000, slices=3, jitter=0.1, seed=4,
                    volume_curve=(0.2, 0.5, 0.3), guard_bps=Decimal("25.5"),
                    on_timeout=Timeout.CANCEL)  # fmt: skip
    assert spec_from_json(spec_to_json(spec)) == spec
    parent = Parent("tw-lv-a-3", "s", "XRP/USDT", Side.BUY, Decimal("120.5"), spec, False, T0,
                    Decimal("0.51234"), plan=[(T0, Decimal("40")), (T0 + 200_000, Decimal("80.5"))],
                    chosen_by="policy: deep book")  # fmt: skip
    store.write_parent(parent)
    parent.numbered, parent.filled_quantity = 2, Decimal("40")
    store.write_parent(parent)
    [working] = store.parents(working_only=True)
    back = working.parent
    assert working.children == 2
    assert (back.parent_id, back.side, back.quantity, back.spec, back.plan, back.created_ts,
            back.arrival_mid, back.chosen_by, back.status) == (
        "tw-lv-a-3", Side.BUY, Decimal("120.5"), spec, parent.plan, T0, Decimal("0.51234"),
        "policy: deep book", ParentStatus.WORKING)  # fmt: skip
    parent.status, parent.reason, parent.ended_ts = ParentStatus.DONE, "filled", T0 + 5
    store.write_parent(parent)
    assert store.parents(working_only=True) == []
    [done] = store.parents()
    assert (done.parent.status, done.parent.reason, done.parent.ended_ts) == (
        ParentStatus.DONE, "filled", T0 + 5)  # fmt: skip


def test_costs_are_stored_once_and_aggregated(db_url: str) -> None:
    store = _store(db_url)
    assert store.record_costs([_record("p1", "twap", 4.0), _record("p2", "vwap", 2.0, 3.0)]) == 2
    assert store.record_costs([_record("p1", "twap", 99.0), _record("p3", "twap", 8.0, 3.0)]) == 1
    costs = {r.execution_id: r for r in store.costs()}
    assert sorted(costs) == ["p1", "p2", "p3"]
    assert costs["p1"].slippage_mid_bps == 4.0  # the first record stays
    assert math.isnan(costs["p1"].slippage_vwap_bps)
    assert costs["p1"].end_ts == T0 + 60_000
    summary = store.summary()
    by_algo = {row["algo"]: row for row in summary["by_algo"]}
    assert by_algo["twap"]["count"] == 2
    assert by_algo["twap"]["slippage_mid_bps"] == (4.0 * 1 + 8.0 * 3) / 4  # quantity-weighted
    assert by_algo["twap"]["slippage_vwap_bps"] is None
    assert [row["venue"] for row in summary["by_venue"]] == ["binance"]
    assert summary["by_strategy"][0]["count"] == 3
