"""Where a form stands: walk its visible steps in order and read or write answers by path.

A path is a stable string: "phone" for a field, "children.1.name" for a field of the second
item of a group, "children.more" for the group's "add another?" question, "confirm" at the
end. The next step is always the first visible step without an answer (as in Rasa forms), so
a changed form definition or a back step never leaves the state inconsistent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.flows.fields import kind_of
from bot.flows.schema import Field, Form

CONFIRM = "confirm"


@dataclass(frozen=True)
class Step:
    path: str
    field: Field | None = None  # None for "more" and "confirm"
    group: Field | None = None
    index: int | None = None

    @property
    def kind(self) -> str:
        if self.path == CONFIRM:
            return "confirm"
        return "more" if self.field is None else "field"


def visible(f: Field, answers: dict[str, Any]) -> bool:
    """Tell whether a field's condition on earlier answers holds."""
    return f.when is None or f.when.holds(answers.get(f.when.field))


def in_scope(f: Field, context: dict[str, Any]) -> bool:
    """Tell whether the run covers this field (My data edits one field; a partner skips some)."""
    only = context.get("only")
    return (not only or f.id in only) and f.id not in context.get("skip", ())


def walk(form: Form, answers: dict[str, Any], context: dict[str, Any]) -> Iterator[Step]:
    """Yield the visible steps of the form in order, answered or not."""
    for f in form.fields:
        if not in_scope(f, context) or not visible(f, answers):
            continue
        if kind_of(f).container:
            yield from _walk_group(f, answers)
        else:
            yield Step(f.id, f)


def _walk_group(group: Field, answers: dict[str, Any]) -> Iterator[Step]:
    items = answers.get(group.id) or []
    for index, item in enumerate(items):
        for sub in group.fields:
            if visible(sub, {**answers, **item}):
                yield Step(f"{group.id}.{index}.{sub.id}", sub, group, index)
    if len(items) < (group.min or 1):
        first = group.fields[0]
        yield Step(f"{group.id}.{len(items)}.{first.id}", first, group, len(items))
    elif len(items) < (group.max or 10):
        yield Step(f"{group.id}.more", None, group)


def is_answered(step: Step, answers: dict[str, Any]) -> bool:
    """Tell whether the step already has an answer (None counts: the field was skipped)."""
    if step.kind == "more":
        return step.path in answers
    if step.group is None:
        return step.path in answers
    items = answers.get(step.group.id) or []
    return step.index < len(items) and step.field.id in items[step.index]


def next_step(form: Form, answers: dict[str, Any], context: dict[str, Any]) -> Step:
    """Return the first visible step without an answer, or the confirmation."""
    for step in walk(form, answers, context):
        if not is_answered(step, answers):
            return step
    return Step(CONFIRM)


def find_step(form: Form, answers: dict[str, Any], context: dict[str, Any],
              path: str) -> Step | None:
    """Return the visible step at this path, if there is one."""
    return next((s for s in walk(form, answers, context) if s.path == path), None)


def get_answer(step: Step, answers: dict[str, Any]) -> Any:
    """Return the stored answer of a step, or None."""
    if step.group is None or step.kind == "more":
        return answers.get(step.path)
    items = answers.get(step.group.id) or []
    return items[step.index].get(step.field.id) if step.index < len(items) else None


def set_answer(step: Step, answers: dict[str, Any], value: Any) -> None:
    """Store an answer; "more: yes" opens a new item of the group instead."""
    if step.kind == "more":
        if value:
            answers.setdefault(step.group.id, []).append({})
        else:
            answers[step.path] = False
        return
    if step.group is None:
        answers[step.path] = value
        return
    items = answers.setdefault(step.group.id, [])
    while len(items) <= step.index:
        items.append({})
    items[step.index][step.field.id] = value


def clear_answer(form: Form, answers: dict[str, Any], path: str) -> None:
    """Forget the answer at a path, so the engine asks that step again."""
    parts = path.split(".")
    if len(parts) == 1:
        answers.pop(path, None)
        return
    group_id = parts[0]
    items = answers.get(group_id) or []
    if parts[1] == "more":
        answers.pop(path, None)
    elif int(parts[1]) < len(items):
        items[int(parts[1])].pop(parts[2], None)
    # An item opened by "add another" and left empty again is closed by going back.
    while items and not items[-1] and parts[1] == "more":
        items.pop()


def collect(form: Form, answers: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Return only the answers of visible steps, shaped as the form: groups become lists."""
    result: dict[str, Any] = {}
    for step in walk(form, answers, context):
        if step.kind == "more" or not is_answered(step, answers):
            continue
        value = get_answer(step, answers)
        if step.group is None:
            result[step.field.id] = value
        else:
            items = result.setdefault(step.group.id, [])
            while len(items) <= step.index:
                items.append({})
            items[step.index][step.field.id] = value
    return result


def missing(form: Form, answers: dict[str, Any], context: dict[str, Any]) -> list[str]:
    """Return the paths of visible required steps that have no value."""
    return [s.path for s in walk(form, answers, context)
            if s.kind == "field" and s.field.required and get_answer(s, answers) is None]
