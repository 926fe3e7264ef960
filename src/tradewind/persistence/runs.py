"""The registry of runs: backtests, optimisations and walk-forward analyses with their metrics,
and each trade with the market regime at its entry, so performance can be compared by strategy and
by market condition (:func:`tradewind.persistence.queries.compare_runs`).

Recording is opt-in (``tradewind backtest ... --bot NAME`` or ``--db-url URL``) and happens once,
after the run: a backtest without it does exactly what it did before.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert, select

from tradewind.persistence.models import (
    RunMetricRow,
    RunRow,
    RunTradeRow,
    StrategyParameterRow,
    StrategyRow,
)
from tradewind.persistence.types import utc_ms

RUN_KINDS = ("backtest", "optimisation", "walkforward")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunTrade:
    """One closed trade of a run (prices and money exact), with the regime at its entry."""

    strategy: str
    symbol: str
    side: str
    entry_ts: int
    exit_ts: int
    entry_price: Decimal
    exit_price: Decimal
    quantity: Decimal
    fees: Decimal
    funding: Decimal
    pnl: Decimal
    reason: str
    regime: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyParameter:
    """A parameter a strategy declares (values as text)."""

    name: str
    kind: str
    default: str
    low: str | None = None
    high: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """Everything the registry keeps about one run."""

    kind: str
    strategy: str
    parameters: dict[str, Any]
    symbols: list[str]
    timeframe: str
    engine: str
    data_start_ts: int | None
    data_end_ts: int | None
    data_hash: str
    code_version: str
    started_ts: int
    finished_ts: int
    metrics: dict[str, float | None]
    trades: list[RunTrade] = field(default_factory=list)
    declared: list[StrategyParameter] = field(default_factory=list)
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in RUN_KINDS:
            raise ValueError(f"run kind must be one of {', '.join(RUN_KINDS)}, got {self.kind!r}")


def _strategy_id(connection: Any, record: RunRecord) -> int:
    s = StrategyRow.__table__
    found = connection.execute(select(s.c.id).where(s.c.name == record.strategy)).scalar()
    if found is None:
        found = connection.execute(
            insert(s).returning(s.c.id),
            {"name": record.strategy, "description": record.description},
        ).scalar_one()
    p = StrategyParameterRow.__table__
    known = set(connection.execute(select(p.c.name).where(p.c.strategy_id == found)).scalars())
    for parameter in record.declared:
        if parameter.name not in known:
            connection.execute(
                insert(p),
                {
                    "strategy_id": found,
                    "name": parameter.name,
                    "kind": parameter.kind,
                    "default": parameter.default,
                    "low": parameter.low,
                    "high": parameter.high,
                },
            )
    return int(found)


def record_run(engine: Engine, record: RunRecord, bot_id: int | None = None) -> int:
    """Store a run, its metrics and its trades in one transaction; returns the run's id."""
    with engine.begin() as connection:
        strategy_id = _strategy_id(connection, record)
        r = RunRow.__table__
        run_id = connection.execute(
            insert(r).returning(r.c.id),
            {
                "kind": record.kind,
                "bot_id": bot_id,
                "strategy_id": strategy_id,
                "parameters": json.dumps(record.parameters, sort_keys=True, default=str),
                "symbols": ",".join(record.symbols),
                "timeframe": record.timeframe,
                "engine": record.engine,
                "data_start": None
                if record.data_start_ts is None
                else utc_ms(record.data_start_ts),
                "data_end": None if record.data_end_ts is None else utc_ms(record.data_end_ts),
                "data_hash": record.data_hash,
                "code_version": record.code_version,
                "started_at": utc_ms(record.started_ts),
                "finished_at": utc_ms(record.finished_ts),
            },
        ).scalar_one()
        metrics = [
            {"run_id": run_id, "name": name, "value": _finite(value)}
            for name, value in sorted(record.metrics.items())
        ]
        if metrics:
            connection.execute(insert(RunMetricRow.__table__), metrics)
        trades = [
            {
                "run_id": run_id,
                "strategy": t.strategy,
                "symbol": t.symbol,
                "side": t.side,
                "entry_at": utc_ms(t.entry_ts),
                "exit_at": utc_ms(t.exit_ts),
                "entry_price": t.entry_price,
                "exit_price": t.exit_price,
                "quantity": t.quantity,
                "fees": t.fees,
                "funding": t.funding,
                "pnl": t.pnl,
                "reason": t.reason,
                "regime_at_entry": t.regime,
            }
            for t in record.trades
        ]
        if trades:
            connection.execute(insert(RunTradeRow.__table__), trades)
    return int(run_id)


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
