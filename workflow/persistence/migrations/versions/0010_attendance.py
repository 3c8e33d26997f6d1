"""attendance: join records (each opening of a personal link during the session) and attendance report lines

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'join_records',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('access_id', sa.String(length=40), nullable=False),
        sa.Column('session_id', sa.String(length=100), nullable=False),
        sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_join_records')),
    )
    with op.batch_alter_table('join_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_join_records_access_id'), ['access_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_join_records_session_id'), ['session_id'], unique=False)
    op.create_table(
        'attendance_lines',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('session_id', sa.String(length=100), nullable=False),
        sa.Column('file_sha256', sa.String(length=64), nullable=False),
        sa.Column('line', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('left_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('access_id', sa.String(length=40), nullable=True),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_lines')),
        sa.UniqueConstraint('session_id', 'file_sha256', 'line', name=op.f('uq_attendance_lines_session_id')),
    )
    with op.batch_alter_table('attendance_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_lines_session_id'), ['session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attendance_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_lines_session_id'))
    op.drop_table('attendance_lines')
    with op.batch_alter_table('join_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_join_records_session_id'))
        batch_op.drop_index(batch_op.f('ix_join_records_access_id'))
    op.drop_table('join_records')
