"""The one place staff views read page numbers, dates and ids from the query string.

A value that is malformed or out of range answers 400 with the staff error page (JSON under
/staff/api) before it reaches a query: `?page=10**30` overflowed the SQL OFFSET, and dates
like 0001-01-01 or 9999-12-31 overflowed date arithmetic, both as 500s.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Flask, request
from flask_babel import gettext
from wtforms import Field, Form, ValidationError

from cityhall.urls import MAX_ID
from staff.errors import N_, BadArgument

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)
MAX_PAGE = 1_000_000
DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: "²".isdigit() is True, int("²") fails
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
DATE_RANGE_MESSAGE = N_("Give a date between %(first)s and %(last)s.")


def init_app(app: Flask) -> None:
    """Refuse control characters in staff query strings before any view runs."""
    app.before_request(refuse_control_characters)


def refuse_control_characters() -> None:
    """Answer 400 to control characters in a staff URL, and to a NUL in a staff form.

    PostgreSQL cannot store a NUL at all (the query fails); a browser never sends one, so a
    form holding one was crafted. Other control characters in a form reach the view, where
    StaffForm refuses them at the field, naming the character and keeping the input.
    """
    path = request.path
    if not (path == "/staff" or path.startswith("/staff/")):
        return
    for name, value in request.args.items(multi=True):
        if CONTROL.search(name) or CONTROL.search(value):
            raise BadArgument(CONTROL.sub("", name)[:40])
    if CONTROL.search(path):
        raise BadArgument("path")
    if request.method == "POST" and request.mimetype in FORM_TYPES:
        for name, value in request.form.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise BadArgument(CONTROL.sub("", name)[:40])


def whole_number(text: str | None, maximum: int = MAX_ID) -> int | None:
    """Return a whole number from 0 to `maximum` written in ASCII digits, or None."""
    if text is None or not DIGITS.fullmatch(text.strip()):
        return None
    number = int(text.strip())
    return number if number <= maximum else None


def page_arg(name: str = "page") -> int:
    """Return the page asked for (1 when absent); 400 when it is not 1..MAX_PAGE."""
    text = request.args.get(name, "")
    if not text.strip():
        return 1
    page = whole_number(text, MAX_PAGE)
    if not page:
        raise BadArgument(name)
    return page


def parse_date(text: str) -> date | None:
    """Read YYYY-MM-DD within MIN_DATE..MAX_DATE; None when it is anything else."""
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if MIN_DATE <= value <= MAX_DATE else None


def date_arg(name: str) -> date | None:
    """Return the date in the query argument `name`, None when absent; 400 when unusable."""
    text = request.args.get(name, "")
    if not text.strip():
        return None
    value = parse_date(text)
    if value is None:
        raise BadArgument(name)
    return value


def date_in_range(_form: Form, field: Field) -> None:
    """Validate a WTForms date field against the same range as date_arg."""
    if field.data is not None and not MIN_DATE <= field.data <= MAX_DATE:
        raise ValidationError(gettext(DATE_RANGE_MESSAGE, first=MIN_DATE.isoformat(),
                                      last=MAX_DATE.isoformat()))
