"""certificates of completion: one per (session, seat), issued after service fait

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 19:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'certificates',
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('session_id', sa.String(length=100), nullable=False),
        sa.Column('registration_id', sa.String(length=64), nullable=False),
        sa.Column('access_id', sa.String(length=40), nullable=False),
        sa.Column('trainee', sa.String(length=420), nullable=False),
        sa.Column('minutes_followed', sa.Integer(), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('number', name=op.f('pk_certificates')),
        sa.UniqueConstraint('session_id', 'access_id', name=op.f('uq_certificates_session_id')),
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_session_id'), ['session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_session_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_registration_id'))
    op.drop_table('certificates')
