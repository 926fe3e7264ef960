"""The bot's checkpoint marker (how many of its fills the stored positions and balances include)
and each position's dust (base left by a spot exit, which joins the next entry).

A restarted paper session rebuilds its account from the last checkpoint plus the fills recorded
after it (a process killed between recording a fill and writing the next checkpoint loses nothing).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tradewind.persistence.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("checkpoint_fills", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "checkpoint_at",
                tradewind.persistence.types.UtcDateTime(timezone=True),
                nullable=True,
            )
        )

    with op.batch_alter_table("positions") as batch:
        batch.add_column(sa.Column("dust", tradewind.persistence.types.Money(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("positions") as batch:
        batch.drop_column("dust")
    with op.batch_alter_table("bots") as batch:
        batch.drop_column("checkpoint_at")
        batch.drop_column("checkpoint_fills")
