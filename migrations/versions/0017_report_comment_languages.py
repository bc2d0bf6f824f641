"""report_comment_languages: report_changes.public_comments, the public comment in languages other than Japanese

Revision ID: 0017_report_comment_languages
Revises: 0016_center_short_names
Create Date: 2026-12-01 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_report_comment_languages'
down_revision = '0016_center_short_names'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('report_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_comments', sa.JSON(), server_default=sa.text("'{}'"),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('report_changes', schema=None) as batch_op:
        batch_op.drop_column('public_comments')
