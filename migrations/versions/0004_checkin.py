"""check-in: visits with their children, pending scans, poster versions; merges staff and registration

Revision ID: 0004_checkin
Revises: 0002_staff, 0003_registration
Create Date: 2026-11-23 10:05:00
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0004_checkin'
down_revision = ('0002_staff', '0003_registration')
branch_labels = None
depends_on = None

UTC_DATETIME = models.base.UTCDateTime(timezone=True)
OPEN = sa.text('checked_out_at IS NULL')


def upgrade() -> None:
    op.create_table('checkin_pending',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('nonce', sa.String(length=16), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_checkin_pending_center_id_centers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_checkin_pending_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resident_id', name=op.f('pk_checkin_pending'))
    )
    op.create_table('checkin_posters',
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('issued_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_checkin_posters_center_id_centers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('center_id', name=op.f('pk_checkin_posters'))
    )
    op.create_table('visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('walk_in_name', sa.String(length=100), nullable=True),
    sa.Column('district_code', sa.String(length=32), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('first_visit', sa.Boolean(), nullable=False),
    sa.Column('checked_in_at', UTC_DATETIME, nullable=False),
    sa.Column('checked_out_at', UTC_DATETIME, nullable=True),
    sa.Column('checkout_method', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_visits_center_id_centers')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_visits_household_id_households'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_visits_resident_id_residents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits'))
    )
    op.create_index(op.f('ix_visits_center_id'), 'visits', ['center_id'], unique=False)
    op.create_index('ix_visits_center_open', 'visits', ['center_id', 'checked_out_at'], unique=False)
    op.create_index(op.f('ix_visits_checked_in_at'), 'visits', ['checked_in_at'], unique=False)
    op.create_index(op.f('ix_visits_household_id'), 'visits', ['household_id'], unique=False)
    op.create_table('visit_children',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=True),
    sa.Column('age_months', sa.Integer(), nullable=False),
    sa.Column('checked_out_at', UTC_DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_visit_children_child_id_children'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_children_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_children'))
    )
    op.create_index(op.f('ix_visit_children_visit_id'), 'visit_children', ['visit_id'], unique=False)
    # One open visit per child: two racing scans, or two guardians at once, make one visit.
    op.create_index('uq_visit_children_open_child', 'visit_children', ['child_id'], unique=True,
                    postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_index('uq_visit_children_open_child', table_name='visit_children')
    op.drop_index(op.f('ix_visit_children_visit_id'), table_name='visit_children')
    op.drop_table('visit_children')
    op.drop_index(op.f('ix_visits_household_id'), table_name='visits')
    op.drop_index(op.f('ix_visits_checked_in_at'), table_name='visits')
    op.drop_index('ix_visits_center_open', table_name='visits')
    op.drop_index(op.f('ix_visits_center_id'), table_name='visits')
    op.drop_table('visits')
    op.drop_table('checkin_posters')
    op.drop_table('checkin_pending')
