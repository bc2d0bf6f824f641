"""URL converters bounded to what the database can hold, so a wild URL is a 404, never a 500.

`<int:id>` matches only ids that fit a PostgreSQL INTEGER column (every primary key here):
an id above 2^31 - 1 reached the database and failed there with an overflow (SQLite) or
"out of range" (PostgreSQL). The default string converter refuses control characters (a NUL
cannot be sent to PostgreSQL at all) and keeps a segment to a sane length.
"""

from __future__ import annotations

import builtins

from werkzeug.routing import BaseConverter, IntegerConverter, Map, UnicodeConverter

MAX_ID = 2**31 - 1
MAX_SEGMENT = 200


class BoundedIntConverter(IntegerConverter):
    """`int`, limited to 0..2^31-1 unless the rule gives narrower bounds."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        low = -MAX_ID - 1 if signed else 0
        super().__init__(map, fixed_digits=fixed_digits,
                         min=low if min is None else builtins.max(min, low),
                         max=MAX_ID if max is None else builtins.min(max, MAX_ID), signed=signed)


class PlainSegmentConverter(UnicodeConverter):
    """The default converter: one path segment without control characters, 200 at most."""

    def __init__(self, map: Map, minlength: int = 1, maxlength: int | None = None,
                 length: int | None = None) -> None:
        super().__init__(map, minlength, maxlength or MAX_SEGMENT, length)
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f]", 1)


CONVERTERS: dict[str, type[BaseConverter]] = {
    "int": BoundedIntConverter,
    "default": PlainSegmentConverter,
    "string": PlainSegmentConverter,
}
