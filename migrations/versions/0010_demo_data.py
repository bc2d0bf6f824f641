"""demo_data_loads: which feature's synthetic demo data the database holds

Revision ID: 0010_demo_data
Revises: 0009_submission_center
Create Date: 2026-12-01 13:00:00
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0010_demo_data'
down_revision = '0009_submission_center'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('demo_data_loads',
    sa.Column('feature', sa.String(length=64), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('loaded_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('feature', name=op.f('pk_demo_data_loads'))
    )


def downgrade() -> None:
    op.drop_table('demo_data_loads')
