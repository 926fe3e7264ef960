"""The head of the operator-action chain (row count, last HMAC), for detecting a cut tail.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", _KEY, nullable=False),
        sa.Column("row_count", _KEY, nullable=False),
        sa.Column("last_id", _KEY, nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("audit_chain_head")
