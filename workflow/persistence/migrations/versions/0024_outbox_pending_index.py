"""outbox: a partial index of the pending rows, for the relay's poll

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 14:25:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "published_at IS NULL AND set_aside_at IS NULL"


def upgrade() -> None:
    op.create_index('ix_outbox_pending', 'outbox', ['id'], unique=False,
                    postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))


def downgrade() -> None:
    op.drop_index('ix_outbox_pending', table_name='outbox')
