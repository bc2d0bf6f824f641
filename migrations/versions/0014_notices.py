"""notices: notices, images, opt-outs, residents.registration_erased_at, age reminders (once per child), center closures; outbox skipped count and source index

Revision ID: 0014_notices
Revises: 0013_events
Create Date: 2026-12-01 12:51:50
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0014_notices'
down_revision = '0013_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('age_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('age_months', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('bodies', sa.JSON(), nullable=False),
    sa.Column('link_url', sa.String(length=1000), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_age_reminders'))
    )
    op.create_table('notice_opt_outs',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=16), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_notice_opt_outs_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resident_id', 'topic', name=op.f('pk_notice_opt_outs'))
    )
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('bodies', sa.JSON(), nullable=False),
    sa.Column('topic', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('segment', sa.JSON(), nullable=True),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('link_url', sa.String(length=1000), nullable=True),
    sa.Column('link_label', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('send_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('queued_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('approval_requested_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('center_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('targeted_residents', sa.Integer(), nullable=False),
    sa.Column('targeted_households', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approval_requested_by_id'], ['staff_users.id'], name=op.f('fk_notices_approval_requested_by_id_staff_users')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['staff_users.id'], name=op.f('fk_notices_approved_by_id_staff_users')),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_notices_center_id_centers')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_notices_created_by_id_staff_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_notices_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_due', ['status', 'send_at'], unique=False)

    op.create_table('age_reminders_sent',
    sa.Column('reminder_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_age_reminders_sent_child_id_children'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_age_reminders_sent_notice_id_notices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reminder_id'], ['age_reminders.id'], name=op.f('fk_age_reminders_sent_reminder_id_age_reminders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('reminder_id', 'child_id', name=op.f('pk_age_reminders_sent'))
    )
    op.create_table('center_closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('closed_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reopened_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_center_closures_center_id_centers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_center_closures_notice_id_notices'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_center_closures')),
    sa.UniqueConstraint('center_id', 'day', name='uq_center_closures_day')
    )
    op.create_table('notice_images',
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_images_notice_id_notices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('notice_id', name=op.f('pk_notice_images'))
    )
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registration_erased_at', models.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skipped', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_outbox_source', ['source'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_source')
        batch_op.drop_column('skipped')

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('registration_erased_at')

    op.drop_table('notice_images')
    op.drop_table('center_closures')
    op.drop_table('age_reminders_sent')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index('ix_notices_due')

    op.drop_table('notices')
    op.drop_table('notice_opt_outs')
    op.drop_table('age_reminders')
