"""per-language texts staff write: notice and reminder titles, status-change messages

Revision ID: 0015_per_language_texts
Revises: 0014_notices
Create Date: 2026-12-01 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_per_language_texts'
down_revision = '0014_notices'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('titles', sa.JSON(), nullable=True))
    with op.batch_alter_table('age_reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('titles', sa.JSON(), nullable=True))
    with op.batch_alter_table('submission_status_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comments', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submission_status_changes', schema=None) as batch_op:
        batch_op.drop_column('comments')
    with op.batch_alter_table('age_reminders', schema=None) as batch_op:
        batch_op.drop_column('titles')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('titles')
