"""Build the LINE messages of a step: the question, its quick replies, the summary to confirm."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot import messages
from bot.flows import steps
from bot.flows.fields import date_bounds
from bot.flows.schema import Field
from bot.flows.steps import Step
from bot.flows.taps import FormTap

if TYPE_CHECKING:
    from bot.flows.engine import Turn

Item = dict[str, Any]


def data(turn: Turn, op: str, value: str | None = None) -> FormTap:
    """Build a form postback: it names the form and the prompt's nonce, so old taps are caught."""
    return FormTap(turn.form.id, turn.conv.nonce, op, value)


def item(turn: Turn, label: str, op: str, value: str | None = None) -> Item:
    """Build a quick-reply postback item that shows its label as the resident's message."""
    return messages.postback_item(label, data(turn, op, value), display_text=label)


def controls(turn: Turn, step: Step) -> list[Item]:
    """Back (when there is a previous step), skip (optional fields) and cancel."""
    result = []
    if turn.conv.history or turn.conv.draft.get("editing"):
        result.append(item(turn, turn.t("◀ Back"), "back"))
    if step.kind == "field" and not step.field.required:
        result.append(item(turn, turn.t("Skip"), "skip"))
    result.append(item(turn, turn.t("Cancel"), "cancel"))
    return result


def paged(turn: Turn, choices: list[Item], fixed: list[Item], page: int) -> list[Item]:
    """Fit the choices and the fixed items into 13 quick replies, with "More ▶" to page on."""
    room = messages.QUICK_REPLY_LIMIT - len(fixed)
    if len(choices) <= room:
        return choices + fixed
    size = room - 1
    start = page * size
    if start >= len(choices):
        start, page = 0, 0
    shown = choices[start:start + size]
    return shown + [item(turn, turn.t("More ▶"), "page", str(page + 1))] + fixed


def choice_items(turn: Turn, step: Step) -> list[Item]:
    """The answers a resident can tap for this step's type."""
    f = step.field
    if step.kind == "more" or f.type == "yesno":
        return [item(turn, turn.t("Yes"), "answer", "yes"), item(turn, turn.t("No"), "answer", "no")]
    if f.type == "choice":
        return [item(turn, o.label.get(turn.lang, o.label["ja"]), "answer", o.value)
                for o in turn.options(f)]
    if f.type == "multichoice":
        return multichoice_items(turn, f)
    if f.type == "child":
        return [item(turn, name, "answer", str(cid)) for cid, name in turn.children()]
    return TYPE_ITEMS.get(f.type, lambda t, s: [])(turn, f)


def multichoice_items(turn: Turn, f: Field) -> list[Item]:
    chosen = set(turn.conv.draft.get("selected", []))
    items = [item(turn, ("✓ " if o.value in chosen else "") + o.label.get(turn.lang, o.label["ja"]),
                  "toggle", o.value) for o in turn.options(f)]
    if chosen:
        items.insert(0, item(turn, turn.t("Done"), "done"))
    return items


def date_item(turn: Turn, f: Field) -> list[Item]:
    low, high = date_bounds(f, turn)
    action: dict[str, Any] = {"type": "datetimepicker", "label": turn.t("Pick a date"),
                              "data": data(turn, "answer").pack(), "mode": "date"}
    if low:
        action["min"] = low.isoformat()
    if high:
        action["max"] = high.isoformat()
    initial = max(low or turn.today, min(high or turn.today, turn.today))
    action["initial"] = initial.isoformat()
    return [{"type": "action", "action": action}]


def time_item(turn: Turn, f: Field) -> list[Item]:
    action: dict[str, Any] = {"type": "datetimepicker", "label": turn.t("Pick a time"),
                              "data": data(turn, "answer").pack(), "mode": "time"}
    if f.min_time:
        action["min"] = f.min_time[:5]
        action["initial"] = f.min_time[:5]
    if f.max_time:
        action["max"] = f.max_time[:5]
    return [{"type": "action", "action": action}]


TYPE_ITEMS = {
    "date": date_item,
    "time": time_item,
    "location": lambda turn, f: [{"type": "action",
                                  "action": {"type": "location", "label": turn.t("Send location")}}],
    "photo": lambda turn, f: [
        {"type": "action", "action": {"type": "camera", "label": turn.t("Camera")}},
        {"type": "action", "action": {"type": "cameraRoll", "label": turn.t("Photos")}}],
}


def question(turn: Turn, step: Step) -> str:
    """The text of a step's question, with (optional) and the current answer when editing."""
    if step.kind == "more":
        return turn.text(step.group.more_prompt)
    f = step.field
    body = turn.text(f.prompt)
    if step.group is not None:
        body = f"{turn.text(step.group.label)} {step.index + 1}: {body}"
    if not f.required:
        body += turn.t(" (optional)")
    if f.link:
        body += f"\n{f.link}"
    current = steps.get_answer(step, turn.conv.answers)
    if turn.conv.draft.get("editing") == step.path and current is not None:
        body += "\n" + turn.t("Now: %(value)s", value=turn.display(f, current))
    return body


def prompt(turn: Turn, step: Step, page: int = 0) -> dict[str, Any]:
    """Build the message asking for a step."""
    items = paged(turn, choice_items(turn, step), controls(turn, step), page)
    return messages.text(question(turn, step), quick_replies=items)


def summary_lines(turn: Turn) -> list[str]:
    """List every answer the form will send, one line each, groups numbered."""
    lines = []
    for step in steps.walk(turn.form, turn.conv.answers, turn.conv.context):
        if step.kind != "field":
            continue
        value = steps.get_answer(step, turn.conv.answers)
        label = turn.text(step.field.label)
        if step.group is not None:
            label = f"{turn.text(step.group.label)} {step.index + 1} {label}"
        lines.append(f"・{label}: {turn.display(step.field, value)}")
    return lines


def confirmation(turn: Turn, page: int = 0) -> dict[str, Any]:
    """Build the summary with Send, Edit, Back and Cancel."""
    body = "\n".join([f"【{turn.text(turn.form.title)}】", *summary_lines(turn), "",
                      turn.t("Send this?")])
    items = [item(turn, turn.t("Send"), "send"), item(turn, turn.t("Edit"), "edit"),
             item(turn, turn.t("◀ Back"), "back"), item(turn, turn.t("Cancel"), "cancel")]
    return messages.text(body[:5000], quick_replies=items)


def edit_choice(turn: Turn, page: int = 0) -> dict[str, Any]:
    """Ask which answer to change, one quick reply per field (paged)."""
    choices = []
    for step in steps.walk(turn.form, turn.conv.answers, turn.conv.context):
        if step.kind == "field":
            label = turn.text(step.field.label)
            if step.group is not None:
                label = f"{step.index + 1}:{label}"
            choices.append(item(turn, label, "pick", step.path))
    fixed = [item(turn, turn.t("◀ Back"), "back")]
    return messages.text(turn.t("Which item do you want to change?"),
                         quick_replies=paged(turn, choices, fixed, page))
