"""submissions: the center a form routed the submission to (route_to_center)

Revision ID: 0009_submission_center
Revises: 0006_failed_events
Create Date: 2026-12-01 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_submission_center'
down_revision = '0006_failed_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('submissions') as batch:
        batch.add_column(sa.Column('center_code', sa.String(length=32), nullable=True))
        batch.create_index(batch.f('ix_submissions_center_code'), ['center_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('submissions') as batch:
        batch.drop_index(batch.f('ix_submissions_center_code'))
        batch.drop_column('center_code')
