"""A covering index for the profit report over fills (a scan of the index alone, in group order).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = ["bot_id", "symbol", "fee_currency", "side", "price", "quantity", "fee"]


def upgrade() -> None:
    op.create_index("ix_fills_cash_flow", "fills", _COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index("ix_fills_cash_flow", table_name="fills")
