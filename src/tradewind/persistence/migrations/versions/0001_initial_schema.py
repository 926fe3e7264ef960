"""Initial schema: bots, sessions, orders and their transitions, fills, funding, positions,
balances, equity, risk events, operator actions, strategies, and the registry of runs.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tradewind.persistence.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("account_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "strategies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "balances",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("total", tradewind.persistence.types.Money(), nullable=False),
        sa.Column(
            "updated_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bot_id", "asset"),
    )
    op.create_table(
        "funding_payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("amount", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("rate", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_funding_payments_bot_id", "funding_payments", ["bot_id"], unique=False)
    op.create_table(
        "operator_actions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=200), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    op.create_index("ix_operator_actions_bot_id", "operator_actions", ["bot_id"], unique=False)
    op.create_table(
        "positions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("quantity", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("average_price", tradewind.persistence.types.Money(), nullable=False),
        sa.Column(
            "entry_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("realized_pnl", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("open_fees", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("open_funding", tradewind.persistence.types.Money(), nullable=False),
        sa.Column(
            "updated_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bot_id", "strategy", "symbol"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("bot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "strategy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("symbols", sa.String(length=400), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column(
            "data_start", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "data_end", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("data_hash", sa.String(length=64), nullable=False),
        sa.Column("code_version", sa.String(length=64), nullable=False),
        sa.Column(
            "started_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "finished_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_runs_kind", "runs", ["kind"], unique=False)
    op.create_index("ix_runs_strategy_id", "runs", ["strategy_id"], unique=False)
    op.create_table(
        "sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("strategies", sa.Text(), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("code_version", sa.String(length=64), nullable=False),
        sa.Column(
            "started_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "ended_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sessions_bot_id", "sessions", ["bot_id"], unique=False)
    op.create_table(
        "strategy_parameters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "strategy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("default", sa.String(length=200), nullable=False),
        sa.Column("low", sa.String(length=200), nullable=True),
        sa.Column("high", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("strategy_id", "name"),
    )
    op.create_table(
        "equity_snapshots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("equity", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_equity_snapshots_bot_id_at", "equity_snapshots", ["bot_id", "at"], unique=False
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("venue_order_id", sa.String(length=64), nullable=True),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("time_in_force", sa.String(length=3), nullable=False),
        sa.Column("quantity", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("quote_quantity", tradewind.persistence.types.Money(), nullable=True),
        sa.Column("price", tradewind.persistence.types.Money(), nullable=True),
        sa.Column("trigger_price", tradewind.persistence.types.Money(), nullable=True),
        sa.Column("post_only", sa.Boolean(), nullable=False),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("tag", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filled_quantity", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("average_price", tradewind.persistence.types.Money(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=False),
        sa.Column(
            "created_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bot_id", "client_id"),
    )
    op.create_index("ix_orders_status", "orders", ["status"], unique=False)
    op.create_table(
        "risk_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_risk_events_bot_id", "risk_events", ["bot_id"], unique=False)
    op.create_table(
        "run_metrics",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "name"),
    )
    op.create_table(
        "run_trades",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=5), nullable=False),
        sa.Column(
            "entry_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "exit_at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("entry_price", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("exit_price", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("quantity", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("fees", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("funding", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("pnl", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("regime_at_entry", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_run_trades_regime_at_entry", "run_trades", ["regime_at_entry"], unique=False
    )
    op.create_index("ix_run_trades_run_id", "run_trades", ["run_id"], unique=False)
    op.create_table(
        "fills",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("bot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("trade_id", sa.String(length=64), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("price", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("quantity", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("fee", tradewind.persistence.types.Money(), nullable=False),
        sa.Column("fee_currency", sa.String(length=16), nullable=False),
        sa.Column("liquidity", sa.String(length=5), nullable=False),
        sa.Column("at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"],
            ["bots.id"],
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bot_id", "symbol", "trade_id"),
    )
    op.create_index("ix_fills_bot_id_at", "fills", ["bot_id", "at"], unique=False)
    op.create_table(
        "order_transitions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", tradewind.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_order_transitions_order_id", "order_transitions", ["order_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_order_transitions_order_id", table_name="order_transitions")
    op.drop_table("order_transitions")
    op.drop_index("ix_fills_bot_id_at", table_name="fills")
    op.drop_table("fills")
    op.drop_index("ix_run_trades_run_id", table_name="run_trades")
    op.drop_index("ix_run_trades_regime_at_entry", table_name="run_trades")
    op.drop_table("run_trades")
    op.drop_table("run_metrics")
    op.drop_index("ix_risk_events_bot_id", table_name="risk_events")
    op.drop_table("risk_events")
    op.drop_index("ix_orders_status", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_equity_snapshots_bot_id_at", table_name="equity_snapshots")
    op.drop_table("equity_snapshots")
    op.drop_table("strategy_parameters")
    op.drop_index("ix_sessions_bot_id", table_name="sessions")
    op.drop_table("sessions")
    op.drop_index("ix_runs_strategy_id", table_name="runs")
    op.drop_index("ix_runs_kind", table_name="runs")
    op.drop_table("runs")
    op.drop_table("positions")
    op.drop_index("ix_operator_actions_bot_id", table_name="operator_actions")
    op.drop_table("operator_actions")
    op.drop_index("ix_funding_payments_bot_id", table_name="funding_payments")
    op.drop_table("funding_payments")
    op.drop_table("balances")
    op.drop_table("strategies")
    op.drop_table("bots")
