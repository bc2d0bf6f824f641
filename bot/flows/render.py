"""Build the LINE messages of a step: the question, its quick replies, the summary to confirm."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot import flex, messages
from bot.flows import steps
from bot.flows.fields import Button, Device, Picker, kind_of
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
    """The answers a resident can tap for this step: its field type's buttons."""
    if step.kind == "more":
        return [item(turn, turn.t("Yes"), "answer", "yes"), item(turn, turn.t("No"), "answer", "no")]
    return [button(turn, b) for b in kind_of(step.field).quick_replies(step.field, turn)]


def button(turn: Turn, b: Button) -> Item:
    """Encode a field type's button as a LINE quick-reply item."""
    if isinstance(b, Device):
        return {"type": "action", "action": {"type": b.action, "label": b.label}}
    if isinstance(b, Picker):
        action: dict[str, Any] = {"type": "datetimepicker", "label": b.label,
                                  "data": data(turn, "answer").pack(),
                                  "mode": b.mode}
        action.update({k: v for k, v in (("min", b.min), ("max", b.max),
                                          ("initial", b.initial)) if v is not None})
        return {"type": "action", "action": action}
    return item(turn, b.label, b.op, b.value)


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
    hint = kind_of(f).hint(f, turn)
    if hint:
        body += f"\n{hint}"
    current = steps.get_answer(step, turn.conv.answers)
    if turn.conv.draft.get("editing") == step.path and current is not None:
        body += "\n" + turn.t("Now: %(value)s", value=turn.display(f, current))
    return body


def prompt(turn: Turn, step: Step, page: int = 0) -> dict[str, Any]:
    """Build the message asking for a step."""
    items = paged(turn, choice_items(turn, step), controls(turn, step), page)
    return messages.text(question(turn, step), quick_replies=items)


def summary_rows(turn: Turn) -> list[tuple[str, str, str]]:
    """List every answer the form will send as (label, shown value, step path), groups numbered."""
    rows = []
    for step in steps.walk(turn.form, turn.conv.answers, turn.conv.context):
        if step.kind != "field":
            continue
        value = steps.get_answer(step, turn.conv.answers)
        label = turn.text(step.field.label)
        if step.group is not None:
            label = f"{turn.text(step.group.label)} {step.index + 1} {label}"
        rows.append((label, turn.display(step.field, value), step.path))
    return rows


def summary_lines(turn: Turn) -> list[str]:
    """List every answer the form will send, one line each, groups numbered."""
    return [f"・{label}: {value}" for label, value, _path in summary_rows(turn)]


def confirmation(turn: Turn, page: int = 0) -> dict[str, Any]:
    """Build the summary card: every answer with its own Change button; Send, Edit, Back, Cancel.

    The alternative text is the same summary as plain text, cut to LINE's 400 characters.
    """
    title = turn.text(turn.form.title)
    change = turn.t("Change")
    body = [flex.edit_row(label, value, change, data(turn, "edit", path))
            for label, value, path in summary_rows(turn)]
    body += [flex.separator(), flex.note(turn.t("Tap \"Change\" beside an answer to correct it."))]
    footer = [flex.button(turn.t("Send"), data(turn, "send"), style="primary"),
              flex.button(turn.t("Edit"), data(turn, "edit")),
              flex.button(turn.t("◀ Back"), data(turn, "back")),
              flex.button(turn.t("Cancel"), data(turn, "cancel"))]
    alt_text = "\n".join([f"【{title}】", *summary_lines(turn), "", turn.t("Send this?")])
    if len(alt_text) > flex.ALT_TEXT_LIMIT:
        # Keep the question readable: cut the list, not the end.
        ending = "\n…\n\n" + turn.t("Send this?")
        alt_text = alt_text[:flex.ALT_TEXT_LIMIT - len(ending)] + ending
    card = flex.bubble(title, body, footer=footer, accent="info", subtitle=turn.t("Send this?"))
    if not flex.fits(card):  # a very long form: the rows without their buttons, then as text
        card = flex.bubble(title, [flex.row(label, value) for label, value, _ in
                                   summary_rows(turn)], footer=footer, accent="info")
    if not flex.fits(card):
        items = [item(turn, turn.t("Send"), "send"), item(turn, turn.t("Edit"), "edit"),
                 item(turn, turn.t("◀ Back"), "back"), item(turn, turn.t("Cancel"), "cancel")]
        body_text = "\n".join([f"【{title}】", *summary_lines(turn), "", turn.t("Send this?")])
        return messages.text(body_text[:5000], quick_replies=items)
    return flex.message(alt_text, card)


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
