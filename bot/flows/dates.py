"""Read a day the way residents write it: 2026-12-10, 12月10日, 12/10, 令和8年12月10日, 明日, 来週月曜.

Everything relative is counted from `today`, the city's local date (City.today). A date written
without a year means the next such day from today, unless only an earlier one fits the field
(a birth date): then the latest one that fits. A weekday alone (月曜) is the next one after today;
来週月曜 is the Monday of next week (weeks start on Monday).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_KANJI = "月火水木金土日"
ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988}  # era year 1 = base + 1

RELATIVE_DAYS = {
    "今日": 0, "きょう": 0, "本日": 0, "today": 0,
    "明日": 1, "あした": 1, "あす": 1, "tomorrow": 1,
    "明後日": 2, "あさって": 2,
}
WEEKS = {"": None, "今週": 0, "来週": 1, "再来週": 2}

FULL = [re.compile(p) for p in (
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$", r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$",
    r"^(\d{4})(\d{2})(\d{2})$",
)]
ERA = re.compile(r"^(令和|平成|R|H)(\d{1,2}|元)[年./-](\d{1,2})[月./-](\d{1,2})日?$")
YEARLESS = [re.compile(p) for p in (r"^(\d{1,2})月(\d{1,2})日?$", r"^(\d{1,2})[/\-.](\d{1,2})$")]
DAY_ONLY = re.compile(r"^(\d{1,2})日$")
WEEKDAY = re.compile(r"^(今週|来週|再来週)?の?([月火水木金土日])(?:曜日?)$")
# "12月10日(木)": the weekday a resident adds in brackets is a courtesy, not part of the day.
TRAILING_WEEKDAY = re.compile(r"\([月火水木金土日](?:曜日?)?\)$")


def clean(text: str) -> str:
    """Fold full-width digits and brackets, drop spaces, and a trailing (weekday)."""
    text = unicodedata.normalize("NFKC", text).strip().casefold()
    text = re.sub(r"\s+", "", text)
    return TRAILING_WEEKDAY.sub("", text)


def read_date(text: str, today: date, low: date | None = None,
              high: date | None = None) -> date | None:
    """Return the day the text names, or None when it names none.

    `low` and `high` (the field's bounds) only choose between the years of a date written
    without one; they do not refuse anything.
    """
    text = clean(text)
    if text in RELATIVE_DAYS:
        return today + timedelta(days=RELATIVE_DAYS[text])
    for reader in (_full, _era, _yearless, _day_only, _weekday):
        found = reader(text, today, low, high)
        if found is not False:
            return found
    return None


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _full(text: str, today: date, low, high) -> date | None | bool:
    for pattern in FULL:
        match = pattern.match(text)
        if match:
            return _make(*(int(g) for g in match.groups()))
    return False


def _era(text: str, today: date, low, high) -> date | None | bool:
    match = ERA.match(text.replace("r", "R").replace("h", "H"))
    if not match:
        return False
    era, year, month, day = match.groups()
    number = 1 if year == "元" else int(year)
    return _make(ERAS[era] + number, int(month), int(day))


def _yearless(text: str, today: date, low, high) -> date | None | bool:
    for pattern in YEARLESS:
        match = pattern.match(text)
        if match:
            month, day = int(match.group(1)), int(match.group(2))
            return pick_year([_make(today.year + k, month, day) for k in (-1, 0, 1)],
                             today, low, high)
    return False


def _day_only(text: str, today: date, low, high) -> date | None | bool:
    match = DAY_ONLY.match(text)
    if not match:
        return False
    day = int(match.group(1))
    candidates = []
    for shift in range(-12, 13):
        year, month = divmod(today.month - 1 + shift, 12)
        candidates.append(_make(today.year + year, month + 1, day))
    return pick_year(candidates, today, low, high)


def pick_year(candidates: list[date | None], today: date, low: date | None,
              high: date | None) -> date | None:
    """Choose among the same day in several years (or months), as the module says."""
    days = sorted(d for d in candidates if d is not None)
    if not days:
        return None

    def fits(day: date) -> bool:
        return (low is None or day >= low) and (high is None or day <= high)

    upcoming = [d for d in days if d >= today]
    return (next((d for d in upcoming if fits(d)), None)
            or next((d for d in reversed(days) if fits(d)), None)
            or (upcoming[0] if upcoming else days[-1]))


def _weekday(text: str, today: date, low, high) -> date | None | bool:
    match = WEEKDAY.match(text)
    if not match:
        return False
    week, kanji = match.groups()
    index = WEEKDAY_KANJI.index(kanji)
    if week is None:
        return today + timedelta(days=(index - today.weekday() - 1) % 7 + 1)
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(days=7 * WEEKS[week] + index)


def weekday_key(day: date) -> str:
    """Return the key ("mon" ... "sun") of a day's weekday, as centers' hours use them."""
    return WEEKDAY_KEYS[day.weekday()]
