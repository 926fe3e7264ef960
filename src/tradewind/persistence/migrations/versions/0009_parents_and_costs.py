"""Parent orders written ahead (a restarted session resumes each working one) and the
transaction-cost analysis of every order and parent.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tradewind.persistence.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tradewind.persistence.types.UtcDateTime(timezone=True)
_MONEY = tradewind.persistence.types.Money()
_BPS = (
    "average_price", "arrival_mid", "final_mid", "shortfall_bps", "fee_bps", "opportunity_bps",
    "total_cost_bps", "slippage_mid_bps", "slippage_vwap_bps", "slippage_twap_bps",
    "market_move_bps", "maker_share", "fees_quote",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "parent_orders",
        sa.Column("id", _KEY, nullable=False),
        sa.Column("bot_id", _KEY, nullable=False),
        sa.Column("session_id", _KEY, nullable=True),
        sa.Column("parent_id", sa.String(length=64), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("algo", sa.String(length=16), nullable=False),
        sa.Column("quantity", _MONEY, nullable=False),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("arrival_mid", _MONEY, nullable=False),
        sa.Column("limit_price", _MONEY, nullable=True),
        sa.Column("crossing", sa.Boolean(), nullable=False),
        sa.Column("chosen_by", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("children", sa.Integer(), nullable=False),
        sa.Column("filled_quantity", _MONEY, nullable=False),
        sa.Column("ended_at", _TIME, nullable=True),
        sa.Column("final_mid", _MONEY, nullable=True),
        sa.ForeignKeyConstraint(["bot_id"], ["bots.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bot_id", "parent_id"),
    )
    op.create_table(
        "execution_costs",
        sa.Column("id", _KEY, nullable=False),
        sa.Column("bot_id", _KEY, nullable=False),
        sa.Column("session_id", _KEY, nullable=True),
        sa.Column("execution_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("venue", sa.String(length=40), nullable=False),
        sa.Column("algo", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("filled", sa.Float(), nullable=False),
        sa.Column("fill_rate", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in _BPS),
        sa.Column("time_to_fill_ms", sa.BigInteger(), nullable=False),
        sa.Column("start_at", _TIME, nullable=False),
        sa.Column("end_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["bot_id"], ["bots.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bot_id", "execution_id"),
    )


def downgrade() -> None:
    op.drop_table("execution_costs")
    op.drop_table("parent_orders")
