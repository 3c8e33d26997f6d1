"""deposits: the hold reason before sending, and the e-invoicing platform's last status (status, when, reason,
expected payment date, the last poll's error)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 09:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deposits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_reason', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('platform_status', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('platform_status_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('platform_reason', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('expected_payment_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('platform_error', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('polled_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deposits', schema=None) as batch_op:
        for column in ('polled_at', 'platform_error', 'expected_payment_on', 'platform_reason',
                       'platform_status_at', 'platform_status', 'hold_reason'):
            batch_op.drop_column(column)
