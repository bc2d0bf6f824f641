"""dashboards: rollup tables, aggregation state, and the visit change log written by triggers

Revision ID: 0005_dashboards
Revises: 0004_checkin
Create Date: 2026-11-23 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0005_dashboards'
down_revision = '0004_checkin'
branch_labels = None
depends_on = None

UTC_DATETIME = models.base.UTCDateTime(timezone=True)
LOG = "INSERT INTO visit_changes (center_id, checked_in_at) "

# Triggers, not application code, log changes: a check-out by UPDATE, a correction by hand,
# a registration deleted (ON DELETE SET NULL) or a visit deleted all reach the aggregation.
SQLITE_TRIGGERS = [
    "CREATE TRIGGER visits_log_insert AFTER INSERT ON visits BEGIN "
    + LOG + "VALUES (NEW.center_id, NEW.checked_in_at); END",
    "CREATE TRIGGER visits_log_update AFTER UPDATE ON visits BEGIN "
    + LOG + "VALUES (OLD.center_id, OLD.checked_in_at); "
    + LOG + "SELECT NEW.center_id, NEW.checked_in_at WHERE NEW.center_id IS NOT OLD.center_id "
    "OR NEW.checked_in_at IS NOT OLD.checked_in_at; END",
    "CREATE TRIGGER visits_log_delete AFTER DELETE ON visits BEGIN "
    + LOG + "VALUES (OLD.center_id, OLD.checked_in_at); END",
    "CREATE TRIGGER visit_children_log_insert AFTER INSERT ON visit_children BEGIN "
    + LOG + "SELECT center_id, checked_in_at FROM visits WHERE id = NEW.visit_id; END",
    "CREATE TRIGGER visit_children_log_update AFTER UPDATE OF visit_id, age_months "
    "ON visit_children BEGIN "
    + LOG + "SELECT center_id, checked_in_at FROM visits WHERE id IN (OLD.visit_id, NEW.visit_id); END",
    "CREATE TRIGGER visit_children_log_delete AFTER DELETE ON visit_children BEGIN "
    + LOG + "SELECT center_id, checked_in_at FROM visits WHERE id = OLD.visit_id; END",
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION visits_log_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP <> 'INSERT' THEN " + LOG + "VALUES (OLD.center_id, OLD.checked_in_at); END IF; "
    "IF TG_OP = 'INSERT' THEN " + LOG + "VALUES (NEW.center_id, NEW.checked_in_at); "
    "ELSIF TG_OP = 'UPDATE' AND (NEW.center_id, NEW.checked_in_at) IS DISTINCT FROM "
    "(OLD.center_id, OLD.checked_in_at) THEN " + LOG + "VALUES (NEW.center_id, NEW.checked_in_at); "
    "END IF; RETURN NULL; END $$",
    "CREATE TRIGGER visits_log_change AFTER INSERT OR UPDATE OR DELETE ON visits "
    "FOR EACH ROW EXECUTE FUNCTION visits_log_change()",
    "CREATE FUNCTION visit_children_log_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP <> 'INSERT' THEN " + LOG
    + "SELECT center_id, checked_in_at FROM visits WHERE id = OLD.visit_id; END IF; "
    "IF TG_OP <> 'DELETE' THEN " + LOG
    + "SELECT center_id, checked_in_at FROM visits WHERE id = NEW.visit_id; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER visit_children_log_change AFTER INSERT OR DELETE OR UPDATE OF visit_id, "
    "age_months ON visit_children FOR EACH ROW EXECUTE FUNCTION visit_children_log_change()",
]
SQLITE_DROPS = ["DROP TRIGGER IF EXISTS " + s.split()[2] for s in SQLITE_TRIGGERS]
POSTGRES_DROPS = [
    "DROP TRIGGER IF EXISTS visits_log_change ON visits",
    "DROP TRIGGER IF EXISTS visit_children_log_change ON visit_children",
    "DROP FUNCTION IF EXISTS visits_log_change()",
    "DROP FUNCTION IF EXISTS visit_children_log_change()",
]


def _postgres() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
    op.create_table('visit_changes',
    sa.Column('id', big_id, nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('checked_in_at', UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_changes'))
    )
    op.create_table('rollup_state',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('last_change_id', sa.BigInteger(), nullable=False),
    sa.Column('last_run_at', UTC_DATETIME, nullable=True),
    sa.Column('last_full_at', UTC_DATETIME, nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_rollup_state'))
    )
    _create_rollups()
    for statement in POSTGRES_TRIGGERS if _postgres() else SQLITE_TRIGGERS:
        op.execute(statement)
    # Visits made before this migration: the first run rebuilds their days.
    op.execute("INSERT INTO visit_changes (center_id, checked_in_at) "
               "SELECT center_id, checked_in_at FROM visits")


def _create_rollups() -> None:
    op.create_table('rollup_hourly',
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('children', sa.Integer(), nullable=False),
    sa.Column('new_visits', sa.Integer(), nullable=False),
    sa.Column('stays', sa.Integer(), nullable=False),
    sa.Column('stay_seconds', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('center_id', 'day', 'hour', name=op.f('pk_rollup_hourly'))
    )
    op.create_index('ix_rollup_hourly_day', 'rollup_hourly', ['day'], unique=False)
    op.create_table('rollup_district',
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('district_code', sa.String(length=32), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('children', sa.Integer(), nullable=False),
    sa.Column('new_visits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('center_id', 'day', 'district_code', name=op.f('pk_rollup_district'))
    )
    op.create_index('ix_rollup_district_day', 'rollup_district', ['day'], unique=False)
    op.create_table('rollup_age',
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('age_band', sa.String(length=8), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('children', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('center_id', 'day', 'hour', 'age_band', name=op.f('pk_rollup_age'))
    )
    op.create_index('ix_rollup_age_day', 'rollup_age', ['day'], unique=False)


def downgrade() -> None:
    for statement in POSTGRES_DROPS if _postgres() else SQLITE_DROPS:
        op.execute(statement)
    for table in ('rollup_age', 'rollup_district', 'rollup_hourly', 'rollup_state',
                  'visit_changes'):
        op.drop_table(table)
