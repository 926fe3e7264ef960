"""Operator queries: orders, trades (fills), positions, sessions, runs, a profit report, and run
comparisons by strategy or market regime.

Every function returns plain rows (dicts of ``Decimal``, ``datetime`` and ``str``) for the CLI to
print or dump as JSON. Money sums are exact on both databases: PostgreSQL's ``sum`` over NUMERIC,
and on SQLite ``Decimal`` sums in Python over the stored decimal text (SQLite's own ``sum`` would
add binary floats).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from operator import mul
from typing import Any, Literal

from sqlalchemy import Engine, Select, case, func, or_, select

from tradewind.core.errors import UserError
from tradewind.persistence.models import (
    BalanceRow,
    Bot,
    FillRow,
    OperatorActionRow,
    OrderRow,
    PositionRow,
    RunMetricRow,
    RunRow,
    RunTradeRow,
    StrategyRow,
    TradingSession,
)

Row = dict[str, Any]
_BOTS = Bot.__table__
_HEADLINE = ("total_return", "sharpe_ratio", "max_drawdown", "trade_count", "win_rate")


def bot_id(engine: Engine, name: str) -> int:
    """The id of bot ``name`` in this database.

    Raises
    ------
    UserError
        When there is no such bot (the message lists the bots there are).
    """
    with engine.connect() as connection:
        found = connection.execute(select(_BOTS.c.id).where(_BOTS.c.name == name)).scalar()
        if found is None:
            known = connection.execute(select(_BOTS.c.name).order_by(_BOTS.c.name)).scalars()
            raise UserError(
                f"no bot {name!r} in this database; known: {', '.join(known) or 'none'}"
            )
    return int(found)


_PRECISION = 60
"""Digits of the exact sums made in Python: room for any realistic total of decimal amounts."""


def _rows(engine: Engine, query: Select[Any]) -> list[Row]:
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(query)]


def _for_bot(query: Select[Any], table: Any, bot: int | None) -> Select[Any]:
    query = query.join(_BOTS, _BOTS.c.id == table.c.bot_id)
    return query if bot is None else query.where(table.c.bot_id == bot)


def orders(
    engine: Engine, bot: int | None, *, open_only: bool = False, limit: int = 50
) -> list[Row]:
    """The latest ``limit`` orders, newest first."""
    t = OrderRow.__table__
    query = select(
        _BOTS.c.name.label("bot"), t.c.created_at.label("time"), t.c.client_id, t.c.strategy,
        t.c.symbol, t.c.side, t.c.type, t.c.quantity, t.c.price, t.c.trigger_price, t.c.status,
        t.c.filled_quantity, t.c.average_price, t.c.venue_order_id, t.c.reject_reason,
    )  # fmt: skip
    query = _for_bot(query, t, bot).order_by(t.c.id.desc()).limit(limit)
    if open_only:
        query = query.where(t.c.status.not_in(["filled", "canceled", "rejected", "expired"]))
    return _rows(engine, query)


def trades(engine: Engine, bot: int | None, *, limit: int = 50) -> list[Row]:
    """The latest ``limit`` fills, newest first."""
    t = FillRow.__table__
    query = select(
        _BOTS.c.name.label("bot"), t.c.at.label("time"), t.c.strategy, t.c.symbol, t.c.side,
        t.c.price, t.c.quantity, t.c.fee, t.c.fee_currency, t.c.liquidity, t.c.trade_id,
        t.c.client_id,
    )  # fmt: skip
    return _rows(
        engine, _for_bot(query, t, bot).order_by(t.c.at.desc(), t.c.id.desc()).limit(limit)
    )


def positions(engine: Engine, bot: int | None, *, include_flat: bool = False) -> list[Row]:
    """Stored positions (open ones unless ``include_flat``) and the bot's balances."""
    t = PositionRow.__table__
    query = select(
        _BOTS.c.name.label("bot"), t.c.strategy, t.c.symbol, t.c.quantity, t.c.average_price,
        t.c.entry_at, t.c.realized_pnl, t.c.updated_at,
    )  # fmt: skip
    rows = _rows(engine, _for_bot(query, t, bot).order_by(_BOTS.c.name, t.c.symbol))
    return [r for r in rows if include_flat or r["quantity"] != 0]


def balances(engine: Engine, bot: int | None) -> list[Row]:
    """Stored balances per bot and asset."""
    t = BalanceRow.__table__
    query = select(_BOTS.c.name.label("bot"), t.c.asset, t.c.total, t.c.updated_at)
    return _rows(engine, _for_bot(query, t, bot).order_by(_BOTS.c.name, t.c.asset))


def sessions(engine: Engine, bot: int | None, *, limit: int = 50) -> list[Row]:
    """The latest ``limit`` sessions, newest first."""
    t = TradingSession.__table__
    query = select(
        _BOTS.c.name.label("bot"), t.c.id.label("session"), t.c.mode, t.c.strategies,
        t.c.started_at, t.c.ended_at, t.c.end_reason, t.c.code_version, t.c.config_hash,
    )  # fmt: skip
    rows = _rows(engine, _for_bot(query, t, bot).order_by(t.c.id.desc()).limit(limit))
    for row in rows:
        row["strategies"] = ", ".join(json.loads(row["strategies"]))
    return rows


def operator_actions(
    engine: Engine, bot: int | None, *, limit: int = 50, decisions: bool = False
) -> list[Row]:
    """The latest ``limit`` operator actions, newest first; with ``decisions``, the engine's
    orders, fills and risk events chained among them too (channel ``engine``)."""
    t = OperatorActionRow.__table__
    query = select(t.c.at, t.c.actor, t.c.channel, t.c.action, t.c.detail, t.c.outcome)
    if not decisions:
        query = query.where(t.c.channel != "engine")
    if bot is not None:
        query = query.where(t.c.bot_id == bot)
    return _rows(engine, query.order_by(t.c.id.desc()).limit(limit))


def failed_sessions(engine: Engine, bot: int, mode: str, since: datetime) -> int:
    """Sessions of ``bot`` in ``mode`` started after ``since`` that ended in an error or never
    ended (killed)."""
    t = TradingSession.__table__
    query = select(func.count()).where(
        t.c.bot_id == bot,
        t.c.mode == mode,
        t.c.started_at > since,
        or_(t.c.ended_at.is_(None), t.c.end_reason.like("error%")),
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def last_action_at(engine: Engine, bot: int, action: str) -> datetime | None:
    """When ``action`` was last recorded in ``bot``'s audit trail, or None."""
    t = OperatorActionRow.__table__
    query = select(func.max(t.c.at)).where(t.c.bot_id == bot, t.c.action == action)
    with engine.connect() as connection:
        found = connection.execute(query).scalar()
    return None if found is None else found.astimezone(UTC)


def profit_report(engine: Engine, bot: int | None) -> list[Row]:
    """Per symbol and fee currency: fills, bought and sold notional, net cash flow and fees.

    Exact sums over every stored fill (the benchmark's 1M-fill query).
    """
    t = FillRow.__table__
    if engine.dialect.name == "sqlite":
        return _sqlite_profit(engine, bot)
    money = func.sum  # NUMERIC: exact on the server
    notional = t.c.price * t.c.quantity
    signed = case((t.c.side == "sell", notional), else_=-notional)
    query = (
        select(
            t.c.symbol, t.c.fee_currency, func.count().label("fills"),
            money(case((t.c.side == "buy", notional), else_=0)).label("bought"),
            money(case((t.c.side == "sell", notional), else_=0)).label("sold"),
            money(signed).label("net_cash_flow"), money(t.c.fee).label("fees"),
        )
        .group_by(t.c.symbol, t.c.fee_currency)
        .order_by(t.c.symbol, t.c.fee_currency)
    )  # fmt: skip
    if bot is not None:
        query = query.where(t.c.bot_id == bot)
    return _rows(engine, query)


def _sqlite_profit(engine: Engine, bot: int | None) -> list[Row]:
    # SQLite stores money as decimal text and its own sum() adds floats. Each group's values come
    # back as one space-separated string (built in C, read from the covering index in group
    # order) and are summed exactly with Decimal in C loops: no Python call per fill, which a
    # custom aggregate would cost (about 1.7x slower). Memory: one group's text at a time.
    t = FillRow.__table__
    query = (
        select(
            t.c.symbol, t.c.fee_currency, t.c.side, func.count().label("fills"),
            func.group_concat(t.c.price, " ").label("prices"),
            func.group_concat(t.c.quantity, " ").label("quantities"),
            func.group_concat(t.c.fee, " ").label("fees"),
        )
        .group_by(t.c.symbol, t.c.fee_currency, t.c.side)
        .order_by(t.c.symbol, t.c.fee_currency, t.c.side)
    )  # fmt: skip
    if bot is not None:
        query = query.where(t.c.bot_id == bot)
    totals: dict[tuple[str, str], Row] = {}
    zero = Decimal(0)
    with localcontext(prec=_PRECISION):
        for row in _rows(engine, query):
            key = (row["symbol"], row["fee_currency"])
            group = totals.setdefault(key, {"symbol": key[0], "fee_currency": key[1], "fills": 0,
                                            "bought": zero, "sold": zero, "fees": zero})  # fmt: skip
            notional = sum(
                map(mul, map(Decimal, row["prices"].split()),
                    map(Decimal, row["quantities"].split())),
                zero,
            )  # fmt: skip
            group["fills"] += row["fills"]
            group["bought" if row["side"] == "buy" else "sold"] += notional
            group["fees"] += sum(map(Decimal, row["fees"].split()), zero)
    rows = []
    for group in totals.values():
        group["net_cash_flow"] = group["sold"] - group["bought"]
        rows.append({k: group[k] for k in ("symbol", "fee_currency", "fills", "bought", "sold",
                                           "net_cash_flow", "fees")})  # fmt: skip
    return rows


def runs(engine: Engine, *, kind: str | None = None, limit: int = 50) -> list[Row]:
    """The latest ``limit`` runs of the registry with their headline metrics."""
    r, s = RunRow.__table__, StrategyRow.__table__
    query = (
        select(
            r.c.id.label("run"), r.c.kind, s.c.name.label("strategy"), r.c.parameters,
            r.c.symbols, r.c.timeframe, r.c.engine, r.c.data_start, r.c.data_end, r.c.finished_at,
        )
        .join(s, s.c.id == r.c.strategy_id)
        .order_by(r.c.id.desc())
        .limit(limit)
    )  # fmt: skip
    if kind is not None:
        query = query.where(r.c.kind == kind)
    rows = _rows(engine, query)
    if not rows:
        return rows
    m = RunMetricRow.__table__
    metric_query = select(m.c.run_id, m.c.name, m.c.value).where(
        m.c.run_id.in_([row["run"] for row in rows]), m.c.name.in_(_HEADLINE)
    )
    metrics: dict[int, dict[str, float | None]] = {}
    for metric in _rows(engine, metric_query):
        metrics.setdefault(metric["run_id"], {})[metric["name"]] = metric["value"]
    for row in rows:
        row.update({name: metrics.get(row["run"], {}).get(name) for name in _HEADLINE})
    return rows


def run_detail(engine: Engine, run_id: int) -> Row | None:
    """One run of the registry with every metric and every trade (None when there is none)."""
    r, s = RunRow.__table__, StrategyRow.__table__
    query = (
        select(
            r.c.id.label("run"), r.c.kind, s.c.name.label("strategy"), r.c.parameters,
            r.c.symbols, r.c.timeframe, r.c.engine, r.c.data_start, r.c.data_end,
            r.c.data_hash, r.c.code_version, r.c.started_at, r.c.finished_at,
        )
        .join(s, s.c.id == r.c.strategy_id)
        .where(r.c.id == run_id)
    )  # fmt: skip
    found = _rows(engine, query)
    if not found:
        return None
    run = found[0]
    run["parameters"] = json.loads(run["parameters"])
    m, t = RunMetricRow.__table__, RunTradeRow.__table__
    metrics = _rows(engine, select(m.c.name, m.c.value).where(m.c.run_id == run_id))
    run["metrics"] = {row["name"]: row["value"] for row in sorted(metrics, key=lambda x: x["name"])}
    run["trades"] = _rows(
        engine,
        select(
            t.c.strategy, t.c.symbol, t.c.side, t.c.entry_at, t.c.exit_at, t.c.entry_price,
            t.c.exit_price, t.c.quantity, t.c.fees, t.c.funding, t.c.pnl, t.c.reason,
            t.c.regime_at_entry,
        ).where(t.c.run_id == run_id).order_by(t.c.exit_at, t.c.id),
    )  # fmt: skip
    return run


def compare_runs(
    engine: Engine, by: Literal["strategy", "regime"], *, kinds: Sequence[str] = ("backtest",)
) -> list[Row]:
    """Trades of the registered runs grouped by strategy or by the market regime at entry:
    count, wins, win rate, exact total and average PnL."""
    t, r = RunTradeRow.__table__, RunRow.__table__
    s = StrategyRow.__table__
    key = s.c.name if by == "strategy" else t.c.regime_at_entry
    # Group in Python with Decimal: the groups are few, and sums stay exact on every database.
    plain = select(key.label(by), r.c.id.label("run"), t.c.pnl, t.c.fees).select_from(
        t.join(r, r.c.id == t.c.run_id).join(s, s.c.id == r.c.strategy_id)
    ).where(r.c.kind.in_(list(kinds)))  # fmt: skip
    groups: dict[str, dict[str, Any]] = {}
    for row in _rows(engine, plain):
        group = groups.setdefault(
            row[by],
            {by: row[by], "runs": set(), "trades": 0, "wins": 0, "total_pnl": Decimal(0),
             "fees": Decimal(0)},
        )  # fmt: skip
        group["runs"].add(row["run"])
        group["trades"] += 1
        group["wins"] += row["pnl"] > 0
        group["total_pnl"] += row["pnl"]
        group["fees"] += row["fees"]
    result = []
    for group in sorted(groups.values(), key=lambda g: g["total_pnl"], reverse=True):
        group["runs"] = len(group["runs"])
        group["win_rate"] = group["wins"] / group["trades"]
        group["average_pnl"] = group["total_pnl"] / group["trades"]
        result.append(group)
    return result
