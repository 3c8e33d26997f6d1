"""signed attendance sheet: the trainer's corrections, the signed sheet (service fait), the presence recorded on
each participant, and how a session was recorded as held (the signed sheet, or operations with a reason)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 18:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'attendance_marks',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('session_id', sa.String(length=100), nullable=False),
        sa.Column('access_id', sa.String(length=40), nullable=False),
        sa.Column('part', sa.Integer(), nullable=False),
        sa.Column('presence', sa.String(length=10), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('corrected_by', sa.String(length=64), nullable=False),
        sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_marks')),
        sa.UniqueConstraint('session_id', 'access_id', 'part', name=op.f('uq_attendance_marks_session_id')),
    )
    with op.batch_alter_table('attendance_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_marks_session_id'), ['session_id'], unique=False)
    op.create_table(
        'signed_sheets',
        sa.Column('session_id', sa.String(length=100), nullable=False),
        sa.Column('signed_by', sa.String(length=64), nullable=False),
        sa.Column('signer_name', sa.String(length=200), nullable=False),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attestation', sa.Text(), nullable=False),
        sa.Column('sheet', sa.JSON(), nullable=False),
        sa.Column('sheet_sha256', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('session_id', name=op.f('pk_signed_sheets')),
    )
    with op.batch_alter_table('participant_access', schema=None) as batch_op:
        batch_op.add_column(sa.Column('presence', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('minutes_followed', sa.Integer(), nullable=True))
    with op.batch_alter_table('session_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence', sa.String(length=20), nullable=False,
                                      server_default='operations'))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('recorded_by', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('session_records', schema=None) as batch_op:
        batch_op.drop_column('recorded_by')
        batch_op.drop_column('reason')
        batch_op.drop_column('evidence')
    with op.batch_alter_table('participant_access', schema=None) as batch_op:
        batch_op.drop_column('minutes_followed')
        batch_op.drop_column('presence')
    op.drop_table('signed_sheets')
    with op.batch_alter_table('attendance_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_marks_session_id'))
    op.drop_table('attendance_marks')
