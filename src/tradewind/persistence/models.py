"""The schema: SQLAlchemy 2 models of everything a bot and the research tools keep.

The tables are created only by the Alembic migrations in ``persistence/migrations``; a test runs
``tradewind db upgrade`` on an empty SQLite and an empty PostgreSQL database and compares the
result with these models. Money columns are :class:`~tradewind.persistence.types.Money` (exact),
times :class:`~tradewind.persistence.types.UtcDateTime` (UTC).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tradewind.persistence.types import Money, UtcDateTime

# Integer primary keys: BIGINT on PostgreSQL, SQLite's INTEGER rowid alias (which must be INTEGER).
Key = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Base of every model; its metadata is what the migrations must produce."""


class Bot(Base):
    """A bot: a name, and the hash of the exchange account it trades (set on its first start)."""

    __tablename__ = "bots"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    account_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    checkpoint_fills: Mapped[int | None] = mapped_column(Integer)
    """How many of the bot's fills (in recording order) the stored positions and balances
    include; None before the first checkpoint."""
    checkpoint_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TradingSession(Base):
    """One start of a bot: mode, strategies, parameters, config hash, code version, start, end."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    strategies: Mapped[str] = mapped_column(Text)
    parameters: Mapped[str] = mapped_column(Text)
    config_hash: Mapped[str] = mapped_column(String(64))
    code_version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(200))


class OrderRow(Base):
    """An order as it is now; :class:`OrderTransitionRow` keeps how it got there."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("bot_id", "client_id"),)
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    venue_order_id: Mapped[str | None] = mapped_column(String(64))
    strategy: Mapped[str] = mapped_column(String(100))
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(16))
    time_in_force: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[Decimal] = mapped_column(Money)
    quote_quantity: Mapped[Decimal | None] = mapped_column(Money)
    price: Mapped[Decimal | None] = mapped_column(Money)
    trigger_price: Mapped[Decimal | None] = mapped_column(Money)
    post_only: Mapped[bool] = mapped_column(Boolean)
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    tag: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)
    filled_quantity: Mapped[Decimal] = mapped_column(Money)
    average_price: Mapped[Decimal | None] = mapped_column(Money)
    reject_reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OrderTransitionRow(Base):
    """One status change of an order: when, to what, who caused it, and why."""

    __tablename__ = "order_transitions"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)


_CASH_FLOW_COLUMNS = ("bot_id", "symbol", "fee_currency", "side", "price", "quantity", "fee")


class FillRow(Base):
    """One execution. Unique per bot by the exchange's trade id (ids are per symbol on Binance)."""

    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("bot_id", "symbol", "trade_id"),
        Index("ix_fills_bot_id_at", "bot_id", "at"),
        # Covers the profit report: a scan of this index alone, already in group order.
        Index("ix_fills_cash_flow", *_CASH_FLOW_COLUMNS),
    )
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    trade_id: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    strategy: Mapped[str] = mapped_column(String(100))
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[Decimal] = mapped_column(Money)
    quantity: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money)
    fee_currency: Mapped[str] = mapped_column(String(16))
    liquidity: Mapped[str] = mapped_column(String(5))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class FundingRow(Base):
    """A perpetual funding payment (negative when paid)."""

    __tablename__ = "funding_payments"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"), index=True)
    symbol: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(16))
    rate: Mapped[Decimal] = mapped_column(Money)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class PositionRow(Base):
    """One strategy's position in one symbol (signed quantity), as last saved."""

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("bot_id", "strategy", "symbol"),)
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"))
    strategy: Mapped[str] = mapped_column(String(100))
    symbol: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[Decimal] = mapped_column(Money)
    average_price: Mapped[Decimal] = mapped_column(Money)
    entry_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    realized_pnl: Mapped[Decimal] = mapped_column(Money)
    open_fees: Mapped[Decimal] = mapped_column(Money)
    open_funding: Mapped[Decimal] = mapped_column(Money)
    dust: Mapped[Decimal | None] = mapped_column(Money)
    """Base left by a spot exit (less than a lot), which joins the next entry; None: none."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BalanceRow(Base):
    """The ledger balance of one asset, as last saved."""

    __tablename__ = "balances"
    __table_args__ = (UniqueConstraint("bot_id", "asset"),)
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"))
    asset: Mapped[str] = mapped_column(String(16))
    total: Mapped[Decimal] = mapped_column(Money)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EquitySnapshotRow(Base):
    """One point of a bot's equity curve."""

    __tablename__ = "equity_snapshots"
    __table_args__ = (Index("ix_equity_snapshots_bot_id_at", "bot_id", "at"),)
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    equity: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(16))


class RiskEventRow(Base):
    """A denial, breaker transition, liquidation or kill switch."""

    __tablename__ = "risk_events"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str] = mapped_column(String(100))
    symbol: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)


class OperatorActionRow(Base):
    """An operator's action or decision, HMAC-chained to the one before it (tamper evidence)."""

    __tablename__ = "operator_actions"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int | None] = mapped_column(ForeignKey("bots.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(200))
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHeadRow(Base):
    """The head of the operator-action chain: how many rows it has and the last one's HMAC.

    One row (id 1), updated in the transaction that appends to the chain and itself carrying an
    HMAC, so a deleted tail (rows and head left behind) shows as a count that no longer matches.
    """

    __tablename__ = "audit_chain_head"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    row_count: Mapped[int] = mapped_column(Key)
    last_id: Mapped[int] = mapped_column(Key)
    last_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class ApiTokenRow(Base):
    """An operator API token: only its SHA-256 is stored, with its scopes and expiry."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int | None] = mapped_column(ForeignKey("bots.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class JobRow(Base):
    """A backtest or optimisation job queued by an operator and run by a worker process."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int | None] = mapped_column(ForeignKey("bots.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    spec: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    worker: Mapped[str | None] = mapped_column(String(100))
    result: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class StrategyRow(Base):
    """A strategy known to the registry of runs."""

    __tablename__ = "strategies"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text)


class StrategyParameterRow(Base):
    """A parameter a strategy declares: its type, default and search range."""

    __tablename__ = "strategy_parameters"
    __table_args__ = (UniqueConstraint("strategy_id", "name"),)
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategies.id"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    default: Mapped[str] = mapped_column(String(200))
    low: Mapped[str | None] = mapped_column(String(200))
    high: Mapped[str | None] = mapped_column(String(200))


class RunRow(Base):
    """A backtest, optimisation or walk-forward run: what ran on what, and when."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    bot_id: Mapped[int | None] = mapped_column(ForeignKey("bots.id"))
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategies.id"), index=True)
    parameters: Mapped[str] = mapped_column(Text)
    symbols: Mapped[str] = mapped_column(String(400))
    timeframe: Mapped[str] = mapped_column(String(8))
    engine: Mapped[str] = mapped_column(String(16))
    data_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    data_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    data_hash: Mapped[str] = mapped_column(String(64))
    code_version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RunMetricRow(Base):
    """One metric of a run (analytics: a float)."""

    __tablename__ = "run_metrics"
    __table_args__ = (UniqueConstraint("run_id", "name"),)
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)


class RunTradeRow(Base):
    """One closed trade of a run, with the market regime at its entry."""

    __tablename__ = "run_trades"
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    strategy: Mapped[str] = mapped_column(String(100))
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(5))
    entry_at: Mapped[datetime] = mapped_column(UtcDateTime)
    exit_at: Mapped[datetime] = mapped_column(UtcDateTime)
    entry_price: Mapped[Decimal] = mapped_column(Money)
    exit_price: Mapped[Decimal] = mapped_column(Money)
    quantity: Mapped[Decimal] = mapped_column(Money)
    fees: Mapped[Decimal] = mapped_column(Money)
    funding: Mapped[Decimal] = mapped_column(Money)
    pnl: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(200))
    regime_at_entry: Mapped[str] = mapped_column(String(16), index=True)


class ModelRow(Base):
    """A registered ML model version: its card, its folder and SHA-256, and its stage.

    ``stage`` is ``candidate`` (registered, never promoted), ``production`` (at most one version
    per name), ``archived`` (was production, replaced by a promotion) or ``rolled_back`` (removed
    from production by a rollback). ``files`` holds each file's SHA-256, so a refused load names
    the files that changed. ``monitored``: the features its drift check watches (JSON list;
    NULL for a model registered before that choice existed).
    """

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    model_type: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(32))
    horizon: Mapped[int] = mapped_column(Integer)
    features: Mapped[str] = mapped_column(Text)
    parameters: Mapped[str] = mapped_column(Text)
    symbol: Mapped[str] = mapped_column(String(40))
    timeframe: Mapped[str] = mapped_column(String(8))
    data_start: Mapped[datetime] = mapped_column(UtcDateTime)
    data_end: Mapped[datetime] = mapped_column(UtcDateTime)
    data_hash: Mapped[str] = mapped_column(String(64))
    code_version: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[str] = mapped_column(Text)
    monitored: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    files: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    promoted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ModelPredictionRow(Base):
    """One prediction a registered model made in a session, and (once its horizon has passed)
    the class that happened: what the feedback loop scores the model on."""

    __tablename__ = "model_predictions"
    __table_args__ = (
        UniqueConstraint("model_id", "symbol", "bar_ts"),
        Index("ix_model_predictions_model_id_bar_ts", "model_id", "bar_ts"),
    )
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    symbol: Mapped[str] = mapped_column(String(40))
    bar_ts: Mapped[datetime] = mapped_column(UtcDateTime)
    due_ts: Mapped[datetime] = mapped_column(UtcDateTime)
    classes: Mapped[str] = mapped_column(Text)
    probabilities: Mapped[str] = mapped_column(Text)
    outcome: Mapped[int | None] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ParentOrderRow(Base):
    """A parent order (:mod:`tradewind.execution.parent`) as it is now, written ahead like an
    order: its row is updated before each child is recorded and sent, so a restarted session
    knows how many children it numbered (``children``) and resumes it from here."""

    __tablename__ = "parent_orders"
    __table_args__ = (UniqueConstraint("bot_id", "parent_id"),)
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    parent_id: Mapped[str] = mapped_column(String(64))
    strategy: Mapped[str] = mapped_column(String(100))
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(4))
    algo: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(Money)
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    spec: Mapped[str] = mapped_column(Text)
    """The algorithm's settings as JSON (every field, the learned volume curve included)."""
    plan: Mapped[str] = mapped_column(Text)
    """The schedule as JSON ``[[ms, "quantity"], ...]`` (TWAP, VWAP; empty otherwise)."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    arrival_mid: Mapped[Decimal] = mapped_column(Money)
    limit_price: Mapped[Decimal | None] = mapped_column(Money)
    crossing: Mapped[bool] = mapped_column(Boolean)
    chosen_by: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    children: Mapped[int] = mapped_column(Integer)
    """How many children it numbered (``<parent>-1`` .. ``<parent>-children``)."""
    filled_quantity: Mapped[Decimal] = mapped_column(Money)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    final_mid: Mapped[Decimal | None] = mapped_column(Money)


class ExecutionCostRow(Base):
    """The transaction-cost analysis of one order or parent (:mod:`tradewind.execution.tca`);
    analytics in bps are floats (the exact money stays in orders and fills), NULL where a
    benchmark is missing."""

    __tablename__ = "execution_costs"
    __table_args__ = (UniqueConstraint("bot_id", "execution_id"),)
    id: Mapped[int] = mapped_column(Key, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    execution_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    strategy: Mapped[str] = mapped_column(String(100))
    venue: Mapped[str] = mapped_column(String(40))
    algo: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[float] = mapped_column(Float)
    filled: Mapped[float] = mapped_column(Float)
    fill_rate: Mapped[float] = mapped_column(Float)
    average_price: Mapped[float | None] = mapped_column(Float)
    arrival_mid: Mapped[float | None] = mapped_column(Float)
    final_mid: Mapped[float | None] = mapped_column(Float)
    shortfall_bps: Mapped[float | None] = mapped_column(Float)
    fee_bps: Mapped[float | None] = mapped_column(Float)
    opportunity_bps: Mapped[float | None] = mapped_column(Float)
    total_cost_bps: Mapped[float | None] = mapped_column(Float)
    slippage_mid_bps: Mapped[float | None] = mapped_column(Float)
    slippage_vwap_bps: Mapped[float | None] = mapped_column(Float)
    slippage_twap_bps: Mapped[float | None] = mapped_column(Float)
    market_move_bps: Mapped[float | None] = mapped_column(Float)
    maker_share: Mapped[float | None] = mapped_column(Float)
    fees_quote: Mapped[float | None] = mapped_column(Float)
    time_to_fill_ms: Mapped[int] = mapped_column(BigInteger)
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)
    end_at: Mapped[datetime] = mapped_column(UtcDateTime)
