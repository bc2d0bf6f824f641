"""privacy: anonymous survey answers and ballots, uploads owned by a resident, outbox purge mark

Revision ID: 0008_privacy
Revises: 0005_dashboards
Create Date: 2026-12-01 10:00:00

Anonymous answers already stored in `submissions` (no resident, no household, answers kept:
what `submit_application` wrote for an anonymous form; an erased submission has its answers
blanked) move to `survey_answers` with a random id and their local day, and leave
`submissions`, whose sequential ids and receipt numbers could be lined up with other rows.
"""
import os
import uuid
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0008_privacy'
down_revision = '0005_dashboards'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('survey_answers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('form_id', sa.String(length=64), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('answered_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_answers_answered_on'), ['answered_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_answers_department_code'), ['department_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_answers_form_id'), ['form_id'], unique=False)

    op.create_table('survey_ballots',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('form_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_survey_ballots')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resident_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_uploads_resident_id'), ['resident_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_uploads_resident_id_residents'), 'residents',
                                    ['resident_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', models.base.UTCDateTime(timezone=True),
                                      nullable=True))
    move_anonymous_submissions()


def move_anonymous_submissions() -> None:
    """Move the answers of anonymous forms out of `submissions`, in random order."""
    connection = op.get_bind()
    submissions = sa.table('submissions', sa.column('id', sa.Integer),
                           sa.column('form_id', sa.String), sa.column('department_code', sa.String),
                           sa.column('resident_id', sa.Integer), sa.column('household_id', sa.Integer),
                           sa.column('answers', sa.JSON),
                           sa.column('submitted_at', models.base.UTCDateTime(timezone=True)))
    answers = sa.table('survey_answers', sa.column('id', sa.String), sa.column('form_id', sa.String),
                       sa.column('department_code', sa.String), sa.column('answers', sa.JSON),
                       sa.column('answered_on', sa.Date))
    zone = ZoneInfo(os.environ.get('CITYHALL_TIMEZONE', 'Asia/Tokyo'))
    rows = connection.execute(sa.select(submissions).where(
        submissions.c.resident_id.is_(None), submissions.c.household_id.is_(None))).all()
    moved = [row for row in rows if row.answers]
    if not moved:
        return
    values = [{'id': str(uuid.uuid4()), 'form_id': row.form_id,
               'department_code': row.department_code, 'answers': row.answers,
               'answered_on': row.submitted_at.astimezone(zone).date()} for row in moved]
    connection.execute(sa.insert(answers), sorted(values, key=lambda v: v['id']))
    ids = [row.id for row in moved]
    changes = sa.table('submission_status_changes', sa.column('submission_id', sa.Integer))
    connection.execute(sa.delete(changes).where(changes.c.submission_id.in_(ids)))
    connection.execute(sa.delete(submissions).where(submissions.c.id.in_(ids)))


def downgrade() -> None:
    # Moved survey answers stay in survey_answers' data only: putting them back under
    # sequential ids would make them linkable again, so the downgrade drops them.
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_uploads_resident_id_residents'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_uploads_resident_id'))
        batch_op.drop_column('resident_id')
    op.drop_table('survey_ballots')
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_answers_form_id'))
        batch_op.drop_index(batch_op.f('ix_survey_answers_department_code'))
        batch_op.drop_index(batch_op.f('ix_survey_answers_answered_on'))
    op.drop_table('survey_answers')
