"""Every decision the order path stores (an order, a fill, a risk denial) is chained into the audit
trail in the transaction that stores it, interleaved with operator actions in one verifiable
chain, on SQLite and PostgreSQL; a decision whose audit row cannot be written is not stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

import tradewind
from tradewind.core.repository import RiskEvent
from tradewind.data.bundled import load_bundled
from tradewind.engine.bus import MessageBus
from tradewind.engine.recording import RepositoryRecorder
from tradewind.persistence.audit import record_operator_action, verify_chain
from tradewind.persistence.bots import BotDatabase, open_bot
from tradewind.persistence.engine import make_engine, upgrade
from tradewind.persistence.models import FillRow, OperatorActionRow, OrderRow

KEY = b"decisions-audit-test-key-32bytes"
_ACTIONS = OperatorActionRow.__table__


def _bot(db_url: str, name: str) -> BotDatabase:
    """Bot ``name`` in a shared database (migrated first, as `tradewind db upgrade` does)."""
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
    return open_bot(name, bots_dir="unused", url=db_url)


def _backtest(bus: MessageBus) -> tradewind.BacktestResult:
    frame, _ = load_bundled()
    return tradewind.backtest("sma_cross", frame.iloc[:4000], {"fast": 10, "slow": 30},
                              cash=100_000, fee=0.001, bus=bus)  # fmt: skip


def test_orders_fills_and_denials_are_chained(db_url: str, tmp_path: Path) -> None:
    bot = _bot(db_url, "chained")
    bus = MessageBus()
    record_operator_action(bot.engine, KEY, actor="ops", channel="cli", action="pause")
    with bot.repository(audit_key=KEY) as repository:
        RepositoryRecorder(repository).attach(bus)
        result = _backtest(bus)
        repository.record_risk_event(RiskEvent(ts=1_640_995_200_000, kind="denial",
                                               reason="breakers are HALTED (daily_loss)",
                                               strategy_id="sma_cross", symbol="BTC/USDT",
                                               action="ENTER_LONG", code="breaker.daily_loss"))  # fmt: skip
    record_operator_action(bot.engine, KEY, actor="ops", channel="cli", action="resume")
    with bot.engine.connect() as connection:
        rows = list(connection.execute(select(_ACTIONS).order_by(_ACTIONS.c.id)))
        orders = connection.execute(select(OrderRow.client_id).order_by(OrderRow.id)).scalars()
        fills = connection.execute(select(FillRow.client_id).order_by(FillRow.id)).scalars()
        stored_orders, stored_fills = list(orders), list(fills)
    assert len(result.orders) >= 10  # not vacuous
    actions = [row.action for row in rows]
    assert actions[0] == "pause"
    assert actions[-2:] == ["risk.denial", "resume"]
    chained = {kind: [json.loads(r.detail)["client_id"] for r in rows if r.action == kind]
               for kind in ("order", "fill")}  # fmt: skip
    assert chained["order"] == stored_orders == list(result.orders["client_id"])
    assert chained["fill"] == stored_fills
    denial = json.loads(rows[-2].detail)
    assert (denial["code"], rows[-2].actor) == ("breaker.daily_loss", "strategy:sma_cross")
    report = verify_chain(bot.engine, KEY)
    assert report.ok, report.problem
    assert report.rows == len(rows)
    # A fill's audit row removed: the chain names where.
    victim = next(r for r in rows if r.action == "fill")
    with bot.engine.begin() as connection:
        connection.execute(delete(_ACTIONS).where(_ACTIONS.c.id == victim.id))
    broken = verify_chain(bot.engine, KEY)
    assert broken.row_id == victim.id + 1
    assert "deleted" in (broken.problem or "")
    bot.engine.dispose()


def test_an_order_whose_audit_row_fails_is_not_stored(sqlite_db: str, tmp_path: Path) -> None:
    bot = _bot(sqlite_db, "atomic")
    with bot.engine.begin() as connection:
        connection.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON operator_actions "
                                "BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END"))  # fmt: skip
    bus = MessageBus()
    with bot.repository(audit_key=KEY) as repository:
        RepositoryRecorder(repository).attach(bus)
        with pytest.raises(Exception, match="audit unavailable"):
            _backtest(bus)
    with bot.engine.connect() as connection:
        assert connection.execute(select(OrderRow.id)).first() is None
    bot.engine.dispose()
