"""Repeated venue errors during a live session: the session confirms a native stop on its open
position (or flattens it, as configured), records it in the audit trail, alerts, and stops
trading live; the bot's next live start falls back to paper until an operator resumes with a
two-factor code.

The exchange simulator (the real ccxt client) serves HTTP 503 on the order endpoint three times
in a row just as the strategy's exit goes out: the exit is refused with nothing proven, its
lookups fail too, and three venue errors within the window trip the fallback while the bot is
still long. Each effect is checked on the simulator's own ledger.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from tests.integration.session.test_live_ops import SYMBOL, XRP, Cycle, Live, _operate, until

from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.cli.trade import _run
from tradewind.config import AppConfig
from tradewind.connectors.config import ExchangeConfig
from tradewind.exchange_sim import LoopbackServer, SimClock, SimExchange
from tradewind.exchange_sim.accounts import Permissions
from tradewind.exchange_sim.faults import Fault, FaultKind
from tradewind.exchange_sim.recordings import shared_listings
from tradewind.ops.fallback import FALLBACK_ACTION, FallbackPolicy, live_refusal
from tradewind.ops.venue_errors import VenueErrorPolicy
from tradewind.persistence.audit import verify_chain
from tradewind.persistence.config import DatabaseConfig
from tradewind.persistence.models import OperatorActionRow, TradingSession
from tradewind.session.live import LiveConfig
from tradewind.session.operate import SessionOps
from tradewind.session.paper import PaperConfig


async def _trip(live: Live, seen: dict[str, Any]) -> None:
    """Wait until long, then fail the next three order requests (the exit and its lookups)."""
    assert live.ops.events is not None
    live.ops.events.subscribe(lambda topic, payload: seen.setdefault("alerts", []).append(
        (topic, payload)) if topic.startswith("alert.") else None)  # fmt: skip
    await live.connect()
    await live.until_long()
    live.server.sim.faults.add(Fault(kind=FaultKind.SERVER_ERROR, path="/api/v3/order", times=3,
                                     status=503))  # fmt: skip
    await until(lambda: live.session.status.phase == "stopping", "the fallback to stop the session")


def _fallback_rows(live: Live) -> list[Any]:
    return _fallback_rows_of(live.ops)


def _fallback_rows_of(ops: SessionOps) -> list[Any]:
    assert ops.database is not None
    with ops.database.engine.connect() as connection:
        return list(connection.execute(select(OperatorActionRow).where(
            OperatorActionRow.action == FALLBACK_ACTION)))  # fmt: skip


@pytest.mark.slow
async def test_venue_errors_confirm_a_native_stop_record_alert_and_end_live(
    shared_data: Path, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}
    policy = VenueErrorPolicy(max_errors=3, window_s=30, on_trip="stop")
    live = await _operate(shared_data, tmp_path, 3, lambda lv: _trip(lv, seen),
                          venue_errors=policy)  # fmt: skip
    session = live.session
    assert session.fell_back.startswith("3 venue errors within 30s"), session.fell_back
    # The stop rests on the exchange after the session ended: a sell stop below the market for
    # the position the bot holds there.
    ledger = await live.ledger()
    stops = [o for o in ledger if o.type == "STOP_LOSS" and o.status == "NEW"]
    assert len(stops) == 1, [(o.client_id, o.type, o.status) for o in ledger]
    stop = stops[0]
    assert stop.side == "SELL"
    held = live.key.account.balance("XRP").total - XRP
    assert held > 0
    assert stop.qty <= held
    assert session.driver is not None
    last_close = Decimal(str(session.driver.bars["XRP/ETH"].close[-1]))
    assert stop.stop_price is not None
    assert stop.stop_price < last_close
    # Nothing else is working there: the failed exit never reached the book.
    assert [o.client_id for o in ledger if o.status == "NEW"] == [stop.client_id]
    # Recorded in the audit trail (channel engine), and the chain still verifies.
    rows = _fallback_rows(live)
    assert len(rows) == 1
    assert (rows[0].actor, rows[0].channel) == ("engine", "engine")
    assert json.loads(rows[0].detail)["stops"] == [stop.client_id]
    assert live.ops.database is not None
    assert verify_chain(live.ops.database.engine, live.ops.audit_key).ok
    # Alerted (the event stream and notifiers hear alert.*).
    topics = [t for t, _ in seen["alerts"]]
    assert "alert.venue_errors" in topics
    message = dict(seen["alerts"])["alert.venue_errors"]["message"]
    assert "falling back to paper" in message
    assert stop.client_id in message
    # The next live start falls back to paper, however long ago the errors were.
    refusal = live_refusal(live.ops.database, FallbackPolicy(max_failed=100))
    assert refusal is not None
    assert "live-resume" in refusal


@pytest.mark.slow
async def test_venue_errors_flatten_when_so_configured(shared_data: Path, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    policy = VenueErrorPolicy(max_errors=3, window_s=30, on_trip="flatten")
    live = await _operate(shared_data, tmp_path, 3, lambda lv: _trip(lv, seen),
                          venue_errors=policy)  # fmt: skip
    assert live.session.fell_back
    ledger = await live.ledger()
    assert [o for o in ledger if o.status == "NEW"] == []  # no stop, nothing working
    # Flat on the exchange: within a lot step (1 XRP) of the starting balance.
    assert abs(live.key.account.balance("XRP").total - XRP) < Decimal(1)
    rows = _fallback_rows(live)
    assert len(rows) == 1
    detail = json.loads(rows[0].detail)
    assert detail["flattened"] == ["cycle_live:XRP/ETH"]
    assert detail["stops"] == []


@pytest.mark.slow
async def test_trade_goes_on_in_paper_after_a_venue_fallback(
    shared_data: Path, tmp_path: Path
) -> None:
    """`tradewind trade`'s runner: the live session's first order and its lookups meet 503s, the
    session falls back (nothing held: nothing to protect), and the bot trades paper from there,
    as a second session of the same bot, recorded in its own folder."""
    sim = SimExchange(seed=31, clock=SimClock(speed=120), history=0.5)
    frame = pd.read_feather(shared_data / "candles" / "XRP_ETH-1m.feather")
    sim.add_listing(shared_listings()["spot:XRPETH"], klines={"1m": frame})
    sim.faults.add(Fault(kind=FaultKind.SERVER_ERROR, path="/api/v3/order", times=3, status=503))
    app = AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path / "bots")))
    async with LoopbackServer(sim) as server:
        key = server.call(lambda: server.sim.open_account(
            "fallback-cli", balances={"ETH": 10, "XRP": XRP},
            permissions=Permissions(ip_restrict=True)))  # fmt: skip
        common: dict[str, Any] = {
            "strategies": [Cycle(3)], "symbols": (SYMBOL,), "timeframe": "1m",
            "spec": BacktestSpec(account=Account(cash="1", stake="50%")), "warmup_bars": 20,
        }  # fmt: skip
        exchange = ExchangeConfig(rest_url=server.rest_url, api_key=key.key, secret=key.secret,
                                  rate_limit=False, timeout_ms=15_000)  # fmt: skip
        config = LiveConfig(exchange=exchange, run_dir=tmp_path / "live", max_capital=Decimal(1),
                            confirmed=True, poll_s=0.05, **common,
                            venue_errors=VenueErrorPolicy(max_errors=3, window_s=30))  # fmt: skip
        ops = SessionOps(app, "fallback-cli", mode="live")

        def paper_after() -> tuple[PaperConfig, SessionOps]:
            paper = PaperConfig(exchange=exchange, run_dir=tmp_path / "live" / "paper-fallback",
                                max_bars=3, **common)  # fmt: skip
            return paper, SessionOps(app, "fallback-cli", mode="paper", fallback=True)

        result = await _run(config, ops, paper_after)
    assert result is not None
    assert ops.database is not None
    with ops.database.engine.connect() as connection:
        sessions = connection.execute(
            select(TradingSession.mode, TradingSession.end_reason).order_by(TradingSession.id)
        ).all()
    assert [mode for mode, _ in sessions] == ["live", "paper"]
    assert sessions[0][1].startswith("fallback to paper: 3 venue errors")
    assert sessions[1][1] == "--max-bars 3 reached"
    rows = _fallback_rows_of(ops)
    assert [(r.actor, r.channel) for r in rows] == [("engine", "engine")]
    assert json.loads(rows[0].detail)["positions"] == []
