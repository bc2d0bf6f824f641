"""Form definitions: read a YAML file into Form and Field objects, or say exactly what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

import yaml

from bot.flows.fields import FIELD_TYPES, kind_of
from cityhall.languages import KNOWN

# Every text needs Japanese and English; any other resident language may be given beside
# them, and a language a text lacks is shown in Japanese (`cityhall forms check` warns).
LANGUAGES = ("ja", "en")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CONDITION_KEYS = {"field", "equals", "not_equals", "in", "is_set"}
# Keys every field may have; each field type adds its own (FieldType.keys).
COMMON_KEYS = {"id", "type", "label", "prompt", "required", "prefill", "when", "error",
               "differs_from"}
FORM_KEYS = {"id", "title", "description", "department", "receipt_prefix", "anonymous",
             "requires_registration", "on_submit", "confirm", "fields", "menu", "done", "period",
             "route_to_center"}
# How often a resident may answer an anonymous form: once per calendar week, month, ...
PERIODS = ("week", "month", "quarter", "year")


class FormError(ValueError):
    """A form definition that cannot be used; the message names the file and the field."""


Text = dict[str, str]


@dataclass(frozen=True)
class Option:
    value: str
    label: Text
    # A shorter label for LINE's buttons (20 characters, 18 before a toggle's "✓ "), used when
    # given for the resident's language; the label is still what summaries and answers show.
    short: Text | None = None


@dataclass(frozen=True)
class Condition:
    field: str
    equals: Any = None
    not_equals: Any = None
    any_of: tuple[Any, ...] | None = None
    is_set: bool | None = None

    def holds(self, value: Any) -> bool:
        """Tell whether an earlier answer satisfies this condition."""
        if self.is_set is not None:
            return (value is not None) == self.is_set
        if self.any_of is not None:
            return value in self.any_of or (isinstance(value, list)
                                            and any(v in self.any_of for v in value))
        if self.not_equals is not None:
            return value != self.not_equals
        return value == self.equals


@dataclass(frozen=True)
class Field:
    id: str
    type: str
    label: Text
    prompt: Text
    required: bool = True
    prefill: str | None = None
    when: Condition | None = None
    error: Text | None = None
    differs_from: str | None = None  # an earlier field whose answer this one must not repeat
    min: float | None = None
    max: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    integer: bool = True
    options: tuple[Option, ...] = ()
    options_from: str | None = None
    min_date: str | None = None
    max_date: str | None = None
    min_time: str | None = None
    max_time: str | None = None
    must_be: bool | None = None
    link: str | None = None
    fields: tuple[Field, ...] = ()
    more_prompt: Text | None = None
    # A type's own settings that no attribute above holds (a type added by a feature).
    settings: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def sub(self, field_id: str) -> Field | None:
        """Return a field of this group by id."""
        return next((f for f in self.fields if f.id == field_id), None)


FIELD_ATTRIBUTES = {f.name for f in dataclass_fields(Field)} - {"settings"}


@dataclass(frozen=True)
class Form:
    id: str
    title: Text
    fields: tuple[Field, ...]
    description: Text | None = None
    department: str | None = None
    receipt_prefix: str | None = None
    anonymous: bool = False
    period: str = "month"
    requires_registration: bool = False
    on_submit: str = "application"
    confirm: bool = True
    menu: bool = False
    done: Text | None = None
    # The id of a choice field whose answer is a center code: the submission goes to that
    # center's staff too (its department still sees it).
    route_to_center: str | None = None
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def field(self, field_id: str) -> Field | None:
        """Return a top-level field by id."""
        return next((f for f in self.fields if f.id == field_id), None)


class Reader:
    """Check one form's YAML; every error names the file and the field."""

    def __init__(self, source: str, known: dict[str, Form]) -> None:
        self.source = source
        self.known = known
        # The fields already read in the list being read: rules may only look backwards.
        self.earlier: dict[str, Field] = {}

    def fail(self, where: str, message: str) -> FormError:
        return FormError(f"{self.source}: {where}: {message}")

    def text(self, value: Any, where: str, required: bool = True) -> Text | None:
        """Read a per-language text: a mapping with Japanese and English."""
        if value is None and not required:
            return None
        if isinstance(value, str):
            raise self.fail(where, "give the text per language, e.g. {ja: ..., en: ...}")
        if not isinstance(value, dict) or not all(isinstance(value.get(k), str) and value[k]
                                                  for k in LANGUAGES):
            raise self.fail(where, "needs a non-empty text for each of: " + ", ".join(LANGUAGES))
        unknown = sorted(str(k) for k in value if k not in KNOWN)
        if unknown:
            raise self.fail(where, f"unknown language(s) {unknown}; known: {', '.join(KNOWN)}")
        empty = sorted(str(k) for k, v in value.items() if not isinstance(v, str) or not v.strip())
        if empty:
            raise self.fail(where, f"empty text for {', '.join(empty)}")
        return {str(k): str(v) for k, v in value.items()}

    def form(self, data: Any) -> Form:
        """Read and check a whole form."""
        if not isinstance(data, dict):
            raise self.fail("form", "the file must hold one mapping (id, title, fields)")
        unknown = set(data) - FORM_KEYS
        if unknown:
            raise self.fail("form", f"unknown keys {sorted(unknown)}")
        form_id = data.get("id")
        if not isinstance(form_id, str) or not ID_PATTERN.match(form_id):
            raise self.fail("id", "must be lower-case letters, digits and _ (max 40)")
        fields = self.fields(data.get("fields"), "fields")
        form = Form(
            id=form_id, title=self.text(data.get("title"), "title"), fields=fields,
            description=self.text(data.get("description"), "description", required=False),
            department=data.get("department"), receipt_prefix=data.get("receipt_prefix"),
            anonymous=bool(data.get("anonymous", False)), period=data.get("period", "month"),
            requires_registration=bool(data.get("requires_registration", False)),
            on_submit=str(data.get("on_submit", "application")),
            confirm=bool(data.get("confirm", True)), menu=bool(data.get("menu", False)),
            done=self.text(data.get("done"), "done", required=False),
            route_to_center=data.get("route_to_center"), source=self.source, raw=data)
        self.check_form(form)
        return form

    def check_form(self, form: Form) -> None:
        if form.on_submit == "application":
            if not form.department:
                raise self.fail("department", "an application form needs its department code")
            if not form.anonymous and not (isinstance(form.receipt_prefix, str)
                    and re.fullmatch(r"[A-Z]{1,3}", form.receipt_prefix)):
                raise self.fail("receipt_prefix", "needs 1 to 3 capital letters, e.g. A "
                                                  "(an anonymous form gives no receipt number)")
        if form.period not in PERIODS:
            raise self.fail("period", "must be one of: " + ", ".join(PERIODS))
        if "period" in form.raw and not form.anonymous:
            raise self.fail("period", "only an anonymous form has answer periods")
        if form.anonymous and any(f.prefill or kind_of(f).personal for f in form.fields):
            raise self.fail("anonymous", "an anonymous form cannot prefill, ask for a child, "
                                         "a photo or a location")
        if form.route_to_center is not None:
            self.check_route(form)

    def check_route(self, form: Form) -> None:
        """Check `route_to_center` names a top-level single choice of an application form."""
        target = form.field(form.route_to_center) if isinstance(form.route_to_center, str) else None
        if form.on_submit != "application":
            raise self.fail("route_to_center", "only an application form can be routed")
        if target is None or target.type != "choice":
            raise self.fail("route_to_center", "must name a top-level field of type choice "
                                               "whose answer is a center code")

    def fields(self, items: Any, where: str) -> tuple[Field, ...]:
        """Read a list of fields, checking ids are unique and conditions look backwards."""
        if not isinstance(items, list) or not items:
            raise self.fail(where, "needs a non-empty list of fields")
        seen: list[str] = []
        result = []
        outer, self.earlier = self.earlier, {}
        try:
            for index, item in enumerate(items):
                label = item.get("id", index) if isinstance(item, dict) else index
                read = self.field(item, f"{where}[{label}]", seen)
                seen.append(read.id)
                self.earlier[read.id] = read
                result.append(read)
        finally:
            self.earlier = outer
        return tuple(result)

    def field(self, data: Any, where: str, earlier: list[str]) -> Field:
        """Read one field and check the options its type needs."""
        if not isinstance(data, dict):
            raise self.fail(where, "a field must be a mapping")
        field_id = data.get("id")
        if not isinstance(field_id, str) or not ID_PATTERN.match(field_id):
            raise self.fail(where, "id must be lower-case letters, digits and _")
        if field_id in earlier:
            raise self.fail(where, f"id {field_id!r} is used twice")
        kind = data.get("type")
        if kind not in FIELD_TYPES:
            raise self.fail(where, f"unknown type {kind!r}; known: "
                                   f"{', '.join(FIELD_TYPES.names())}")
        field_type = FIELD_TYPES[kind]
        unknown = set(data) - COMMON_KEYS - field_type.keys
        if unknown:
            raise self.fail(where, f"unknown keys {sorted(unknown)} for type {kind!r}")
        values = self.common(data, where, earlier)
        settings = field_type.read(self, data, where)
        values.update({k: v for k, v in settings.items() if k in FIELD_ATTRIBUTES})
        extra = {k: v for k, v in settings.items() if k not in FIELD_ATTRIBUTES}
        return Field(id=field_id, type=kind, settings=extra, **values)

    def common(self, data: dict, where: str, earlier: list[str]) -> dict[str, Any]:
        from bot.flows.hooks import PREFILL_KEYS

        prefill = data.get("prefill")
        if prefill is not None and prefill not in PREFILL_KEYS:
            raise self.fail(where, f"unknown prefill {prefill!r}; known: "
                                   f"{', '.join(sorted(PREFILL_KEYS))}")
        required = data.get("required", True)
        if not isinstance(required, bool):
            raise self.fail(where, "required must be true or false")
        return {"label": self.text(data.get("label"), f"{where}.label"),
                "prompt": self.text(data.get("prompt"), f"{where}.prompt"),
                "required": required, "prefill": prefill,
                "when": self.condition(data.get("when"), where, earlier),
                "error": self.text(data.get("error"), f"{where}.error", required=False),
                "differs_from": self.differs_from(data, where)}

    def differs_from(self, data: dict, where: str) -> str | None:
        """Read `differs_from`: an earlier field of the same type."""
        other = data.get("differs_from")
        if other is None:
            return None
        peer = self.earlier.get(other)
        if peer is None or peer.type != data.get("type"):
            raise self.fail(where, f"differs_from {other!r} is not an earlier field of type "
                                   f"{data.get('type')!r}")
        return other

    def condition(self, data: Any, where: str, earlier: list[str]) -> Condition | None:
        """Read `when`: it may only look at fields asked before this one."""
        if data is None:
            return None
        if not isinstance(data, dict) or set(data) - CONDITION_KEYS or "field" not in data:
            raise self.fail(f"{where}.when", "write {field: ID, equals|not_equals|in|is_set: ...}")
        if data["field"] not in earlier:
            raise self.fail(f"{where}.when", f"refers to {data['field']!r}, which is not an "
                                             "earlier field")
        any_of = data.get("in")
        return Condition(field=data["field"], equals=data.get("equals"),
                         not_equals=data.get("not_equals"),
                         any_of=tuple(any_of) if any_of is not None else None,
                         is_set=data.get("is_set"))

    def options(self, items: Any, where: str) -> tuple[Option, ...]:
        if not isinstance(items, list) or len(items) < 2:
            raise self.fail(where, "a choice needs at least two options")
        result = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("value"), str):
                raise self.fail(f"{where}.options[{i}]", "needs value, ja and en")
            label = self.text({k: v for k, v in item.items() if k != "value"},
                              f"{where}.options[{i}]")
            result.append(Option(item["value"], label))
        if len({o.value for o in result}) != len(result):
            raise self.fail(where, "option values must be unique")
        return tuple(result)

    def number(self, data: dict, key: str, where: str) -> float | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, f"{key} must be a number")
        return value


def form_from_data(data: Any, source: str, known: dict[str, Form] | None = None) -> Form:
    """Check a form given as data (already parsed YAML)."""
    return Reader(source, known or {}).form(data)


def read_form(path: Path, known: dict[str, Form] | None = None) -> Form:
    """Load one form file; raise FormError naming the file and the field on any problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FormError(f"{path}: cannot read: {exc}") from exc
    return Reader(str(path), known or {}).form(data)


def texts(form: Form) -> list[tuple[str, Text]]:
    """Every per-language text of a form, with where it is (title, fields[name].prompt, ...)."""
    found = [(name, getattr(form, name)) for name in ("title", "description", "done")
             if getattr(form, name)]
    return found + _field_texts(form.fields, "fields")


def _field_texts(fields: tuple[Field, ...], where: str) -> list[tuple[str, Text]]:
    found: list[tuple[str, Text]] = []
    for f in fields:
        here = f"{where}[{f.id}]"
        found += [(f"{here}.{name}", getattr(f, name))
                  for name in ("label", "prompt", "error", "more_prompt") if getattr(f, name)]
        found += [(f"{here}.options[{o.value}]", o.label) for o in f.options]
        found += _field_texts(f.fields, here)
    return found


def missing_translations(form: Form, languages: list[str]) -> dict[str, list[str]]:
    """Language -> where its text is missing (Japanese is shown there instead)."""
    missing: dict[str, list[str]] = {}
    for where, text in texts(form):
        for code in languages:
            if code not in text:
                missing.setdefault(code, []).append(where)
    return missing
