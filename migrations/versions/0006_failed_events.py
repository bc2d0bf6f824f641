"""failed_events: webhook events whose handler failed for good (the dead letter)

Revision ID: 0006_failed_events
Revises: 0007_staff_signin
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0006_failed_events'
down_revision = '0007_staff_signin'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('failed_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('webhook_event_id', sa.String(length=64), nullable=True),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('line_user_id', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_failed_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failed_events')),
    sa.UniqueConstraint('webhook_event_id', name=op.f('uq_failed_events_webhook_event_id'))
    )
    with op.batch_alter_table('failed_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failed_events_line_user_id'), ['line_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_failed_events_last_failed_at'), ['last_failed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('failed_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failed_events_last_failed_at'))
        batch_op.drop_index(batch_op.f('ix_failed_events_line_user_id'))
    op.drop_table('failed_events')
