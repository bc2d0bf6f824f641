"""Field types: turn what the resident sent into a value, or say what was wrong.

Each parser takes (field, input, turn) and returns the value to store (JSON), or raises
Invalid with the message the resident gets. Stored values are plain: ISO dates, "HH:MM",
option values, digits.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, Any

from bot.flows.schema import Field, Option

if TYPE_CHECKING:
    from bot.flows.engine import Turn


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
                 **variables: Any) -> None:
        super().__init__(message)
        self.message = message
        self.custom = custom  # the form's own error text, per language
        self.variables = variables


def normalize(text: str) -> str:
    """Fold full-width digits and letters, half-width kana, and surrounding space."""
    return unicodedata.normalize("NFKC", text).strip()


def _typed(inp: Input) -> str:
    if inp.kind == "postback" and inp.value is not None:
        return inp.value
    if inp.kind != "text":
        raise Invalid("Please answer with a text message.")
    return inp.text


def parse_text(f: Field, inp: Input, turn: Turn) -> str:
    value = _typed(inp).strip()
    if not value:
        raise Invalid("Please send some text.")
    if f.max_length and len(value) > f.max_length:
        raise Invalid("Please keep it to %(max)s characters or fewer.", max=int(f.max_length))
    if f.min_length and len(value) < f.min_length:
        raise Invalid("Please write at least %(min)s characters.", min=int(f.min_length))
    if f.pattern and not re.fullmatch(f.pattern, normalize(value)):
        raise _field_error(f, "That does not look right. Please try again.")
    return value


def _field_error(f: Field, fallback: str) -> Invalid:
    return Invalid(fallback, custom=f.error)


NUMBER = re.compile(r"^(-?\d+(?:\.\d+)?)\s*\D{0,6}$")


def parse_number(f: Field, inp: Input, turn: Turn) -> int | float:
    match = NUMBER.match(normalize(_typed(inp)).replace(",", ""))
    if not match:
        raise Invalid("Please send a number, e.g. 3.")
    number = float(match.group(1))
    if f.integer and not number.is_integer():
        raise Invalid("Please send a whole number.")
    value: int | float = int(number) if f.integer else number
    if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
        raise _range_error(f.min, f.max)
    return value


def _range_error(low: Any, high: Any) -> Invalid:
    if low is not None and high is not None:
        return Invalid("Please send a number from %(min)s to %(max)s.", min=_n(low), max=_n(high))
    if low is not None:
        return Invalid("Please send a number of at least %(min)s.", min=_n(low))
    return Invalid("Please send a number of at most %(max)s.", max=_n(high))


def _n(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


DATE_FORMATS = [re.compile(p) for p in (
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$", r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$",
    r"^(\d{4})(\d{2})(\d{2})$",
)]


def read_date(text: str) -> date | None:
    """Read 2026-04-01, 2026/4/1, 2026年4月1日 or 20260401."""
    text = normalize(text).replace(" ", "")
    for pattern in DATE_FORMATS:
        match = pattern.match(text)
        if match:
            try:
                return date(*(int(g) for g in match.groups()))
            except ValueError:
                return None
    return None


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


def parse_date(f: Field, inp: Input, turn: Turn) -> str:
    picked = inp.params.get("date") if inp.kind == "postback" else None
    value = read_date(picked or _typed(inp))
    if value is None:
        raise Invalid("Please send a date like %(example)s, or use the button.",
                      example=turn.today.isoformat())
    low, high = date_bounds(f, turn)
    if (low and value < low) or (high and value > high):
        raise _date_range_error(low, high)
    return value.isoformat()


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


def parse_time(f: Field, inp: Input, turn: Turn) -> str:
    picked = inp.params.get("time") if inp.kind == "postback" else None
    value = read_time(picked or _typed(inp))
    if value is None:
        raise Invalid("Please send a time like 09:30, or use the button.")
    low = time.fromisoformat(f.min_time) if f.min_time else None
    high = time.fromisoformat(f.max_time) if f.max_time else None
    if (low and value < low) or (high and value > high):
        raise Invalid("Please choose a time from %(min)s to %(max)s.",
                      min=(low or time(0)).strftime("%H:%M"), max=(high or time(23, 59)).strftime("%H:%M"))
    return value.strftime("%H:%M")


def match_option(options: list[Option], text: str) -> Option | None:
    """Find the option whose value or label (in any language) the resident typed."""
    wanted = normalize(text).casefold().replace(" ", "")
    for option in options:
        names = [option.value, *option.label.values()]
        if any(normalize(n).casefold().replace(" ", "") == wanted for n in names):
            return option
    return None


def parse_choice(f: Field, inp: Input, turn: Turn) -> str:
    options = turn.options(f)
    if inp.kind == "postback" and inp.value is not None:
        found = next((o for o in options if o.value == inp.value), None)
    else:
        found = match_option(options, _typed(inp))
    if found is None:
        raise Invalid("Please choose one of the options below.")
    return found.value


def parse_multichoice(f: Field, inp: Input, turn: Turn) -> list[str]:
    options = turn.options(f)
    parts = [p for p in re.split(r"[,、，/\n]+", _typed(inp)) if p.strip()]
    chosen = [match_option(options, p) for p in parts]
    if not chosen or any(o is None for o in chosen):
        raise Invalid("Please choose from the options below; separate several with commas.")
    return check_selection(f, [o.value for o in options if o in chosen])


def check_selection(f: Field, values: list[str]) -> list[str]:
    """Check how many options were chosen."""
    low = int(f.min or 1)
    if len(values) < low:
        raise Invalid("Please choose at least %(min)s.", min=low)
    if f.max is not None and len(values) > f.max:
        raise Invalid("Please choose at most %(max)s.", max=int(f.max))
    return values


YES = {"yes", "y", "はい", "うん", "ok", "同意", "同意する", "同意します", "agree", "i agree"}
NO = {"no", "n", "いいえ", "いや", "しない", "同意しない", "disagree"}


def parse_yesno(f: Field, inp: Input, turn: Turn) -> bool:
    word = normalize(_typed(inp)).casefold()
    if word not in YES | NO:
        raise Invalid("Please answer yes or no.")
    value = word in YES
    if f.must_be is not None and value != f.must_be:
        raise _field_error(f, "Please answer yes or no.")
    return value


def parse_phone(f: Field, inp: Input, turn: Turn) -> str:
    digits = re.sub(r"[\s\-()ー−‐]", "", normalize(_typed(inp)))
    if digits.startswith("+81"):
        digits = "0" + digits[3:]
    if not re.fullmatch(r"0\d{9,10}", digits):
        raise Invalid("Please send a phone number like 090-1234-5678.")
    return digits


def parse_postal(f: Field, inp: Input, turn: Turn) -> str:
    text = re.sub(r"[\s〒ー−‐]", "-", normalize(_typed(inp))).strip("-")
    match = re.fullmatch(r"(\d{3})-?(\d{4})", text)
    if not match:
        raise Invalid("Please send a postal code like 505-0041.")
    return f"{match.group(1)}-{match.group(2)}"


def to_katakana(text: str) -> str:
    """Turn hiragana into katakana, leaving everything else."""
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def parse_kana(f: Field, inp: Input, turn: Turn) -> str:
    text = re.sub(r"\s+", " ", to_katakana(normalize(_typed(inp))))
    if not text or not re.fullmatch(r"[ァ-ヺー・ ]+", text):
        raise Invalid("Please write it in kana, e.g. ヤマダ ハナコ.")
    if f.max_length and len(text) > f.max_length:
        raise Invalid("Please keep it to %(max)s characters or fewer.", max=int(f.max_length))
    return text


def parse_email(f: Field, inp: Input, turn: Turn) -> str:
    text = normalize(_typed(inp))
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", text):
        raise Invalid("Please send an email address like name@example.com.")
    return text


def parse_location(f: Field, inp: Input, turn: Turn) -> dict[str, Any]:
    if inp.kind != "location" or not inp.location:
        raise Invalid("Please send a location: use the button below.")
    loc = inp.location
    return {"latitude": loc.get("latitude"), "longitude": loc.get("longitude"),
            "address": loc.get("address"), "title": loc.get("title")}


def parse_photo(f: Field, inp: Input, turn: Turn) -> dict[str, Any]:
    if inp.kind != "image" or not inp.message_id:
        raise Invalid("Please send a photo: use the buttons below.")
    return turn.store_image(inp.message_id)


def parse_child(f: Field, inp: Input, turn: Turn) -> dict[str, Any]:
    children = turn.children()
    if inp.kind == "postback" and inp.value is not None:
        found = next((c for c in children if str(c[0]) == inp.value), None)
    else:
        wanted = normalize(_typed(inp)).replace(" ", "")
        found = next((c for c in children if normalize(c[1]).replace(" ", "") == wanted), None)
    if found is None:
        raise Invalid("Please choose one of your registered children.")
    return {"id": found[0], "name": found[1]}


Parser = Callable[[Field, Input, "Turn"], Any]
PARSERS: dict[str, Parser] = {
    "text": parse_text, "longtext": parse_text, "number": parse_number, "date": parse_date,
    "time": parse_time, "choice": parse_choice, "multichoice": parse_multichoice,
    "yesno": parse_yesno, "phone": parse_phone, "postal": parse_postal, "kana": parse_kana,
    "email": parse_email, "location": parse_location, "photo": parse_photo,
    "child": parse_child,
}


def parse(f: Field, inp: Input, turn: Turn) -> Any:
    """Read the resident's answer to a field, or raise Invalid."""
    return PARSERS[f.type](f, inp, turn)
