"""the trust boundary: inbox body hashes, outbox rows set aside, command decisions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_sha256', sa.String(length=64), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('set_aside_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('set_aside_reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_set_aside_at'), ['set_aside_at'], unique=False)
    op.create_table(
        'command_decisions',
        sa.Column('command_id', sa.String(length=36), nullable=False),
        sa.Column('command_type', sa.String(length=60), nullable=False),
        sa.Column('consumer', sa.String(length=40), nullable=False),
        sa.Column('outcome', sa.String(length=10), nullable=False),
        sa.Column('registration_id', sa.String(length=64), nullable=True),
        sa.Column('reason_fr', sa.Text(), nullable=True),
        sa.Column('reason_en', sa.Text(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('command_id', name=op.f('pk_command_decisions')),
    )
    with op.batch_alter_table('command_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_command_decisions_registration_id'), ['registration_id'], unique=False)


def downgrade() -> None:
    op.drop_table('command_decisions')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_set_aside_at'))
        batch_op.drop_column('set_aside_reason')
        batch_op.drop_column('set_aside_at')
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_column('body_sha256')
