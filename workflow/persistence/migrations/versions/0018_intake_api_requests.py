"""the HTTP intake API's requests: one per client and Idempotency-Key, the envelope kept until published

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 06:40:52
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_requests',
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('command', sa.String(length=60), nullable=False),
    sa.Column('registration_id', sa.String(length=64), nullable=False),
    sa.Column('envelope', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('client', 'idempotency_key', name=op.f('pk_api_requests'))
    )
    with op.batch_alter_table('api_requests', schema=None) as batch_op:
        batch_op.create_index('ix_api_requests_client_registration', ['client', 'registration_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('api_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_api_requests_client_registration')

    op.drop_table('api_requests')
