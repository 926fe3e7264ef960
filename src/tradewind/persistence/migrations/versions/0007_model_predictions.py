"""The feedback loop's record: each prediction of a registered model and its outcome.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tradewind.persistence.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tradewind.persistence.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_predictions",
        sa.Column("id", _KEY, nullable=False),
        sa.Column("model_id", _KEY, nullable=False),
        sa.Column("symbol", sa.String(length=40), nullable=False),
        sa.Column("bar_ts", _TIME, nullable=False),
        sa.Column("due_ts", _TIME, nullable=False),
        sa.Column("classes", sa.Text(), nullable=False),
        sa.Column("probabilities", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Integer(), nullable=True),
        sa.Column("resolved_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_id", "symbol", "bar_ts"),
    )
    op.create_index(
        "ix_model_predictions_model_id_bar_ts", "model_predictions", ["model_id", "bar_ts"]
    )


def downgrade() -> None:
    op.drop_index("ix_model_predictions_model_id_bar_ts", table_name="model_predictions")
    op.drop_table("model_predictions")
