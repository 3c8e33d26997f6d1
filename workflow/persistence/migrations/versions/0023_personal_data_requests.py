"""personal-data requests: export, erase, purge, by pseudonym

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-03 09:19:23
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('personal_data_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=40), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_data_requests'))
    )
    with op.batch_alter_table('personal_data_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_data_requests_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_requests_subject'), ['subject'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('personal_data_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personal_data_requests_subject'))
        batch_op.drop_index(batch_op.f('ix_personal_data_requests_kind'))

    op.drop_table('personal_data_requests')
