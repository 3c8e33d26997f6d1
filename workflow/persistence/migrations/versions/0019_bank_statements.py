"""bank statements imported and their lines matched to invoices

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 09:09:37
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bank_imports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=100), nullable=True),
    sa.Column('lines_new', sa.Integer(), nullable=False),
    sa.Column('lines_known', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('ignored', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_imports'))
    )
    with op.batch_alter_table('bank_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_imports_file_sha256'), ['file_sha256'], unique=False)

    op.create_table('bank_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account', sa.String(length=34), nullable=False),
    sa.Column('bank_reference', sa.String(length=71), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('source_line', sa.Integer(), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('payer_name', sa.String(length=140), nullable=True),
    sa.Column('payer_id', sa.String(length=35), nullable=True),
    sa.Column('remittance', sa.String(length=1400), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('reason_fr', sa.String(length=500), nullable=False),
    sa.Column('reason_en', sa.String(length=500), nullable=False),
    sa.Column('allocations', sa.JSON(), nullable=False),
    sa.Column('envelopes', sa.JSON(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['bank_imports.id'], name=op.f('fk_bank_lines_import_id_bank_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_lines')),
    sa.UniqueConstraint('account', 'bank_reference', name=op.f('uq_bank_lines_account'))
    )
    with op.batch_alter_table('bank_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_lines_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_lines_outcome'), ['outcome'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bank_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_lines_outcome'))
        batch_op.drop_index(batch_op.f('ix_bank_lines_import_id'))

    op.drop_table('bank_lines')
    with op.batch_alter_table('bank_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_imports_file_sha256'))

    op.drop_table('bank_imports')
