"""visits: local day and hour, stay and children per age band, stored when a visit is written

Revision ID: 0018_visit_local_time
Revises: 0017_report_comment_languages
Create Date: 2026-12-01 16:00:00

The aggregation used to compute each visit's local day and hour (a CASE over the zone's UTC
offsets) and count its children by age band (a join to visit_children) on every run. Now
triggers keep them on the visit row, for every write path (the app, a correction by hand,
a bulk load): `utc_offsets` holds the city's UTC offset by period, a trigger stamps
`local_day`/`local_hour` and `stay_seconds` when a visit is inserted or its check-in or
check-out changes, and triggers on visit_children keep the children's count, in all and per
age band. The aggregation refills `utc_offsets` and
restamps every visit when CITYHALL_TIMEZONE changes (dashboards/aggregate.py). Existing rows
are backfilled here, with the time zone the application is configured with.
"""
import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


revision = '0018_visit_local_time'
down_revision = '0017_report_comment_languages'
branch_labels = None
depends_on = None

# The age bands as of this migration (dashboards/aggregate.py AGE_BANDS): (column, from
# months, below months). Changing the bands takes a migration that rewrites these triggers.
BANDS = (("children_0", None, 12), ("children_1", 12, 24), ("children_2", 24, 36),
         ("children_3_5", 36, 72), ("children_6_up", 72, None))
# Every column visits had: an update of any of them is logged for the aggregation; an update
# of only the stored columns below (by these triggers) is not.
LOGGED = ("id, center_id, household_id, resident_id, walk_in_name, district_code, method, "
          "first_visit, checked_in_at, checked_out_at, checkout_method")
LOG = "INSERT INTO visit_changes (center_id, checked_in_at) "
OPEN_END = 2 ** 62  # the last offset period's end: no end


def _band_test(column: str, low, below) -> str:
    tests = ([f"{column} >= {low}"] if low is not None else []) + (
        [f"{column} < {below}"] if below is not None else [])
    return " AND ".join(tests)


def _band_delta(row: str, sign: str) -> str:
    """SET clause adding (sign +) or removing (sign -) one child of `row`: to the count and
    to its band."""
    return ", ".join([f"children_count = children_count {sign} 1"] + [
        f"{col} = {col} {sign} CASE WHEN {_band_test(row + '.age_months', lo, hi)} "
        "THEN 1 ELSE 0 END" for col, lo, hi in BANDS])


def _sqlite_epoch(ts: str) -> str:
    return f"CAST(strftime('%s', {ts}) AS INTEGER)"


def _sqlite_local(ts: str) -> str:
    """Local wall-clock seconds since 1970 of a UTC timestamp column, on SQLite."""
    epoch = _sqlite_epoch(ts)
    return (f"({epoch} + (SELECT offset_seconds FROM utc_offsets WHERE until_epoch > {epoch} "
            "ORDER BY until_epoch LIMIT 1))")


def _sqlite_stamp(row: str) -> str:
    """SET clause of the local day and hour and the stay of a visit row (NEW, or visits)."""
    local = _sqlite_local(f"{row}.checked_in_at")
    stay = f"{_sqlite_epoch(row + '.checked_out_at')} - {_sqlite_epoch(row + '.checked_in_at')}"
    return (f"local_day = date({local}, 'unixepoch'), local_hour = ({local} % 86400) / 3600, "
            f"stay_seconds = CASE WHEN {_ended(row)} THEN {stay} END")


def _ended(row: str) -> str:
    """A visit ended by a check-out, not by erasing its registration: it has a stay."""
    return f"{row}.checked_out_at IS NOT NULL AND coalesce({row}.checkout_method, '') <> 'erased'"


STAMPED = "checked_in_at, checked_out_at, checkout_method"  # what the stamp is made of


SQLITE_TRIGGERS = [
    "CREATE TRIGGER visits_local_time_insert AFTER INSERT ON visits BEGIN "
    f"UPDATE visits SET {_sqlite_stamp('NEW')} WHERE id = NEW.id; END",
    f"CREATE TRIGGER visits_local_time_update AFTER UPDATE OF {STAMPED} ON visits BEGIN "
    f"UPDATE visits SET {_sqlite_stamp('NEW')} WHERE id = NEW.id; END",
    "CREATE TRIGGER visit_children_bands_insert AFTER INSERT ON visit_children BEGIN "
    f"UPDATE visits SET {_band_delta('NEW', '+')} WHERE id = NEW.visit_id; END",
    "CREATE TRIGGER visit_children_bands_update AFTER UPDATE OF visit_id, age_months "
    "ON visit_children BEGIN "
    f"UPDATE visits SET {_band_delta('OLD', '-')} WHERE id = OLD.visit_id; "
    f"UPDATE visits SET {_band_delta('NEW', '+')} WHERE id = NEW.visit_id; END",
    "CREATE TRIGGER visit_children_bands_delete AFTER DELETE ON visit_children BEGIN "
    f"UPDATE visits SET {_band_delta('OLD', '-')} WHERE id = OLD.visit_id; END",
]
SQLITE_LOG_UPDATE = (
    "CREATE TRIGGER visits_log_update AFTER UPDATE {of}ON visits BEGIN "
    + LOG + "VALUES (OLD.center_id, OLD.checked_in_at); "
    + LOG + "SELECT NEW.center_id, NEW.checked_in_at WHERE NEW.center_id IS NOT OLD.center_id "
    "OR NEW.checked_in_at IS NOT OLD.checked_in_at; END")


def _pg_epoch(ts: str) -> str:
    return f"CAST(floor(extract(epoch FROM {ts})) AS bigint)"


def _pg_band_function(name: str, body: str) -> str:
    return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{body} RETURN NULL; END $$")


POSTGRES_TRIGGERS = [
    "CREATE FUNCTION visits_local_time() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE epoch bigint; local bigint; BEGIN "
    f"epoch := {_pg_epoch('NEW.checked_in_at')}; "
    "local := epoch + (SELECT offset_seconds FROM utc_offsets WHERE until_epoch > epoch "
    "ORDER BY until_epoch LIMIT 1); "
    "NEW.local_day := DATE '1970-01-01' + CAST(local / 86400 AS integer); "
    "NEW.local_hour := (local % 86400) / 3600; "
    f"NEW.stay_seconds := CASE WHEN {_ended('NEW')} THEN {_pg_epoch('NEW.checked_out_at')} "
    "- epoch END; "
    "RETURN NEW; END $$",
    f"CREATE TRIGGER visits_local_time BEFORE INSERT OR UPDATE OF {STAMPED} ON visits "
    "FOR EACH ROW EXECUTE FUNCTION visits_local_time()",
    _pg_band_function(
        "visit_children_bands",
        f"IF TG_OP <> 'INSERT' THEN UPDATE visits SET {_band_delta('OLD', '-')} "
        "WHERE id = OLD.visit_id; END IF; "
        f"IF TG_OP <> 'DELETE' THEN UPDATE visits SET {_band_delta('NEW', '+')} "
        "WHERE id = NEW.visit_id; END IF;"),
    "CREATE TRIGGER visit_children_bands AFTER INSERT OR DELETE OR UPDATE OF visit_id, "
    "age_months ON visit_children FOR EACH ROW EXECUTE FUNCTION visit_children_bands()",
]
POSTGRES_LOG_TRIGGER = ("CREATE TRIGGER visits_log_change AFTER INSERT OR DELETE OR UPDATE {of}"
                        "ON visits FOR EACH ROW EXECUTE FUNCTION visits_log_change()")
SQLITE_DROPS = ["DROP TRIGGER IF EXISTS " + s.split()[2] for s in SQLITE_TRIGGERS]
POSTGRES_DROPS = [
    "DROP TRIGGER IF EXISTS visits_local_time ON visits",
    "DROP TRIGGER IF EXISTS visit_children_bands ON visit_children",
    "DROP FUNCTION IF EXISTS visits_local_time()",
    "DROP FUNCTION IF EXISTS visit_children_bands()",
]


def _postgres() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def _offset(zone: ZoneInfo, moment: datetime) -> int:
    return int(moment.astimezone(zone).utcoffset().total_seconds())


def utc_offsets(zone: ZoneInfo) -> list[tuple[int, int]]:
    """(until epoch second, offset) periods of a zone from 1970 to 2100; the last is open."""
    rows, moment = [], datetime(1970, 1, 1, tzinfo=UTC)
    offset, end = _offset(zone, moment), datetime(2100, 1, 1, tzinfo=UTC)
    while moment < end:
        step = moment + timedelta(days=1)
        if _offset(zone, step) != offset:
            before, after = moment, step  # the first second with the new offset
            while after - before > timedelta(seconds=1):
                middle = before + (after - before) / 2
                if _offset(zone, middle) == offset:
                    before = middle
                else:
                    after = middle
            rows.append((int(after.timestamp()), offset))
            offset = _offset(zone, after)
        moment = step
    return rows + [(OPEN_END, offset)]


def upgrade() -> None:
    op.create_table('utc_offsets',
    sa.Column('until_epoch', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('offset_seconds', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('until_epoch', name=op.f('pk_utc_offsets'))
    )
    # Plain ADD COLUMN (no batch copy of the table, which would drop its triggers on SQLite).
    op.add_column('visits', sa.Column('local_day', sa.Date(), nullable=True))
    op.add_column('visits', sa.Column('local_hour', sa.Integer(), nullable=True))
    op.add_column('visits', sa.Column('stay_seconds', sa.BigInteger(), nullable=True))
    op.add_column('visits', sa.Column('children_count', sa.Integer(), server_default='0',
                                      nullable=False))
    for column, _low, _below in BANDS:
        op.add_column('visits', sa.Column(column, sa.Integer(), server_default='0',
                                          nullable=False))
    op.create_index('ix_visits_center_local_day', 'visits', ['center_id', 'local_day'],
                    unique=False)
    # The hourly rollup keeps its children per age band: the age rollup is made from it.
    for column, _low, _below in BANDS:
        op.add_column('rollup_hourly', sa.Column(column, sa.Integer(), server_default='0',
                                                 nullable=False))
    # The change log ignores updates of the stored columns only (the triggers below write
    # them); every other update is logged as before.
    if _postgres():
        op.execute("DROP TRIGGER visits_log_change ON visits")
        op.execute(POSTGRES_LOG_TRIGGER.format(of=f"OF {LOGGED} "))
    else:
        op.execute("DROP TRIGGER visits_log_update")
        op.execute(SQLITE_LOG_UPDATE.format(of=f"OF {LOGGED} "))
    timezone = os.environ.get("CITYHALL_TIMEZONE", "Asia/Tokyo")
    offsets = sa.table('utc_offsets', sa.column('until_epoch'), sa.column('offset_seconds'),
                       sa.column('timezone'))
    op.bulk_insert(offsets, [{"until_epoch": until, "offset_seconds": offset,
                              "timezone": timezone}
                             for until, offset in utc_offsets(ZoneInfo(timezone))])
    # Backfill existing visits with the same expressions the triggers use.
    if _postgres():
        op.execute(
            "UPDATE visits SET local_day = DATE '1970-01-01' + CAST(s.local / 86400 AS integer), "
            "local_hour = (s.local % 86400) / 3600, "
            f"stay_seconds = CASE WHEN {_ended('visits')} THEN "
            f"{_pg_epoch('visits.checked_out_at')} - s.epoch END "
            "FROM (SELECT v.id, e.epoch, e.epoch + (SELECT "
            "offset_seconds FROM utc_offsets WHERE until_epoch > e.epoch ORDER BY until_epoch "
            "LIMIT 1) AS local FROM visits v CROSS JOIN LATERAL (SELECT "
            f"{_pg_epoch('v.checked_in_at')} AS epoch) e) s WHERE s.id = visits.id")
    else:
        op.execute(f"UPDATE visits SET {_sqlite_stamp('visits')}")
    counts = ", ".join(
        ["children_count = (SELECT count(*) FROM visit_children c WHERE c.visit_id = visits.id)"]
        + [f"{col} = (SELECT count(*) FROM visit_children c WHERE c.visit_id = visits.id AND "
           f"{_band_test('c.age_months', lo, hi)})" for col, lo, hi in BANDS])
    op.execute(f"UPDATE visits SET {counts}")
    for statement in POSTGRES_TRIGGERS if _postgres() else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for statement in POSTGRES_DROPS if _postgres() else SQLITE_DROPS:
        op.execute(statement)
    if _postgres():
        op.execute("DROP TRIGGER visits_log_change ON visits")
        op.execute(POSTGRES_LOG_TRIGGER.format(of=""))
    else:
        op.execute("DROP TRIGGER visits_log_update")
        op.execute(SQLITE_LOG_UPDATE.format(of=""))
    op.drop_index('ix_visits_center_local_day', table_name='visits')
    for column, _low, _below in BANDS:
        op.drop_column('rollup_hourly', column)
    for column in ('children_6_up', 'children_3_5', 'children_2', 'children_1', 'children_0',
                   'children_count', 'stay_seconds', 'local_hour', 'local_day'):
        op.drop_column('visits', column)
    op.drop_table('utc_offsets')
