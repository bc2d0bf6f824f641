"""`cityhall demo-data`: each loaded feature fills the database with its synthetic demo data.

A feature contributes through `Feature.demo_data`, a function of one `DemoContext`, run in
load order (residents' households before check-in's visits before the dashboards' rollups),
all in one transaction. A `demo_data_loads` row per feature records what was loaded: a second
run, even one racing the first, skips every feature that has its row, and a feature added to
the list later gets its demo data on the next run. A database that already holds registered
households but no demo data is refused: demo families never mix with real ones.

Everything is generated: names from invented syllables, phone numbers in 090-0xxx-xxxx,
e-mail at example.jp. The same seed, sizes and `now` give the same data.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from cityhall.city import City
from cityhall.db import dialect_insert
from models.demo import DemoDataLoad
from models.household import Household

DEFAULT_SEED = 2026
DEFAULT_HOUSEHOLDS = 300
DEFAULT_MONTHS = 18
# Rows per INSERT statement: large enough to be quick, small enough for any driver's limits.
BATCH = 2000


class DemoDataError(RuntimeError):
    """Demo data cannot be made here; the message says why and what to do."""


class NotFresh(DemoDataError):
    """The database holds registrations but no demo data: demo data goes only into a fresh one."""


# Invented names: syllables put together by a seeded generator, never a list of real people.
_SYLLABLES = [
    ("カ", "ka"), ("キ", "ki"), ("ク", "ku"), ("ケ", "ke"), ("コ", "ko"), ("サ", "sa"),
    ("シ", "shi"), ("ス", "su"), ("セ", "se"), ("ソ", "so"), ("タ", "ta"), ("チ", "chi"),
    ("ツ", "tsu"), ("テ", "te"), ("ト", "to"), ("ナ", "na"), ("ニ", "ni"), ("ヌ", "nu"),
    ("ネ", "ne"), ("ノ", "no"), ("ハ", "ha"), ("ヒ", "hi"), ("フ", "fu"), ("ヘ", "he"),
    ("ホ", "ho"), ("マ", "ma"), ("ミ", "mi"), ("ム", "mu"), ("メ", "me"), ("モ", "mo"),
    ("ヤ", "ya"), ("ユ", "yu"), ("ヨ", "yo"), ("ラ", "ra"), ("リ", "ri"), ("ル", "ru"),
    ("レ", "re"), ("ロ", "ro"), ("ワ", "wa"),
]
_ENDINGS = [("", ""), ("ン", "n"), ("ナ", "na"), ("ミ", "mi"), ("カ", "ka"), ("ト", "to")]
# Generated names never contain these (rude words a random draw could spell).
_AVOID = ("クソ", "シネ", "チン", "マン", "キモ", "コロ", "タヒ", "ヌス", "ハゲ", "カス", "ゲロ")


@dataclass(frozen=True)
class FakeName:
    """A generated name: as shown (`name`), in katakana (`kana`) and in Latin letters."""

    name: str
    kana: str
    latin: str


def _hiragana(katakana: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in katakana)


class FakeNames:
    """Make clearly invented names (a katakana family name of three syllables) from an RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _word(self, syllables: int, ending: bool) -> tuple[str, str]:
        while True:
            parts = [self.rng.choice(_SYLLABLES) for _ in range(syllables)]
            if ending:
                parts.append(self.rng.choice(_ENDINGS))
            kana = "".join(k for k, _ in parts)
            if not any(word in kana for word in _AVOID):
                return kana, "".join(r for _, r in parts)

    def family(self) -> tuple[str, str]:
        """Return a family name as (katakana, Latin)."""
        return self._word(3, ending=False)

    def person(self, family: tuple[str, str], latin_first: bool = False) -> FakeName:
        """Return a person of this family: Japanese order, or given name first in Latin."""
        given_kana, given_latin = self._word(self.rng.choice((1, 2)), ending=True)
        kana = f"{family[0]} {given_kana}"
        latin = f"{given_latin.title()} {family[1].title()}" if latin_first else \
            f"{family[1].title()} {given_latin.title()}"
        return FakeName(name=latin if latin_first else f"{family[0]} {_hiragana(given_kana)}",
                        kana=kana, latin=latin)


@dataclass
class DemoContext:
    """What a feature's demo-data function gets: the session, the period, sizes and a seeded RNG.

    `rng` is the feature's own (seeded from the seed and the feature's name), so adding a
    feature never changes another's data. `notes` collects one line per thing made, printed by
    the command.
    """

    session: Session
    now: datetime
    city: City
    seed: int = DEFAULT_SEED
    households: int = DEFAULT_HOUSEHOLDS
    months: int = DEFAULT_MONTHS
    feature: str = ""
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}/{self.feature}")
        self.names = FakeNames(self.rng)

    @property
    def today(self) -> date:
        """The city's local date at `now`."""
        return self.city.today(self.now)

    @property
    def first_day(self) -> date:
        """The first local day of the demo period: `months` months before today."""
        return months_before(self.today, self.months)

    def days(self) -> list[date]:
        """Every local day of the period, today excluded."""
        count = (self.today - self.first_day).days
        return [self.first_day + timedelta(days=n) for n in range(count)]

    def at(self, day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
        """Return a local wall-clock time on a day as an aware datetime."""
        return datetime.combine(day, time(hour, minute, second), self.city.zone)

    def new_ids(self, model: Any, count: int) -> list[int]:
        """Take `count` ids for rows of `model`, so other rows can name them before the insert."""
        table = getattr(model, "__table__", model)
        if count <= 0:
            return []
        if self.session.get_bind().dialect.name == "postgresql":
            return list(self.session.scalars(text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                "FROM generate_series(1, :count)"), {"table": table.name, "count": count}))
        # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE), so max + 1 is ours.
        top = self.session.scalar(select(func.max(table.c.id))) or 0
        return list(range(top + 1, top + count + 1))

    def insert(self, model: Any, rows: Sequence[dict[str, Any]],
               with_ids: bool = False) -> list[int]:
        """Insert many rows, one executemany per batch; with_ids gives each an id first (returned
        in row order). No RETURNING: psycopg parses a many-row RETURNING statement slowly."""
        table = getattr(model, "__table__", model)
        ids = self.new_ids(table, len(rows)) if with_ids else []
        if with_ids:
            rows = [row | {"id": n} for row, n in zip(rows, ids)]
        for start in range(0, len(rows), BATCH):
            self.session.execute(insert(table), rows[start:start + BATCH])
        return ids

    def note(self, text: str) -> None:
        """Say what was made (one line of the command's output)."""
        self.notes.append(f"{self.feature}: {text}")


def months_before(day: date, months: int) -> date:
    """Return the same day `months` months earlier (the month's last day if it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass
class Outcome:
    """What a run did: the features loaded now, those loaded before, and their notes."""

    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load(session: Session, features: Iterable[Any], *, now: datetime, city: City,
         seed: int = DEFAULT_SEED, households: int = DEFAULT_HOUSEHOLDS,
         months: int = DEFAULT_MONTHS) -> Outcome:
    """Run each feature's demo-data function once per database, in load order."""
    with_data = [f for f in features if f.demo_data is not None]
    if not session.scalar(select(func.count()).select_from(DemoDataLoad)):
        registered = session.scalar(select(func.count()).select_from(Household))
        if registered:
            raise NotFresh(f"the database already holds {registered} registered households and "
                           "no demo data; demo data goes only into a fresh database (point "
                           "DATABASE_URL at a new one)")
    outcome = Outcome()
    for feature in with_data:
        if not _claim(session, feature.name, now, seed, households, months):
            outcome.skipped.append(feature.name)
            continue
        context = DemoContext(session, now, city, seed, households, months, feature.name)
        feature.demo_data(context)
        session.flush()
        outcome.loaded.append(feature.name)
        outcome.notes += context.notes
    return outcome


def _claim(session: Session, name: str, now: datetime, seed: int, households: int,
           months: int) -> bool:
    """Record the feature's load; False when a row exists (a racing run waits, then skips)."""
    statement = dialect_insert(session)(DemoDataLoad).values(
        feature=name, seed=seed, households=households, months=months, loaded_at=now,
    ).on_conflict_do_nothing(index_elements=["feature"]).returning(DemoDataLoad.feature)
    return session.execute(statement).first() is not None
