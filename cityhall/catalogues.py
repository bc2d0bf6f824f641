"""What residents read in each package's catalogue, and how complete each language is.

A package's resident-read messages are those extracted from its sources except the staff
web's: templates, `staff_*.py`, `cli.py` and `charts.py` (dashboard charts, which only staff
see); staff-only messages may stay in English and Japanese. The core catalogue (`cityhall/`)
also holds the bot's messages (`bot/`).
Used by the completeness test (tests/test_catalogues.py) and `cityhall languages status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
# The keywords the Makefile's `make i18n` extracts with.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "t": None,
            "translate": (2,), "Invalid": None, "N_": None, "lazy_gettext": None}
METHODS = [("**/templates/**.html", "ignore"), ("**.py", "python")]


def sources(package: str) -> list[Path]:
    """The folders a package's catalogue is extracted from."""
    return [ROOT / "cityhall", ROOT / "bot"] if package == "cityhall" else [ROOT / package]


def staff_only(filename: str) -> bool:
    """Tell whether a source file is read by staff only."""
    name = Path(filename).name
    return ("templates" in Path(filename).parts or name.startswith("staff_")
            or name in ("cli.py", "charts.py"))


@cache
def resident_messages(package: str) -> frozenset[str]:
    """The msgids of a package that residents may read."""
    found: set[str] = set()
    for folder in sources(package):
        for filename, _line, message, _comments, _context in extract_from_dir(
                str(folder), method_map=METHODS, keywords=KEYWORDS):
            if not staff_only(filename):
                found.add(message if isinstance(message, str) else message[0])
    return frozenset(found)


def catalogue_path(package: str, catalogue: str) -> Path:
    return ROOT / package / "translations" / catalogue / "LC_MESSAGES" / "messages.po"


def read(package: str, catalogue: str) -> Catalog | None:
    """A package's .po for one language, or None when it has none."""
    path = catalogue_path(package, catalogue)
    if not path.is_file():
        return None
    with path.open("rb") as f:
        return read_po(f)


@dataclass(frozen=True)
class Completeness:
    translated: int
    total: int
    missing: tuple[str, ...]
    fuzzy: tuple[str, ...]

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.translated * 100 // self.total


def completeness(package: str, catalogue: str) -> Completeness:
    """How many of a package's resident-read messages a language's catalogue translates."""
    wanted = resident_messages(package)
    cat = read(package, catalogue)
    entries = {m.id if isinstance(m.id, str) else m.id[0]: m for m in cat if m.id} if cat else {}
    missing = tuple(sorted(i for i in wanted if i not in entries or not entries[i].string))
    fuzzy = tuple(sorted(i for i in wanted if i in entries and entries[i].fuzzy))
    translated = len(wanted) - len(missing) - len([f for f in fuzzy if f not in missing])
    return Completeness(translated, len(wanted), missing, fuzzy)


def status(packages: list[str], codes: list[str]) -> list[tuple[str, str, dict[str, int]]]:
    """(code, own name, package -> percent of its resident messages translated) per language.

    English is the msgid itself (always complete); a package without resident messages is
    left out.
    """
    from cityhall.languages import KNOWN

    rows = []
    for code in codes:
        lang = KNOWN[code]
        rows.append((code, lang.name, {
            pkg: 100 if code == "en" else completeness(pkg, lang.catalogue).percent
            for pkg in packages if resident_messages(pkg)}))
    return rows
