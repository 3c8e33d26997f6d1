"""document files and deposits: an issued PDF kept in its transaction, the Chorus Pro deposit once per number

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 06:10:42
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('deposits',
    sa.Column('document_number', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('registration_id', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=30), nullable=False),
    sa.Column('buyer_siret', sa.String(length=20), nullable=False),
    sa.Column('service_code', sa.String(length=100), nullable=True),
    sa.Column('commitment_number', sa.String(length=50), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deposited_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('document_number', name=op.f('pk_deposits'))
    )
    with op.batch_alter_table('deposits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deposits_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deposits_status'), ['status'], unique=False)

    op.create_table('document_files',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_document_files'))
    )


def downgrade() -> None:
    op.drop_table('document_files')
    with op.batch_alter_table('deposits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deposits_status'))
        batch_op.drop_index(batch_op.f('ix_deposits_registration_id'))

    op.drop_table('deposits')
