"""the catalogue in the database: trainings and their sessions, seeded once from catalogue.json

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 15:40:00
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    trainings = op.create_table(
        'trainings',
        sa.Column('id', sa.String(length=100), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('format', sa.String(length=200), nullable=False),
        sa.Column('objective', sa.Text(), nullable=False),
        sa.Column('audience', sa.JSON(), nullable=False),
        sa.Column('speaker', sa.String(length=200), nullable=False),
        sa.Column('price_per_participant', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('vat', sa.String(length=20), nullable=False),
        sa.Column('invoice_is_training_agreement', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_trainings')),
    )
    sessions = op.create_table(
        'training_sessions',
        sa.Column('id', sa.String(length=100), nullable=False),
        sa.Column('training_id', sa.String(length=100), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=True),
        sa.Column('registration_deadline', sa.Date(), nullable=True),
        sa.Column('join_url', sa.String(length=500), nullable=True),
        sa.Column('trainer', sa.String(length=200), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['training_id'], ['trainings.id'],
                                name=op.f('fk_training_sessions_training_id_trainings')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_sessions')),
    )
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_sessions_training_id'), ['training_id'], unique=False)
    _seed(trainings, sessions)


def _seed(trainings: sa.Table, sessions: sa.Table) -> None:
    """The shipped catalogue (or the file `migrate` was given) becomes the first rows, once: this migration runs
    once per database, and operations manage the catalogue with `regflow trainings` / `regflow sessions` after."""
    from workflow.adapters.data_files import load_catalogue

    attributes = op.get_context().config.attributes if op.get_context().config else {}
    catalogue = load_catalogue(attributes.get("catalogue_path"))
    at = attributes.get("seeded_at") or datetime.now(UTC)
    op.bulk_insert(trainings, [
        {**t.model_dump(exclude={"sessions"}), "created_at": at, "updated_at": at} for t in catalogue.trainings])
    op.bulk_insert(sessions, [
        {**s.model_dump(), "state": s.state.value, "training_id": t.id, "version": 1, "created_at": at,
         "updated_at": at}
        for t in catalogue.trainings for s in t.sessions])


def downgrade() -> None:
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_sessions_training_id'))
    op.drop_table('training_sessions')
    op.drop_table('trainings')
