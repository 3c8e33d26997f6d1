"""satisfaction surveys: one per (session, seat present), invited, reminded once, answered once

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 06:08:16
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('surveys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=100), nullable=False),
    sa.Column('training_id', sa.String(length=100), nullable=False),
    sa.Column('registration_id', sa.String(length=64), nullable=False),
    sa.Column('access_id', sa.String(length=40), nullable=False),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('remind_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overall', sa.SmallInteger(), nullable=True),
    sa.Column('objectives', sa.SmallInteger(), nullable=True),
    sa.Column('content', sa.SmallInteger(), nullable=True),
    sa.Column('speaker', sa.SmallInteger(), nullable=True),
    sa.Column('organisation', sa.SmallInteger(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.CheckConstraint('content IS NULL OR (content BETWEEN 1 AND 5)', name=op.f('ck_surveys_content_1_to_5')),
    sa.CheckConstraint('length(comment) <= 2000', name=op.f('ck_surveys_comment_length')),
    sa.CheckConstraint('objectives IS NULL OR (objectives BETWEEN 1 AND 5)', name=op.f('ck_surveys_objectives_1_to_5')),
    sa.CheckConstraint('organisation IS NULL OR (organisation BETWEEN 1 AND 5)', name=op.f('ck_surveys_organisation_1_to_5')),
    sa.CheckConstraint('overall IS NULL OR (overall BETWEEN 1 AND 5)', name=op.f('ck_surveys_overall_1_to_5')),
    sa.CheckConstraint('speaker IS NULL OR (speaker BETWEEN 1 AND 5)', name=op.f('ck_surveys_speaker_1_to_5')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('session_id', 'access_id', name=op.f('uq_surveys_session_id'))
    )
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_surveys_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_surveys_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_surveys_training_id'), ['training_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_surveys_training_id'))
        batch_op.drop_index(batch_op.f('ix_surveys_session_id'))
        batch_op.drop_index(batch_op.f('ix_surveys_registration_id'))

    op.drop_table('surveys')
