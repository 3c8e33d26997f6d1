"""the signature platform's callbacks, one per platform event id (replays act once)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 06:45:45
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('signature_callbacks',
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.Column('platform', sa.String(length=30), nullable=False),
    sa.Column('event_name', sa.String(length=100), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('registration_id', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_signature_callbacks'))
    )
    with op.batch_alter_table('signature_callbacks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signature_callbacks_registration_id'), ['registration_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signature_callbacks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signature_callbacks_registration_id'))

    op.drop_table('signature_callbacks')
