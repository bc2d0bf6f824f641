"""Which characters typed text may not hold: one rule for the chat and the staff web.

NUL, C0/C1 controls (terminal escapes start with ESC or CSI), DEL, lone surrogates and bidi
overrides, embeddings and isolates are refused: they hide or reorder what staff read, break
terminals and CSV files, and PostgreSQL cannot store a NUL at all. A line end passes only
where the field takes several lines. Each caller words the refusal for its own reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

BIDI_CONTROLS = frozenset([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


class Refusal(Enum):
    """Why a character is refused."""

    LINE_END = "line end"  # a newline in a one-line field
    BIDI = "bidi"  # reorders the text around it
    CONTROL = "control"  # invisible: C0/C1, DEL, a lone surrogate


@dataclass(frozen=True)
class Forbidden:
    """The first refused character of a text: why, which, and where (counting from 1)."""

    reason: Refusal
    char: str
    position: int

    @property
    def code(self) -> str:
        """Name the character the way the messages show it, e.g. U+202E."""
        return f"U+{ord(self.char):04X}"


def refusal_of(char: str, multiline: bool = False) -> Refusal | None:
    """Return why one character is refused, or None when it may be stored."""
    point = ord(char)
    if char == "\n":
        return None if multiline else Refusal.LINE_END
    if point in BIDI_CONTROLS:
        return Refusal.BIDI
    if point < 0x20 or 0x7F <= point <= 0x9F or 0xD800 <= point <= 0xDFFF:
        return Refusal.CONTROL
    return None


def find_forbidden(text: str, multiline: bool = False) -> Forbidden | None:
    """Return the first character text may not hold, or None when it is clean."""
    for position, char in enumerate(text, start=1):
        reason = refusal_of(char, multiline)
        if reason is not None:
            return Forbidden(reason, char, position)
    return None


def unify_line_ends(text: str) -> str:
    """Make every line end "\\n" (browsers send CR LF from a textarea)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
