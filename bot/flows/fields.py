"""Field types: one class per type, registered once in FIELD_TYPES.

A type knows everything about its kind of question: the extra YAML keys it accepts and how
to check them (`read`), how to turn what the resident sent into the value to store or say
what was wrong (`parse`, raising Invalid), which buttons to offer (`quick_replies`, as plain
button descriptions that render.py encodes), and how to show a stored value to the resident
(`display`) and to staff (`detail`). Stored values are plain JSON: ISO dates, "HH:MM",
option values, digits.

A new type is one subclass decorated with `@field_type`; a second class with the same name
stops the app at start-up, naming both classes.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from bot.flows.dates import WEEKDAY_KEYS, read_date, weekday_key
from cityhall.i18n import format_day, translate
from cityhall.text import Refusal, find_forbidden, refusal_of, unify_line_ends

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.flows.engine import Turn
    from bot.flows.schema import Field, Option, Reader


@dataclass
class Input:
    """What the resident sent for a step."""

    kind: str  # "text", "postback", "image" or "location"
    text: str = ""
    value: str | None = None  # a postback's chosen value
    params: dict[str, str] = field(default_factory=dict)  # a date/time picker's answer
    message_id: str | None = None
    location: dict[str, Any] | None = None


class Invalid(Exception):
    """An answer that does not fit: a message id and its variables, or the form's own text."""

    def __init__(self, message: str, custom: dict[str, str] | None = None,
                 translated: dict[str, str] | None = None, **variables: Any) -> None:
        super().__init__(message)
        self.message = message
        self.custom = custom  # the form's own error text, per language
        self.translated = translated or {}  # variables that are message ids themselves
        self.variables = variables

    def say(self, view: View) -> str:
        """Word the reason in the view's language."""
        if self.custom:
            return view.text(self.custom)
        words = {key: view.t(value) for key, value in self.translated.items()}
        return view.t(self.message, **self.variables, **words)


# Buttons a type offers under its question; render.py turns them into LINE quick replies.


@dataclass(frozen=True)
class Tap:
    """A quick reply that sends a form operation ("answer", "toggle", "done") with a value."""

    label: str
    op: str = "answer"
    value: str | None = None


@dataclass(frozen=True)
class Picker:
    """LINE's date or time picker; its answer comes back as an "answer" postback."""

    label: str
    mode: str  # "date" or "time"
    min: str | None = None
    max: str | None = None
    initial: str | None = None


@dataclass(frozen=True)
class Device:
    """A LINE action that opens the phone's location picker, camera or photo roll."""

    action: str  # "location", "camera" or "cameraRoll"
    label: str


Button = Tap | Picker | Device


class View(Protocol):
    """What showing a value needs: the reader's language and the field's options."""

    lang: str

    def t(self, message: str, **variables: object) -> str: ...

    def text(self, value: dict[str, str] | None) -> str: ...

    def options(self, f: Field) -> list[Option]: ...


def options_of(session: Session, f: Field) -> list[Option]:
    """Return a choice field's options, from the form or from a named source."""
    from bot.flows import hooks

    if f.options_from:
        return hooks.option_source(f.options_from)(session)
    return list(f.options)


@dataclass
class AnswerView:
    """A View outside a conversation (the staff inbox): a session and a language."""

    session: Session
    lang: str

    def t(self, message: str, **variables: object) -> str:
        return translate(self.lang, message, **variables)

    def text(self, value: dict[str, str] | None) -> str:
        return (value or {}).get(self.lang) or (value or {}).get("ja", "")

    def options(self, f: Field) -> list[Option]:
        return options_of(self.session, f)


# The registry


class FieldTypeError(RuntimeError):
    """Two field types under one name, or a name no type has."""


class FieldType:
    """One kind of question. Subclass, set `name`, override what differs, add @field_type."""

    name: ClassVar[str]
    keys: ClassVar[frozenset[str]] = frozenset()  # YAML keys beyond those every field has
    personal: ClassVar[bool] = False  # asks for something an anonymous form must not hold
    multiline: ClassVar[bool] = False  # typed answers may span several lines
    container: ClassVar[bool] = False  # holds sub-fields (a group), asked in their place
    toggles: ClassVar[bool] = False  # answered by toggling options, then "Done"

    def read(self, reader: Reader, data: dict, where: str) -> dict[str, Any]:
        """Check this type's YAML keys; return the Field attributes they set."""
        return {}

    def parse(self, f: Field, inp: Input, turn: Turn) -> Any:
        """Return the value to store for what the resident sent, or raise Invalid."""
        raise NotImplementedError(f"{type(self).__name__} has no answer of its own")

    def quick_replies(self, f: Field, turn: Turn) -> list[Button]:
        """Return the buttons offered under the question (controls are added by render)."""
        return []

    def display(self, f: Field, value: Any, view: View) -> str:
        """Show a stored (not None) value to the resident, in the view's language."""
        return str(value)

    def detail(self, f: Field, value: Any, view: View) -> str:
        """Show a stored (not None) value to staff; by default as the resident sees it."""
        return self.display(f, value, view)

    def upload_id(self, value: Any) -> int | None:
        """Return the id of the upload a stored value refers to (photos), if any."""
        return None

    def hint(self, f: Field, turn: Turn) -> str | None:
        """Return a line said under the question about how to answer it, if any."""
        return None

    def depends_on(self, f: Field) -> set[str]:
        """Return the ids of earlier fields this type's own rules compare the answer with."""
        return set()

    def check_rules(self, f: Field, value: Any, answers: dict[str, Any], turn: Turn) -> None:
        """Raise Invalid if the answer breaks a rule tying it to earlier `answers`."""


class FieldTypes:
    """The field types by name."""

    def __init__(self) -> None:
        self._types: dict[str, FieldType] = {}

    def register(self, cls: type[FieldType]) -> type[FieldType]:
        """Add a type class; a name already taken is an error naming both classes."""
        existing = self._types.get(cls.name)
        if existing is not None and _where(type(existing)) != _where(cls):
            raise FieldTypeError(f"field type {cls.name!r} is defined twice: by "
                                 f"{_where(type(existing))} and by {_where(cls)}")
        self._types[cls.name] = cls()
        return cls

    def unregister(self, name: str) -> None:
        """Forget a type (tests add their own)."""
        self._types.pop(name, None)

    def __getitem__(self, name: str) -> FieldType:
        found = self._types.get(name)
        if found is None:
            raise FieldTypeError(f"unknown field type {name!r}")
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def names(self) -> list[str]:
        """Return every type name, sorted."""
        return sorted(self._types)


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


FIELD_TYPES = FieldTypes()
field_type = FIELD_TYPES.register


def kind_of(f: Field) -> FieldType:
    """Return the type object of a field."""
    return FIELD_TYPES[f.type]


def parse(f: Field, inp: Input, turn: Turn) -> Any:
    """Read the resident's answer to a field, or raise Invalid."""
    return kind_of(f).parse(f, inp, turn)


def display(f: Field, value: Any, view: View) -> str:
    """Show a stored answer to the resident ("—" when skipped)."""
    return "—" if value is None else kind_of(f).display(f, value, view)


# Rules between answers: a field compares its answer with earlier answers of the same list
# (the form's fields, or one group item's). The engine checks them when the field is answered,
# and again for later answers when an earlier one they depend on is changed.


def depends_on(f: Field) -> set[str]:
    """Return the ids of the earlier fields a field's rules compare its answer with."""
    return ({f.differs_from} if f.differs_from else set()) | kind_of(f).depends_on(f)


def check_rules(f: Field, value: Any, answers: dict[str, Any], peers: dict[str, Field],
                turn: Turn) -> None:
    """Raise Invalid when an answer breaks a rule tying it to earlier answers."""
    if value is None:
        return
    other = answers.get(f.differs_from) if f.differs_from else None
    if other is not None and other == value and f.differs_from in peers:
        peer = peers[f.differs_from]
        raise Invalid("Please choose something other than your answer to "
                      "\"%(label)s\" (%(value)s).", label=turn.text(peer.label),
                      value=display(peer, other, turn))
    kind_of(f).check_rules(f, value, answers, turn)


def clock_minutes(hhmm: str) -> int:
    """Return the minutes since midnight of "HH:MM" (up to "24:00")."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return hours * 60 + minutes


def clock_text(minutes: float) -> str:
    """Write minutes since midnight as "HH:MM" (past midnight as 25:00, as timetables do)."""
    minutes = int(round(minutes))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# Reading typed text: every text-based type goes through `typed`


def control_problem(text: str, multiline: bool = False) -> Invalid | None:
    """Return why text with control characters is refused, or None when it is clean.

    The rule is cityhall.text's, shared with the staff web; newlines pass only where the
    field takes several lines.
    """
    found = find_forbidden(text, multiline)
    if found is None:
        return None
    if found.reason is Refusal.LINE_END:
        return Invalid("Please write it on one line.")
    if found.reason is Refusal.BIDI:
        return Invalid("Please send it again without the text-direction control "
                       "character %(char)s.", char=found.code)
    return Invalid("Please send it again without the invisible control character "
                   "%(char)s.", char=found.code)


def clean_text(text: str, multiline: bool = False) -> str:
    """Return text with its line ends made "\\n", or raise Invalid if it holds controls."""
    text = unify_line_ends(text)
    if not multiline:
        text = text.strip("\n")  # a line end after the answer is harmless
    problem = control_problem(text, multiline)
    if problem is not None:
        raise problem
    return text


def strip_controls(text: str | None) -> str | None:
    """Drop control characters from text the resident did not type (a map's address)."""
    if text is None:
        return None
    return "".join(c for c in text if refusal_of(c) is None)


def typed(inp: Input, multiline: bool = False) -> str:
    """Return the text the resident typed (or a tapped value), refusing control characters."""
    if inp.kind == "postback" and inp.value is not None:
        return clean_text(inp.value, multiline)
    if inp.kind != "text":
        raise Invalid("Please answer with a text message.")
    return clean_text(inp.text, multiline)


def normalize(text: str) -> str:
    """Fold full-width digits and letters, half-width kana, and surrounding space."""
    return unicodedata.normalize("NFKC", text).strip()


def _field_error(f: Field, fallback: str) -> Invalid:
    return Invalid(fallback, custom=f.error)


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _range_error(low: Any, high: Any) -> Invalid:
    if low is not None and high is not None:
        return Invalid("Please send a number from %(min)s to %(max)s.", min=_n(low), max=_n(high))
    if low is not None:
        return Invalid("Please send a number of at least %(min)s.", min=_n(low))
    return Invalid("Please send a number of at most %(max)s.", max=_n(high))


def resolve_date(spec: str | None, today: date) -> date | None:
    """Turn "today", "+3d", "-18y" or an ISO date into a date."""
    if spec is None:
        return None
    if spec == "today":
        return today
    match = re.fullmatch(r"([+-]\d+)([dmy])", spec)
    if not match:
        return date.fromisoformat(spec)
    amount, unit = int(match.group(1)), match.group(2)
    if unit == "d":
        return today + timedelta(days=amount)
    months = amount * (12 if unit == "y" else 1)
    year, month = divmod(today.month - 1 + months, 12)
    year += today.year
    day = min(today.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def date_bounds(f: Field, turn: Turn) -> tuple[date | None, date | None]:
    """Return the earliest and latest date the field accepts, as of today in the city."""
    return resolve_date(f.min_date, turn.today), resolve_date(f.max_date, turn.today)


def _date_range_error(low: date | None, high: date | None) -> Invalid:
    if low and high:
        return Invalid("Please choose a date from %(min)s to %(max)s.", min=low.isoformat(),
                       max=high.isoformat())
    if low:
        return Invalid("Please choose a date on or after %(min)s.", min=low.isoformat())
    return Invalid("Please choose a date on or before %(max)s.", max=high.isoformat())


TIME_FORMATS = [re.compile(p) for p in (r"^(\d{1,2})[:：](\d{2})$", r"^(\d{1,2})時(?:(\d{1,2})分|半)?$")]


def read_time(text: str) -> time | None:
    """Read 09:30, 9:30, 9時30分, 9時半 or 9時."""
    text = normalize(text).replace(" ", "")
    for pattern in TIME_FORMATS:
        match = pattern.match(text)
        if match:
            minute = 30 if text.endswith("半") else int(match.group(2) or 0)
            try:
                return time(int(match.group(1)), minute)
            except ValueError:
                return None
    return None


def match_option(options: list[Option], text: str) -> Option | None:
    """Find the option whose value or label (in any language) the resident typed."""
    wanted = normalize(text).casefold().replace(" ", "")
    for option in options:
        names = [option.value, *option.label.values(), *(option.short or {}).values()]
        if any(normalize(n).casefold().replace(" ", "") == wanted for n in names):
            return option
    return None


def check_selection(f: Field, values: list[str]) -> list[str]:
    """Check how many options were chosen."""
    low = int(f.min or 1)
    if len(values) < low:
        raise Invalid("Please choose at least %(min)s.", min=low)
    if f.max is not None and len(values) > f.max:
        raise Invalid("Please choose at most %(max)s.", max=int(f.max))
    return values


def to_katakana(text: str) -> str:
    """Turn hiragana into katakana, leaving everything else."""
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def _label(view: View, option: Option) -> str:
    return option.label.get(view.lang, option.label["ja"])


def _button_label(view: View, option: Option) -> str:
    """An option as its button shows it: the short label when there is one."""
    return (option.short or {}).get(view.lang) or _label(view, option)


# The types


@field_type
class Text(FieldType):
    """A line of text, optionally checked against a pattern."""

    name = "text"
    keys = frozenset({"min_length", "max_length", "pattern"})
    default_max: ClassVar[int] = 100

    def read(self, reader: Reader, data: dict, where: str) -> dict[str, Any]:
        pattern = data.get("pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise reader.fail(where, f"pattern does not compile: {exc}") from exc
        return {"pattern": pattern, "min_length": reader.number(data, "min_length", where),
                "max_length": reader.number(data, "max_length", where) or self.default_max}

    def parse(self, f: Field, inp: Input, turn: Turn) -> str:
        value = typed(inp, self.multiline).strip()
        if not value:
            raise Invalid("Please send some text.")
        if f.max_length and len(value) > f.max_length:
            raise Invalid("Please keep it to %(max)s characters or fewer.", max=int(f.max_length))
        if f.min_length and len(value) < f.min_length:
            raise Invalid("Please write at least %(min)s characters.", min=int(f.min_length))
        if f.pattern and not re.fullmatch(f.pattern, normalize(value)):
            raise _field_error(f, "That does not look right. Please try again.")
        return value


@field_type
class LongText(Text):
    """Free text over several lines."""

    name = "longtext"
    multiline = True
    default_max = 1000


NUMBER = re.compile(r"^(-?\d+(?:\.\d+)?)\s*\D{0,6}$")


@field_type
class Number(FieldType):
    """A number typed as 3, ３ or 3時間."""

    name = "number"
    keys = frozenset({"min", "max", "integer", "ends_by"})

    def read(self, reader: Reader, data: dict, where: str) -> dict[str, Any]:
        low, high = reader.number(data, "min", where), reader.number(data, "max", where)
        if low is not None and high is not None and low > high:
            raise reader.fail(where, "min is greater than max")
        settings = {"min": low, "max": high, "integer": bool(data.get("integer", True))}
        if data.get("ends_by") is not None:
            settings["ends_by"] = self.read_ends_by(reader, data["ends_by"], where)
        return settings

    @staticmethod
    def read_ends_by(reader: Reader, spec: Any, where: str) -> dict[str, str]:
        """Check `ends_by: {start: TIME_FIELD, at: "HH:MM"}`: hours from start end by `at`."""
        if not isinstance(spec, dict) or set(spec) != {"start", "at"}:
            raise reader.fail(where, 'write ends_by: {start: FIELD, at: "HH:MM"}')
        start = reader.earlier.get(spec["start"])
        if start is None or start.type != "time":
            raise reader.fail(where, f"ends_by.start {spec['start']!r} is not an earlier "
                                     "time field")
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d|24:00", str(spec["at"])):
            raise reader.fail(where, 'ends_by.at must be a time like "17:00"')
        return {"start": str(spec["start"]), "at": str(spec["at"])}

    def depends_on(self, f: Field) -> set[str]:
        ends_by = f.settings.get("ends_by")
        return {ends_by["start"]} if ends_by else set()

    def check_rules(self, f: Field, value: Any, answers: dict[str, Any], turn: Turn) -> None:
        ends_by = f.settings.get("ends_by")
        start = answers.get(ends_by["start"]) if ends_by else None
        if start is None:
            return
        begin, close = clock_minutes(start), clock_minutes(ends_by["at"])
        if begin + value * 60 <= close:
            return
        longest = (close - begin) / 60
        if f.integer:
            longest = float(int(longest))
        if longest < max(f.min or 0, 0) or longest <= 0:
            raise Invalid("Starting at %(start)s leaves no time before closing at %(close)s. "
                          "Please go back and choose an earlier start time.",
                          start=start, close=ends_by["at"])
        raise Invalid("That would end at %(end)s, after closing at %(close)s. Please choose "
                      "%(max)s hours or fewer.", end=clock_text(begin + value * 60),
                      close=ends_by["at"], max=_n(longest))

    def parse(self, f: Field, inp: Input, turn: Turn) -> int | float:
        match = NUMBER.match(normalize(typed(inp)).replace(",", ""))
        if not match:
            raise Invalid("Please send a number, e.g. 3.")
        number = float(match.group(1))
        if f.integer and not number.is_integer():
            raise Invalid("Please send a whole number.")
        value: int | float = int(number) if f.integer else number
        if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
            raise _range_error(f.min, f.max)
        return value


RELATIVE_DATE = re.compile(r"^(today|[+-]\d+[dmy])$")


@field_type
class Date(FieldType):
    """A day from the picker or typed (2026-12-10, 12月10日, 明日, 来週月曜); bounds relative
    to today in the city; days the service is closed refused."""

    name = "date"
    keys = frozenset({"min_date", "max_date", "closed_weekdays", "closed_dates", "open_at"})

    def read(self, reader: Reader, data: dict, where: str) -> dict[str, Any]:
        for key in ("min_date", "max_date"):
            value = data.get(key)
            if value is not None and not (RELATIVE_DATE.match(str(value)) or _iso_date(value)):
                raise reader.fail(where, f"{key} must be today, +Nd/-Nm/+Ny or YYYY-MM-DD")
        weekdays = data.get("closed_weekdays") or []
        if not isinstance(weekdays, list) or set(weekdays) - set(WEEKDAY_KEYS):
            raise reader.fail(where, "closed_weekdays must be a list of: "
                                     + ", ".join(WEEKDAY_KEYS))
        days = data.get("closed_dates") or []
        if not isinstance(days, list) or not all(_iso_date(d) for d in days):
            raise reader.fail(where, "closed_dates must be a list of YYYY-MM-DD dates")
        if len(weekdays) == len(WEEKDAY_KEYS):
            raise reader.fail(where, "closed_weekdays closes every day of the week")
        settings = {"min_date": _as_text(data.get("min_date")),
                    "max_date": _as_text(data.get("max_date")),
                    "closed_weekdays": tuple(w for w in WEEKDAY_KEYS if w in weekdays),
                    "closed_dates": tuple(sorted(_as_text(d) for d in days))}
        if data.get("open_at") is not None:
            settings["open_at"] = self.read_open_at(reader, data["open_at"], where)
        return settings

    @staticmethod
    def read_open_at(reader: Reader, field_id: Any, where: str) -> dict[str, str]:
        """Check `open_at: FIELD`: an earlier choice whose option source has a calendar."""
        from bot.flows.hooks import CALENDARS

        peer = reader.earlier.get(field_id)
        if peer is None or peer.type != "choice" or peer.options_from not in CALENDARS:
            raise reader.fail(where, f"open_at {field_id!r} is not an earlier choice whose "
                                     "options_from has a calendar; calendars: "
                                     + ", ".join(sorted(CALENDARS)))
        return {"field": field_id, "calendar": peer.options_from}

    def depends_on(self, f: Field) -> set[str]:
        open_at = f.settings.get("open_at")
        return {open_at["field"]} if open_at else set()

    def check_rules(self, f: Field, value: Any, answers: dict[str, Any], turn: Turn) -> None:
        from bot.flows.hooks import CALENDARS, OPTION_SOURCES

        open_at = f.settings.get("open_at")
        place = answers.get(open_at["field"]) if open_at else None
        if place is None:
            return
        day = date.fromisoformat(value)
        if CALENDARS[open_at["calendar"]](turn.session, place, day):
            return
        options = OPTION_SOURCES[open_at["calendar"]](turn.session)
        name = next((turn.text(o.label) for o in options if o.value == place), place)
        raise Invalid("%(place)s is closed on %(day)s. Please choose another day.",
                      place=name, day=day.isoformat())

    def parse(self, f: Field, inp: Input, turn: Turn) -> str:
        picked = inp.params.get("date") if inp.kind == "postback" else None
        low, high = date_bounds(f, turn)
        value = read_date(picked or typed(inp), turn.today, low, high)
        if value is None:
            raise Invalid("Please send a date like %(example)s, or use the button.",
                          example=example_date(f, turn).isoformat())
        if (low and value < low) or (high and value > high):
            raise _date_range_error(low, high)
        closed = closed_reason(f, value)
        if closed is not None:
            raise closed
        return value.isoformat()

    def display(self, f: Field, value: Any, view: View) -> str:
        """The day in the reader's locale (Japanese and English keep the ISO date)."""
        if view.lang in ("ja", "en") or not _iso_date(value):
            return str(value)
        return format_day(view.lang, date.fromisoformat(str(value)))

    def quick_replies(self, f: Field, turn: Turn) -> list[Button]:
        low, high = date_bounds(f, turn)
        return [Picker(turn.t("Pick a date"), "date", low.isoformat() if low else None,
                       high.isoformat() if high else None, example_date(f, turn).isoformat())]


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when shown."""
    return message


WEEKDAY_NAMES = {  # how a closed weekday is named in a refusal
    "mon": N_("Mondays"), "tue": N_("Tuesdays"), "wed": N_("Wednesdays"),
    "thu": N_("Thursdays"), "fri": N_("Fridays"), "sat": N_("Saturdays"), "sun": N_("Sundays"),
}


def closed_reason(f: Field, day: date) -> Invalid | None:
    """Return why the service is closed on a day the field would accept, or None if open."""
    key = weekday_key(day)
    if key in (f.settings.get("closed_weekdays") or ()):
        return Invalid("We are closed on %(weekday)s. Please choose another day.",
                       translated={"weekday": WEEKDAY_NAMES[key]})
    if day.isoformat() in (f.settings.get("closed_dates") or ()):
        return Invalid("We are closed on %(day)s. Please choose another day.",
                       day=day.isoformat())
    return None


def example_date(f: Field, turn: Turn) -> date:
    """Return a day the field accepts, for examples and the picker's first day.

    Today when it fits; otherwise the first open day from the earliest allowed.
    """
    low, high = date_bounds(f, turn)
    first = max(low or turn.today, turn.today)
    if high is not None and first > high:
        first = low or high  # a range wholly in the past (a birth date long ago)
    day = first
    while closed_reason(f, day) is not None and (high is None or day < high):
        day += timedelta(days=1)
    return day if closed_reason(f, day) is None else first


@field_type
class Time(FieldType):
    """A time of day from the picker or typed (9:30, 9時半)."""

    name = "time"
    keys = frozenset({"min", "max"})

    def read(self, reader: Reader, data: dict, where: str) -> dict[str, Any]:
        bounds = {}
        for key in ("min", "max"):
            value = data.get(key)
            if value is not None:
                try:
                    time.fromisoformat(str(value))
                except ValueError as exc:
                    raise reader.fail(where, f"{key} must be a time like 09:00") from exc
            bounds[f"{key}_time"] = _as_text(value)
        return bounds

    def parse(self, f: Field, inp: Input, turn: Turn) -> str:
        picked = inp.params.get("time") if inp.kind == "postback" else None
        value = read_time(picked or typed(inp))
        if value is None:
            raise Invalid("Please send a time like 09:30, or use the button.")
        low = time.fromisoformat(f.min_time) if f.min_time else None
        high = time.fromisoformat(f.max_time) if f.max_time else None
        if (low and value < low) or (high and value > high):
            raise Invalid("Please choose a time from %(min)s to %(max)s.",
                          min=(low or time(0)).strftime("%H:%M"),
                          max=(high or time(23, 59)).strftime("%H:%M"))
        return value.strftime("%H:%M")

    def quick_replies(self, f: Field, turn: Turn) -> list[Button]:
        low = f.min_time[:5] if f.min_time else None
        return [Picker(turn.t("Pick a time"), "time", low,
                       f.max_time[:5] if f.max_time else None, low)]


@field_type
class Choice(FieldType):
    """One option, tapped or typed (a label in any language, or the value)."""

    name = "choice"
    keys = frozenset({"options", "options_from", "min", "max"})

    def read(self, reader: Reader, data: dict, where: str) -> dict[str, Any]:
        from bot.flows.hooks import OPTION_SOURCES

        source = data.get("options_from")
        if source is not None:
            if source not in OPTION_SOURCES:
                raise reader.fail(where, f"unknown options_from {source!r}; known: "
                                         f"{', '.join(sorted(OPTION_SOURCES))}")
            return {"options_from": source}
        return {"options": reader.options(data.get("options"), where),
                "min": reader.number(data, "min", where), "max": reader.number(data, "max", where)}

    def parse(self, f: Field, inp: Input, turn: Turn) -> str:
        options = turn.options(f)
        if inp.kind == "postback" and inp.value is not None:
            found = next((o for o in options if o.value == inp.value), None)
        else:
            found = match_option(options, typed(inp))
        if found is None:
            raise Invalid("Please choose one of the options below.")
        return found.value

    def quick_replies(self, f: Field, turn: Turn) -> list[Button]:
        return [Tap(_button_label(turn, o), "answer", o.value) for o in turn.options(f)]

    def display(self, f: Field, value: Any, view: View) -> str:
        labels = {o.value: view.text(o.label) for o in view.options(f)}
        values = value if isinstance(value, list) else [value]
        return "、".join(labels.get(v, v) for v in values)


@field_type
class MultiChoice(Choice):
    """Several options: toggled with taps then "Done", or typed separated by commas."""

    name = "multichoice"
    toggles = True
    multiline = True  # one option per line is a natural way to type several

    def parse(self, f: Field, inp: Input, turn: Turn) -> list[str]:
        options = turn.options(f)
        parts = [p for p in re.split(r"[,、，/\n]+", typed(inp, self.multiline)) if p.strip()]
        chosen = [match_option(options, p) for p in parts]
        if not chosen or any(o is None for o in chosen):
            raise Invalid("Please choose from the options below; separate several with commas.")
        return check_selection(f, [o.value for o in options if o in chosen])

    def quick_replies(self, f: Field, turn: Turn) -> list[Button]:
        chosen = set(turn.conv.draft.get("selected", []))
        taps: list[Button] = [Tap(("✓ " if o.value in chosen else "") + _button_label(turn, o),
                                  "toggle", o.value) for o in turn.options(f)]
        if chosen:
            taps.insert(0, Tap(turn.t("Done"), "done"))
        return taps

    def hint(self, f: Field, turn: Turn) -> str | None:
        # "Done" is offered only once something is ticked, so the instruction follows suit.
        chosen = set(turn.conv.draft.get("selected", []))
        if not chosen:
            return turn.t("Tap each option that applies; a \"Done\" button appears "
                          "once you have chosen one.")
        labels = "、".join(_label(turn, o) for o in turn.options(f) if o.value in chosen)
        return turn.t("Chosen: %(chosen)s. Tap \"Done\" when finished (tap an "
                      "option again to remove it).", chosen=labels)


YES = {"yes", "y", "はい", "うん", "ok", "同意", "同意する", "同意します", "agree", "i agree"}
NO = {"no", "n", "いいえ", "いや", "しない", "同意しない", "disagree"}


@field_type
class YesNo(FieldType):
    """Yes or no; `must_be` refuses the other answer with the form's own reason."""

    name = "yesno"
    keys = frozenset({"must_be", "link"})

    def read(self, reader: Reader, data: dict, where: str) -> dict[str, Any]:
        must_be = data.get("must_be")
        if must_be is not None and not isinstance(must_be, bool):
            raise reader.fail(where, "must_be must be true or false")
        if must_be is not None and not data.get("error"):
            raise reader.fail(where, "must_be needs an error text saying why")
        return {"must_be": must_be, "link": data.get("link")}

    def parse(self, f: Field, inp: Input, turn: Turn) -> bool:
        word = normalize(typed(inp)).casefold()
        if word not in YES | NO:
            raise Invalid("Please answer yes or no.")
        value = word in YES
        if f.must_be is not None and value != f.must_be:
            raise _field_error(f, "Please answer yes or no.")
        return value

    def quick_replies(self, f: Field, turn: Turn) -> list[Button]:
        return [Tap(turn.t("Yes"), "answer", "yes"), Tap(turn.t("No"), "answer", "no")]

    def display(self, f: Field, value: Any, view: View) -> str:
        return view.t("Yes") if value else view.t("No")


@field_type
class Phone(FieldType):
    """A Japanese phone number, stored as digits."""

    name = "phone"

    def parse(self, f: Field, inp: Input, turn: Turn) -> str:
        digits = re.sub(r"[\s\-()ー−‐]", "", normalize(typed(inp)))
        if digits.startswith("+81"):
            digits = "0" + digits[3:]
        if not re.fullmatch(r"0\d{9,10}", digits):
            raise Invalid("Please send a phone number like 090-1234-5678.")
        return digits


@field_type
class Postal(FieldType):
    """A Japanese postal code, stored as 505-0041."""

    name = "postal"

    def parse(self, f: Field, inp: Input, turn: Turn) -> str:
        text = re.sub(r"[\s〒ー−‐]", "-", normalize(typed(inp))).strip("-")
        match = re.fullmatch(r"(\d{3})-?(\d{4})", text)
        if not match:
            raise Invalid("Please send a postal code like 505-0041.")
        return f"{match.group(1)}-{match.group(2)}"


@field_type
class Kana(FieldType):
    """A name in kana, stored in katakana."""

    name = "kana"
    keys = frozenset({"max_length"})

    def read(self, reader: Reader, data: dict, where: str) -> dict[str, Any]:
        return {"max_length": reader.number(data, "max_length", where) or 100}

    def parse(self, f: Field, inp: Input, turn: Turn) -> str:
        text = re.sub(r"\s+", " ", to_katakana(normalize(typed(inp))))
        if not text or not re.fullmatch(r"[ァ-ヺー・ ]+", text):
            raise Invalid("Please write it in kana, e.g. ヤマダ ハナコ.")
        if f.max_length and len(text) > f.max_length:
            raise Invalid("Please keep it to %(max)s characters or fewer.", max=int(f.max_length))
        return text


@field_type
class Email(FieldType):
    """An email address."""

    name = "email"

    def parse(self, f: Field, inp: Input, turn: Turn) -> str:
        text = normalize(typed(inp))
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", text):
            raise Invalid("Please send an email address like name@example.com.")
        return text


@field_type
class Location(FieldType):
    """A place sent with LINE's location picker."""

    name = "location"
    personal = True

    def parse(self, f: Field, inp: Input, turn: Turn) -> dict[str, Any]:
        if inp.kind != "location" or not inp.location:
            raise Invalid("Please send a location: use the button below.")
        loc = inp.location
        return {"latitude": loc.get("latitude"), "longitude": loc.get("longitude"),
                "address": strip_controls(loc.get("address")),
                "title": strip_controls(loc.get("title"))}

    def quick_replies(self, f: Field, turn: Turn) -> list[Button]:
        return [Device("location", turn.t("Send location"))]

    def display(self, f: Field, value: Any, view: View) -> str:
        return value.get("address") or f"{value.get('latitude')}, {value.get('longitude')}"

    def detail(self, f: Field, value: Any, view: View) -> str:
        return (f"{value.get('address') or ''} "
                f"({value.get('latitude')}, {value.get('longitude')})").strip()


@field_type
class Photo(FieldType):
    """A photo from the camera or the photo roll, kept in the uploads table."""

    name = "photo"
    personal = True

    def parse(self, f: Field, inp: Input, turn: Turn) -> dict[str, Any]:
        if inp.kind != "image" or not inp.message_id:
            raise Invalid("Please send a photo: use the buttons below.")
        return turn.store_image(inp.message_id)

    def quick_replies(self, f: Field, turn: Turn) -> list[Button]:
        return [Device("camera", turn.t("Camera")), Device("cameraRoll", turn.t("Photos"))]

    def display(self, f: Field, value: Any, view: View) -> str:
        return view.t("Photo received")

    def detail(self, f: Field, value: Any, view: View) -> str:
        return value.get("content_type", "")

    def upload_id(self, value: Any) -> int | None:
        return value.get("upload_id") if isinstance(value, dict) else None


@field_type
class ChildField(FieldType):
    """One of the household's registered children."""

    name = "child"
    personal = True

    def parse(self, f: Field, inp: Input, turn: Turn) -> dict[str, Any]:
        children = turn.children()
        if inp.kind == "postback" and inp.value is not None:
            found = next((c for c in children if str(c[0]) == inp.value), None)
        else:
            wanted = normalize(typed(inp)).replace(" ", "")
            found = next((c for c in children if normalize(c[1]).replace(" ", "") == wanted),
                         None)
        if found is None:
            raise Invalid("Please choose one of your registered children.")
        return {"id": found[0], "name": found[1]}

    def quick_replies(self, f: Field, turn: Turn) -> list[Button]:
        return [Tap(name, "answer", str(cid)) for cid, name in turn.children()]

    def display(self, f: Field, value: Any, view: View) -> str:
        return value.get("name", "")


@field_type
class Group(FieldType):
    """Sub-fields asked once per item (a child), min to max items; never nested."""

    name = "group"
    keys = frozenset({"fields", "fields_from", "min", "max", "more_prompt"})
    container = True

    def read(self, reader: Reader, data: dict, where: str) -> dict[str, Any]:
        source = data.get("fields_from")
        if source is not None:
            if source not in reader.known:
                raise reader.fail(where, f"fields_from {source!r} is not a known form")
            fields = reader.known[source].fields
        else:
            fields = reader.fields(data.get("fields"), f"{where}.fields")
        if any(kind_of(f).container for f in fields):
            raise reader.fail(where, "groups cannot be nested")
        low = int(reader.number(data, "min", where) or 1)
        high = int(reader.number(data, "max", where) or 10)
        return {"fields": fields, "min": low, "max": high,
                "more_prompt": reader.text(data.get("more_prompt"), f"{where}.more_prompt")}


def _iso_date(value: Any) -> bool:
    if isinstance(value, date):
        return True
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


# The engine asks "another one?" after a group item with the yes/no type's rules.
parse_yesno = FIELD_TYPES["yesno"].parse
