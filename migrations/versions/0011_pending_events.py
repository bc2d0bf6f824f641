"""processed_events: pending events recorded with their payload before the 200

Revision ID: 0011_pending_events
Revises: 0010_demo_data
Create Date: 2026-12-01 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_pending_events'
down_revision = '0010_demo_data'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('processed_events') as batch:
        batch.add_column(sa.Column('pending', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch.create_index('ix_processed_events_pending', ['pending', 'processed_at'],
                           unique=False)


def downgrade() -> None:
    with op.batch_alter_table('processed_events') as batch:
        batch.drop_index('ix_processed_events_pending')
        batch.drop_column('payload')
        batch.drop_column('pending')
