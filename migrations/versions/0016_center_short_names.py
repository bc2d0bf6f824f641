"""center short names: centers.short_name_en, shown on LINE's buttons when the English name is
longer than a label holds; filled for the seeded centers whose English name is unchanged

Revision ID: 0016_center_short_names
Revises: 0015_per_language_texts
Create Date: 2026-12-01 16:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_center_short_names'
down_revision = '0015_per_language_texts'
branch_labels = None
depends_on = None

# (code, the seeded English name, its short name): as cityhall/seed.py has them.
SEEDED = (("central", "Central Child Support Center", "Central Center"),
          ("east", "East Child Support Center", "East Center"),
          ("west", "West Child Support Center", "West Center"))


def upgrade() -> None:
    with op.batch_alter_table('centers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_name_en', sa.String(length=18), nullable=True))
    centers = sa.table('centers', sa.column('code', sa.String), sa.column('name_en', sa.String),
                       sa.column('short_name_en', sa.String))
    for code, name, short in SEEDED:
        op.execute(centers.update().where(centers.c.code == code, centers.c.name_en == name)
                   .values(short_name_en=short))


def downgrade() -> None:
    with op.batch_alter_table('centers', schema=None) as batch_op:
        batch_op.drop_column('short_name_en')
