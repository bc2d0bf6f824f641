"""staff sign-in: throttling by keyed hash instead of a lock-out, TOTP second factor, recovery codes

Revision ID: 0007_staff_signin
Revises: 0008_privacy
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0007_staff_signin'
down_revision = '0008_privacy'
branch_labels = None
depends_on = None

UTC_DATETIME = models.base.UTCDateTime(timezone=True)


def upgrade():
    # The old table kept whatever was typed as a username (passwords typed in the wrong box).
    op.drop_table('staff_login_failures')
    op.create_table('staff_sign_in_throttles',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', UTC_DATETIME, nullable=False),
    sa.Column('next_attempt_at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_staff_sign_in_throttles'))
    )
    op.create_table('staff_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('used_at', UTC_DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_staff_recovery_codes_staff_user_id_staff_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_recovery_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_staff_recovery_codes_code_hash'))
    )
    with op.batch_alter_table('staff_recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_recovery_codes_staff_user_id'), ['staff_user_id'], unique=False)
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_pending_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_pending_secret')
        batch_op.drop_column('totp_secret')
    with op.batch_alter_table('staff_recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_recovery_codes_staff_user_id'))
    op.drop_table('staff_recovery_codes')
    op.drop_table('staff_sign_in_throttles')
    op.create_table('staff_login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_login_failures'))
    )
    with op.batch_alter_table('staff_login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_staff_login_failures_remote_addr_at', ['remote_addr', 'at'], unique=False)
        batch_op.create_index('ix_staff_login_failures_username_at', ['username', 'at'], unique=False)
