"""events: events, reservations, the waitlist, suggestion preferences

Revision ID: 0013_events
Revises: 0012_reports
Create Date: 2026-12-01 13:05:00
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0013_events'
down_revision = '0012_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_preferences',
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('suggestions', sa.Boolean(), nullable=False),
    sa.Column('last_suggested_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_event_preferences_household_id_households'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('household_id', name=op.f('pk_event_preferences'))
    )
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('place_name', sa.String(length=200), nullable=True),
    sa.Column('place_address', sa.String(length=300), nullable=True),
    sa.Column('title_ja', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=True),
    sa.Column('description_ja', sa.Text(), server_default='', nullable=False),
    sa.Column('description_en', sa.Text(), nullable=True),
    sa.Column('starts_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('min_age_months', sa.Integer(), nullable=True),
    sa.Column('max_age_months', sa.Integer(), nullable=True),
    sa.Column('districts', sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
    sa.Column('opens_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closes_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_deadline', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('guardians_without_child', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('series', sa.String(length=32), nullable=True),
    sa.Column('taken', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('cancelled_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("unit IN ('children', 'families')", name=op.f('ck_events_unit_known')),
    sa.CheckConstraint('capacity >= 1', name=op.f('ck_events_capacity_positive')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_events_ends_after_start')),
    sa.CheckConstraint('taken <= capacity', name=op.f('ck_events_taken_within_capacity')),
    sa.CheckConstraint('taken >= 0', name=op.f('ck_events_taken_not_negative')),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_events_center_id_centers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_center_starts', ['center_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_series'), ['series'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_starts_at'), ['starts_at'], unique=False)

    op.create_table('event_reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('guest_name', sa.String(length=100), nullable=True),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attended_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attended_visit_id', sa.Integer(), nullable=True),
    sa.Column('reminded_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('places >= 1', name=op.f('ck_event_reservations_places_positive')),
    sa.ForeignKeyConstraint(['attended_visit_id'], ['visits.id'], name=op.f('fk_event_reservations_attended_visit_id_visits'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_reservations_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_event_reservations_household_id_households'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_event_reservations_resident_id_residents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_reservations'))
    )
    with op.batch_alter_table('event_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_reservations_attended_visit_id'), ['attended_visit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_reservations_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_reservations_household_id'), ['household_id'], unique=False)
        batch_op.create_index('uq_event_reservations_active', ['event_id', 'household_id'], unique=True, sqlite_where=sa.text("status = 'reserved'"), postgresql_where=sa.text("status = 'reserved'"))

    op.create_table('event_reservation_children',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=True),
    sa.Column('age_months', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_event_reservation_children_child_id_children'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reservation_id'], ['event_reservations.id'], name=op.f('fk_event_reservation_children_reservation_id_event_reservations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_reservation_children'))
    )
    with op.batch_alter_table('event_reservation_children', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_reservation_children_reservation_id'), ['reservation_id'], unique=False)

    op.create_table('event_waitlist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('child_ids', sa.JSON(), nullable=False),
    sa.Column('ages', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('offered_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('offer_expires_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reservation_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('places >= 1', name=op.f('ck_event_waitlist_places_positive')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_waitlist_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_event_waitlist_household_id_households'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reservation_id'], ['event_reservations.id'], name=op.f('fk_event_waitlist_reservation_id_event_reservations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_event_waitlist_resident_id_residents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_waitlist'))
    )
    with op.batch_alter_table('event_waitlist', schema=None) as batch_op:
        batch_op.create_index('ix_event_waitlist_event_status', ['event_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_waitlist_household_id'), ['household_id'], unique=False)
        batch_op.create_index('uq_event_waitlist_live', ['event_id', 'household_id'], unique=True, sqlite_where=sa.text("status IN ('waiting', 'offered')"), postgresql_where=sa.text("status IN ('waiting', 'offered')"))



def downgrade() -> None:
    with op.batch_alter_table('event_waitlist', schema=None) as batch_op:
        batch_op.drop_index('uq_event_waitlist_live', sqlite_where=sa.text("status IN ('waiting', 'offered')"), postgresql_where=sa.text("status IN ('waiting', 'offered')"))
        batch_op.drop_index(batch_op.f('ix_event_waitlist_household_id'))
        batch_op.drop_index('ix_event_waitlist_event_status')

    op.drop_table('event_waitlist')
    with op.batch_alter_table('event_reservation_children', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_reservation_children_reservation_id'))

    op.drop_table('event_reservation_children')
    with op.batch_alter_table('event_reservations', schema=None) as batch_op:
        batch_op.drop_index('uq_event_reservations_active', sqlite_where=sa.text("status = 'reserved'"), postgresql_where=sa.text("status = 'reserved'"))
        batch_op.drop_index(batch_op.f('ix_event_reservations_household_id'))
        batch_op.drop_index(batch_op.f('ix_event_reservations_event_id'))
        batch_op.drop_index(batch_op.f('ix_event_reservations_attended_visit_id'))

    op.drop_table('event_reservations')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_starts_at'))
        batch_op.drop_index(batch_op.f('ix_events_series'))
        batch_op.drop_index('ix_events_center_starts')

    op.drop_table('events')
    op.drop_table('event_preferences')
