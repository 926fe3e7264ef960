"""Breaker trips in a trading session are their own rows in the HMAC audit chain (channel
``engine``), each written with its risk-event row in one transaction, and go out on the event
stream; the chain still verifies, and an edited breaker row is caught.

A paper driver under a tight daily-loss breaker and a crash breaker is fed the bundled 5-minute
bars (two markets, 500 closes) one close at a time, with the session's operator side (a SQLite
bot database) recording.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select, update

from tradewind.backtest.api import prepare
from tradewind.backtest.inputs import strategies_from
from tradewind.backtest.spec import Account, BacktestSpec
from tradewind.config import AppConfig
from tradewind.core.timeframe import Timeframe
from tradewind.data.recorded import bundled_recorded_dir
from tradewind.persistence.audit import verify_chain
from tradewind.persistence.config import DatabaseConfig
from tradewind.persistence.models import OperatorActionRow, RiskEventRow
from tradewind.risk.config import parse_risk
from tradewind.series.bars import BarSeries
from tradewind.session.driver import PaperDriver
from tradewind.session.operate import SessionOps

WARMUP = 300
LIVE = 500


def _frames(*names: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name in names:
        frame = pd.read_feather(bundled_recorded_dir() / "candles" / f"{name}-5m.feather")
        out[name.replace("_", "/")] = frame.iloc[: WARMUP + LIVE].reset_index(drop=True)
    return out


@pytest.mark.slow
async def test_breaker_trips_are_their_own_audit_rows_and_the_chain_verifies(
    tmp_path: Any,
) -> None:
    frames = _frames("ETH_BTC", "LTC_BTC")
    risk = parse_risk({"breakers": {"daily_loss": 0.004, "crash_drop": 0.01, "crash_window": 12,
                                    "cooldown_bars": 6}})  # fmt: skip
    spec = BacktestSpec(account=Account(cash=1, stake="30%"), risk=risk)
    driver = PaperDriver(prepare({n: f.iloc[:WARMUP] for n, f in frames.items()}, spec),
                         strategies_from("sma_cross", None))  # fmt: skip
    ops = SessionOps(AppConfig(database=DatabaseConfig(bots_dir=str(tmp_path))), "breakers")
    streamed: list[Any] = []
    ops.events.subscribe(lambda topic, payload: streamed.append(payload)
                         if topic == "risk.breaker" else None)  # fmt: skip
    alerts: list[Any] = []
    ops.events.subscribe(lambda topic, payload: alerts.append((topic, payload))
                         if topic.startswith("alert.") else None)  # fmt: skip
    await ops.start(driver, strategies=["sma_cross"], parameters={})
    full = {n: BarSeries.from_frame(f, n, Timeframe.parse("5m")) for n, f in frames.items()}
    for i in range(WARMUP, WARMUP + LIVE):
        for name, series in full.items():
            driver.add(name, series.bar(i))
        for report in driver.flush():
            ops.stepped(driver, report)
    await ops.stop("done")

    board = driver.node.observer.board  # type: ignore[union-attr]
    trips = [e for e in board.events if e.breaker.startswith(("daily_loss", "crash"))]
    assert trips, "no breaker tripped: the test proves nothing"
    assert ops.database is not None
    engine = ops.database.engine
    with engine.connect() as connection:
        risk_rows = connection.execute(select(RiskEventRow).where(
            RiskEventRow.kind == "breaker").order_by(RiskEventRow.id)).all()  # fmt: skip
        audit_rows = connection.execute(select(OperatorActionRow).where(
            OperatorActionRow.action == "risk.breaker").order_by(OperatorActionRow.id)).all()  # fmt: skip
    # One risk-event row and one audit row for every transition, in order.
    assert [r.action for r in risk_rows] == [e.breaker for e in board.events]
    assert len(audit_rows) == len(board.events)
    assert {(r.actor, r.channel) for r in audit_rows} == {("engine", "engine")}
    assert [e.breaker for e in streamed] == [e.breaker for e in board.events]
    assert verify_chain(engine, ops.audit_key).ok
    # The day's loss passed half the daily-loss breaker before it tripped: the anomaly alert
    # (once per UTC day of the bot's clock) came first.
    losses = [p for t, p in alerts if t == "alert.daily_loss"]
    assert losses
    assert all(p["loss"] > 0.002 and p["limit"] == 0.004 for p in losses)
    first_trip = min(e.ts for e in board.events if e.breaker.startswith("daily_loss"))
    assert losses[0]["ts"] <= first_trip
    assert len({p["ts"] // 86_400_000 for p in losses}) == len(losses)

    # Editing a breaker's audit row breaks the chain at that row.
    with engine.begin() as connection:
        connection.execute(update(OperatorActionRow).where(
            OperatorActionRow.id == audit_rows[0].id).values(outcome="nothing happened"))  # fmt: skip
    report = verify_chain(engine, ops.audit_key)
    assert not report.ok
    assert report.row_id == audit_rows[0].id
