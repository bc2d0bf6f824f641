"""Typed postback data: one codec for every button the bot sends.

A button's data is a small dataclass with a namespaced prefix (``ck.in``, ``rs.edit``); its
fields are typed (str, int, bool, optionally ``| None``). ``pack`` turns an instance into the
string LINE carries back, checking LINE's 300-character limit; ``unpack`` turns a string back
into an instance and raises only ``InvalidPostback``, which the dispatcher answers with "that
button is no longer valid" (forged, stale, truncated or unknown data never reaches a handler).

    @dataclass(frozen=True)
    class ChooseChildren(PostbackData, prefix="ck.in"):
        nonce: str
        child: int | None = None

    data = ChooseChildren("n1", 3).pack()      # "ck.in:n1:3"
    ChooseChildren.unpack(data)                # ChooseChildren(nonce="n1", child=3)
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from typing import Any, ClassVar, Self
from urllib.parse import quote, unquote

# LINE refuses a postback action whose data is longer than this.
DATA_LIMIT = 300
SEPARATOR = ":"
PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9]*\.[a-z][a-z0-9_]*$")
NONE = "~"  # an empty optional field; "~" is never produced by percent-encoding a value
# Whole numbers are ids: 32-bit, like the primary keys, so a forged one never overflows a query.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


class InvalidPostback(ValueError):
    """Postback data that no handler may see: forged, stale, truncated or unknown."""


class PostbackTooLong(ValueError):
    """Packed data longer than LINE accepts: a programming error, raised when building."""


def _field_type(hint: Any) -> tuple[type, bool]:
    """Return (base type, optional) for a field annotation like ``int | None``."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"unsupported postback field type {hint!r}")
        return rest[0], True
    return hint, False


SUPPORTED = (str, int, bool)


class PostbackData:
    """Base of every button's data; subclass as a (frozen) dataclass with a prefix."""

    prefix: ClassVar[str]
    _fields: ClassVar[tuple[tuple[str, type, bool], ...]] = ()

    def __init_subclass__(cls, prefix: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not PREFIX_PATTERN.match(prefix):
            raise TypeError(f"{cls.__qualname__}: prefix {prefix!r} must look like 'ck.in' "
                            "(feature namespace, dot, action)")
        cls.prefix = prefix

    @classmethod
    def _spec(cls) -> tuple[tuple[str, type, bool], ...]:
        """Read the field names and types once (the dataclass is complete by then)."""
        if "_fields" not in cls.__dict__:
            hints = typing.get_type_hints(cls)
            spec = []
            for f in dataclasses.fields(cls):  # type: ignore[arg-type]
                base, optional = _field_type(hints[f.name])
                if base not in SUPPORTED:
                    raise TypeError(f"{cls.__qualname__}.{f.name}: {base!r} is not one of "
                                    "str, int, bool")
                spec.append((f.name, base, optional))
            cls._fields = tuple(spec)
        return cls._fields

    def pack(self) -> str:
        """Return the data string for a button; raise PostbackTooLong past LINE's limit."""
        parts = [self.prefix]
        for name, base, _optional in self._spec():
            parts.append(_encode(getattr(self, name), base))
        data = SEPARATOR.join(parts)
        if len(data) > DATA_LIMIT:
            raise PostbackTooLong(f"{self.prefix}: {len(data)} characters of postback data; "
                                  f"LINE accepts {DATA_LIMIT}")
        return data

    @classmethod
    def unpack(cls, data: str) -> Self:
        """Read data packed by this class; raise InvalidPostback for anything else."""
        prefix, _, rest = data.partition(SEPARATOR)
        if prefix != cls.prefix:
            raise InvalidPostback(f"not {cls.prefix} data")
        spec = cls._spec()
        values = rest.split(SEPARATOR) if spec else ([] if not rest else [rest])
        if len(values) != len(spec):
            raise InvalidPostback(f"{cls.prefix}: {len(values)} values for {len(spec)} fields")
        kwargs = {name: _decode(text, base, optional, f"{cls.prefix}.{name}")
                  for text, (name, base, optional) in zip(values, spec, strict=True)}
        return cls(**kwargs)


def _encode(value: Any, base: type) -> str:
    if value is None:
        return NONE
    if base is bool:
        return "1" if value else "0"
    if base is int:
        if not INT_MIN <= int(value) <= INT_MAX:
            raise ValueError(f"{value} does not fit a 32-bit postback field")
        return str(int(value))
    return quote(str(value), safe="")


def _decode(text: str, base: type, optional: bool, where: str) -> Any:
    if text == NONE:
        if optional:
            return None
        raise InvalidPostback(f"{where}: missing")
    if base is bool:
        if text not in ("0", "1"):
            raise InvalidPostback(f"{where}: not a flag")
        return text == "1"
    if base is int:
        if not re.fullmatch(r"-?[0-9]{1,10}", text) or not INT_MIN <= int(text) <= INT_MAX:
            raise InvalidPostback(f"{where}: not a 32-bit number")
        return int(text)
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError as err:
        raise InvalidPostback(f"{where}: bad encoding") from err


def prefix_of(data: str) -> str:
    """Return the prefix a data string claims (its text before the first separator)."""
    return data.partition(SEPARATOR)[0]
