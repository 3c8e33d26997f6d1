"""scans of the signed forms sent back on the tracking page, kept with support's check

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-03 06:31:35
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('signature_scans',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('registration_id', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=30), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('checked_by', sa.String(length=100), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signature_scans'))
    )
    with op.batch_alter_table('signature_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signature_scans_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signature_scans_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signature_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signature_scans_status'))
        batch_op.drop_index(batch_op.f('ix_signature_scans_registration_id'))

    op.drop_table('signature_scans')
