"""late-payment interest claimed from public buyers (CCP R2192-36): a receivable of its own per invoice

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 09:09:44
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('interest_claims',
    sa.Column('number', sa.String(length=24), nullable=False),
    sa.Column('invoice_number', sa.String(length=20), nullable=False),
    sa.Column('registration_id', sa.String(length=64), nullable=False),
    sa.Column('client_name', sa.String(length=300), nullable=True),
    sa.Column('principal', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('principal_paid_on', sa.Date(), nullable=False),
    sa.Column('days_late', sa.Integer(), nullable=False),
    sa.Column('percent', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('rate_source', sa.String(length=120), nullable=False),
    sa.Column('interest', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('indemnity', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('payable_by', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('paid', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('waived_by', sa.String(length=100), nullable=True),
    sa.Column('waive_reason', sa.Text(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_number'], ['invoices.number'], name=op.f('fk_interest_claims_invoice_number_invoices')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_interest_claims')),
    sa.UniqueConstraint('invoice_number', name=op.f('uq_interest_claims_invoice_number'))
    )
    with op.batch_alter_table('interest_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interest_claims_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interest_claims_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('interest_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interest_claims_status'))
        batch_op.drop_index(batch_op.f('ix_interest_claims_registration_id'))

    op.drop_table('interest_claims')
