"""The engine: run any form turn by turn, with all its state in the conversations table.

Handlers call `start`, `handle_message`, `handle_postback`, `interrupt`, `offer_resume` and
`cancel`. Every prompt bumps the conversation's nonce and every form postback carries the
nonce of the prompt it came with, so a tap on an old message is answered, never applied.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from sqlalchemy import select

from bot import messages
from bot.context import EventContext
from bot.flows import fields, hooks, render, steps
from bot.flows.fields import Input, Invalid, check_selection, parse, parse_yesno
from bot.flows.registry import forms
from bot.flows.schema import Field, Form, Option
from bot.flows.steps import Step
from bot.flows.taps import FormTap
from models import Resident
from models.conversation import Conversation
from models.application import Upload

log = logging.getLogger(__name__)

CONTROL_WORDS = {
    "back": {"back", "戻る", "もどる", "前へ"},
    "skip": {"skip", "スキップ", "とばす", "なし"},
}


@dataclass
class Turn:
    """One event's view of one conversation: the form, its row, and the event's context."""

    ctx: EventContext
    form: Form
    conv: Conversation

    @property
    def session(self):
        return self.ctx.session

    @property
    def resident(self) -> Resident:
        return self.ctx.resident()

    @property
    def lang(self) -> str:
        return self.ctx.language

    @cached_property
    def today(self) -> date:
        return self.ctx.city.today(self.ctx.now)

    def t(self, message: str, **variables: object) -> str:
        """Translate an engine message into the resident's language."""
        return self.ctx.t(message, **variables)

    def text(self, value: dict[str, str] | None) -> str:
        """Pick the resident's language from a form's per-language text."""
        return (value or {}).get(self.lang) or (value or {}).get("ja", "")

    def options(self, f: Field) -> list[Option]:
        """Return a choice field's options, from the form or from a named source."""
        return fields.options_of(self.session, f)

    def children(self) -> list[tuple[int, str]]:
        return hooks.children(self.session, self.resident)

    def store_image(self, message_id: str) -> dict[str, Any]:
        """Fetch a sent photo through the gateway and keep it in the uploads table."""
        from bot.gateway import LineError, gateway

        try:
            content = gateway().get_message_content(message_id)
        except LineError as err:
            log.warning("photo %s not fetched: %s", message_id, err)
            raise Invalid("Sorry, the photo could not be received. Please send it again.") from err
        # The sender is kept so erasing their registration finds every photo they sent.
        upload = Upload(resident_id=self.resident.id, content_type=sniff_image_type(content),
                        data=content, sha256=hashlib.sha256(content).hexdigest())
        self.session.add(upload)
        self.session.flush()
        return {"upload_id": upload.id, "content_type": upload.content_type, "bytes": len(content)}

    def display(self, f: Field, value: Any) -> str:
        """Show a stored answer in the resident's language."""
        return fields.display(f, value, self)


def sniff_image_type(content: bytes) -> str:
    """Tell JPEG, PNG, GIF and WebP apart by their first bytes."""
    for magic, kind in ((b"\xff\xd8", "image/jpeg"), (b"\x89PNG", "image/png"),
                        (b"GIF8", "image/gif"), (b"RIFF", "image/webp")):
        if content.startswith(magic):
            return kind
    return "application/octet-stream"


# Finding conversations


def conversations(session, resident: Resident) -> list[Conversation]:
    """Return the resident's conversations, most recent first."""
    return list(session.scalars(select(Conversation).where(Conversation.resident_id == resident.id)
                                .order_by(Conversation.updated_at.desc(), Conversation.id.desc())))


def lock(session, resident: Resident) -> list[Conversation]:
    """Lock the resident's conversations until the event commits, so two events queue.

    Without it two taps at once (a double-tapped "Send") both read the same nonce on
    PostgreSQL and both submit; with it the second waits, then reads what the first wrote.
    Returns them, most recent first (as `conversations`), read under the lock.
    """
    # populate_existing: a row this session loaded before the lock is read again.
    locked = session.scalars(select(Conversation).where(Conversation.resident_id == resident.id)
                             .order_by(Conversation.id).with_for_update()
                             .execution_options(populate_existing=True)).all()
    return sorted(locked, key=lambda c: (c.updated_at, c.id), reverse=True)


def active(session, resident: Resident) -> Conversation | None:
    """Return the conversation that answers the next message, if any."""
    return next((c for c in conversations(session, resident) if c.status == "active"), None)


def expired(ctx: EventContext, conv: Conversation) -> bool:
    """Tell whether the conversation was left alone longer than the city's form expiry."""
    return ctx.now - conv.updated_at > ctx.city.form_expiry


def open_turn(ctx: EventContext, conv: Conversation) -> Turn | None:
    """Load a conversation's form; drop it (and tell the resident) when expired or gone."""
    form = forms().get(conv.form_id)
    if form is None or expired(ctx, conv):
        title = _title(ctx, form) if form else conv.form_id
        ctx.session.delete(conv)
        ctx.session.flush()
        ctx.reply(messages.text(ctx.t("Your form \"%(title)s\" was left unfinished for too long "
                                      "and has been discarded. Please start again.",
                                      title=title)))
        return None
    return Turn(ctx, form, conv)


def _title(ctx: EventContext, form: Form) -> str:
    return form.title.get(ctx.language) or form.title["ja"]


# Starting, pausing, resuming


def start(ctx: EventContext, form_id: str, context: dict[str, Any] | None = None) -> None:
    """Start a form for the sender (resuming an unfinished one of the same form)."""
    form = forms().get(form_id)
    resident = ctx.resident()
    if form.requires_registration and not hooks.is_registered(ctx.session, resident):
        ctx.reply(messages.text(ctx.t("Please register first: tap \"Register\" in the menu.")))
        return
    interrupt(ctx)
    conv = _existing(ctx, form_id, context or {})
    if conv is not None:
        conv.status = "active"
        ctx.reply(messages.text(ctx.t("Let's continue where you left off.")))
        advance(Turn(ctx, form, conv))
        return
    conv = Conversation(resident_id=resident.id, form_id=form_id, status="active",
                        answers=prefill(ctx, form, context or {}), context=context or {},
                        history=[], draft={}, nonce=0, started_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(conv)
    ctx.session.flush()
    ctx.reply(intro(ctx, form))
    advance(Turn(ctx, form, conv))


def _existing(ctx: EventContext, form_id: str, context: dict[str, Any]) -> Conversation | None:
    """Return the resident's unfinished run of this form to resume, dropping a stale one."""
    conv = next((c for c in conversations(ctx.session, ctx.resident()) if c.form_id == form_id),
                None)
    if conv is None:
        return None
    if expired(ctx, conv) or conv.context != context:
        ctx.session.delete(conv)
        ctx.session.flush()
        return None
    return conv


def intro(ctx: EventContext, form: Form) -> dict[str, Any]:
    """Name the form, say what it is for, and how to stop."""
    lines = [f"【{_title(ctx, form)}】"]
    if form.description:
        lines.append(form.description.get(ctx.language) or form.description["ja"])
    lines.append(ctx.t("You can go back, skip optional questions, or send \"cancel\" at any time."))
    return messages.text("\n".join(lines))


def prefill(ctx: EventContext, form: Form, context: dict[str, Any]) -> dict[str, Any]:
    """Fill the answers the city already knows; they show at the confirmation, editable."""
    if form.anonymous:
        return {}
    known = hooks.profile(ctx.session, ctx.resident())
    answers: dict[str, Any] = dict(context.get("answers", {}))
    for f in form.fields:
        # A field the run was started to change is asked, not filled.
        asked = f.id in context.get("only", ())
        if f.prefill and known.get(f.prefill) is not None and steps.in_scope(f, context) \
                and not asked:
            answers.setdefault(f.id, known[f.prefill])
    return answers


def interrupt(ctx: EventContext) -> None:
    """Pause the sender's active form: another command takes over."""
    resident = ctx.find_resident()
    conv = active(ctx.session, resident) if resident else None
    if conv is not None:
        conv.status = "paused"


def offer_resume(ctx: EventContext) -> None:
    """After another command, offer to resume the most recent paused form."""
    resident = ctx.find_resident()
    if resident is None:
        return
    found = conversations(ctx.session, resident)
    if any(c.status == "active" for c in found):
        return
    for conv in found:
        form = forms().get(conv.form_id)
        if form is None or expired(ctx, conv):
            ctx.session.delete(conv)
            continue
        turn = Turn(ctx, form, conv)
        ctx.reply(messages.text(
            ctx.t("You have an unfinished form: \"%(title)s\". Resume it?", title=_title(ctx, form)),
            quick_replies=[render.item(turn, ctx.t("Resume"), "resume"),
                           render.item(turn, ctx.t("Discard"), "discard")]))
        return


def cancel(ctx: EventContext) -> None:
    """Cancel the sender's active form, or say there is nothing to cancel."""
    resident = ctx.resident()
    conv = active(ctx.session, resident)
    if conv is None:
        ctx.reply(messages.text(ctx.t("There is nothing to cancel.")))
        return
    _drop(ctx, conv)


def _drop(ctx: EventContext, conv: Conversation) -> None:
    form = forms().get(conv.form_id)
    ctx.session.delete(conv)
    ctx.session.flush()
    title = _title(ctx, form) if form else conv.form_id
    ctx.reply(messages.text(ctx.t("\"%(title)s\" was cancelled. Nothing was sent.", title=title)))


# Moving on


def advance(turn: Turn, page: int = 0, prefix: list[dict[str, Any]] | None = None) -> None:
    """Ask the next step (or show the summary), under a new nonce."""
    step = current_step(turn)
    if step.kind == "confirm" and not turn.form.confirm:
        submit(turn)
        return
    conv = turn.conv
    conv.step = step.path
    conv.nonce += 1
    conv.updated_at = turn.ctx.now
    conv.status = "active"
    if conv.draft.get("choosing"):
        message = render.edit_choice(turn, page)
    elif step.kind == "confirm":
        message = render.confirmation(turn)
    else:
        message = render.prompt(turn, step, page)
    turn.ctx.reply(*(prefix or []), message)


def current_step(turn: Turn) -> Step:
    """Return the step being asked: the field being edited, or the first unanswered one."""
    editing = turn.conv.draft.get("editing")
    if editing:
        found = steps.find_step(turn.form, turn.conv.answers, turn.conv.context, editing)
        if found is not None:
            return found
        turn.conv.draft = {}
    return steps.next_step(turn.form, turn.conv.answers, turn.conv.context)


def reject(turn: Turn, problem: Invalid) -> None:
    """Say what was wrong and ask the same step again; earlier answers stay."""
    advance(turn, prefix=[messages.text("⚠️ " + problem.say(turn))])


def answer(turn: Turn, inp: Input) -> None:
    """Apply an answer to the current step, or re-ask it saying why not."""
    step = current_step(turn)
    if turn.conv.draft.get("choosing"):
        advance(turn)  # the list of answers to change is on screen: show it again
        return
    if step.kind == "confirm":
        confirm_by_text(turn, inp)
        return
    try:
        if step.kind == "more":
            value = parse_yesno(_YESNO, inp, turn)
        else:
            value = parse(step.field, inp, turn)
            fields.check_rules(step.field, value, *_peers(turn.form, step, turn.conv.answers),
                               turn)
    except Invalid as problem:
        reject(turn, problem)
        return
    record(turn, step, value)


def _peers(form: Form, step: Step, answers: dict[str, Any]
           ) -> tuple[dict[str, Any], dict[str, Field]]:
    """Return the answers and the fields a step's rules may look at: its own list's."""
    if step.group is None:
        return answers, {f.id: f for f in form.fields}
    items = answers.get(step.group.id) or []
    item = items[step.index] if step.index < len(items) else {}
    return item, {f.id: f for f in step.group.fields}


_YESNO = Field(id="more", type="yesno", label={}, prompt={})


def record(turn: Turn, step: Step, value: Any) -> None:
    """Store a valid answer, remember the step for "back", and move on."""
    answers = _copy(turn.conv.answers)
    steps.set_answer(step, answers, value)
    dropped, notices = _recheck_later(turn, step, answers)
    turn.conv.answers = _copy(answers)
    turn.conv.history = [*[p for p in turn.conv.history if p not in dropped], step.path]
    turn.conv.draft = {}
    advance(turn, prefix=notices)


def _recheck_later(turn: Turn, step: Step, answers: dict[str, Any]
                   ) -> tuple[set[str], list[dict[str, Any]]]:
    """Drop later answers that a changed answer makes break their rules, saying why.

    The engine asks the first unanswered step, so a dropped answer is asked again next.
    """
    if step.kind != "field":
        return set(), []
    dropped, notices = set(), []
    for later in list(steps.walk(turn.form, answers, turn.conv.context)):
        if (later.kind != "field" or later.group != step.group or later.index != step.index
                or step.field.id not in fields.depends_on(later.field)):
            continue
        value = steps.get_answer(later, answers)
        try:
            fields.check_rules(later.field, value, *_peers(turn.form, later, answers), turn)
        except Invalid as problem:
            steps.clear_answer(turn.form, answers, later.path)
            dropped.add(later.path)
            notices.append(messages.text("⚠️ " + turn.t(
                "Please answer \"%(label)s\" again: %(reason)s",
                label=turn.text(later.field.label), reason=problem.say(turn))))
    return dropped, notices


def _copy(answers: dict[str, Any]) -> dict[str, Any]:
    # A JSON column is saved when a new object is assigned; a deep copy also keeps the old
    # value intact, so SQLAlchemy sees the difference.
    return copy.deepcopy(answers)


def confirm_by_text(turn: Turn, inp: Input) -> None:
    """At the summary, a typed "send" or "edit" works like the buttons."""
    word = inp.text.strip().casefold() if inp.kind == "text" else ""
    if word in {"send", "送信", "送信する", "はい", "yes"}:
        submit(turn)
    elif word in {"edit", "修正", "修正する", "変更"}:
        choose_edit(turn)
    else:
        reject(turn, Invalid("Please tap Send to send, or Edit to change an answer."))


def go_back(turn: Turn) -> None:
    """Go back one step: forget its answer and ask it again."""
    conv = turn.conv
    if conv.draft.get("choosing") or conv.draft.get("editing"):
        conv.draft = {}  # back from changing an answer returns to the summary
        advance(turn)
        return
    conv.draft = {}
    if not conv.history:
        advance(turn, prefix=[messages.text(turn.t("This is the first question."))])
        return
    answers = _copy(conv.answers)
    steps.clear_answer(turn.form, answers, conv.history[-1])
    conv.answers = answers
    conv.history = conv.history[:-1]
    advance(turn)


def skip(turn: Turn) -> None:
    """Leave an optional field empty; a required one is asked again."""
    step = current_step(turn)
    if step.kind != "field" or step.field.required:
        reject(turn, Invalid("This question cannot be skipped."))
        return
    record(turn, step, None)


def choose_edit(turn: Turn, page: int = 0) -> None:
    """Show the list of answers to change."""
    turn.conv.draft = {"choosing": True}
    advance(turn, page)


def pick_edit(turn: Turn, path: str) -> None:
    """Ask one answer again; once answered, the summary comes back."""
    if steps.find_step(turn.form, turn.conv.answers, turn.conv.context, path) is None:
        choose_edit(turn)
        return
    turn.conv.draft = {"editing": path}
    advance(turn)


def toggle(turn: Turn, value: str) -> None:
    """Select or unselect one option of a multi-choice question."""
    chosen = list(turn.conv.draft.get("selected", []))
    chosen = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
    turn.conv.draft = {**turn.conv.draft, "selected": chosen}
    advance(turn)


def finish_selection(turn: Turn) -> None:
    """Store the selected options of a multi-choice question."""
    step = current_step(turn)
    if step.kind != "field" or not fields.kind_of(step.field).toggles:
        advance(turn)
        return
    options = [o.value for o in turn.options(step.field)]
    chosen = [v for v in options if v in turn.conv.draft.get("selected", [])]
    try:
        value = check_selection(step.field, chosen)
        fields.check_rules(step.field, value, *_peers(turn.form, step, turn.conv.answers), turn)
    except Invalid as problem:
        reject(turn, problem)
        return
    record(turn, step, value)


def submit(turn: Turn) -> None:
    """Hand the visible answers to the form's submit handler and end the conversation."""
    conv = turn.conv
    gaps = steps.missing(turn.form, conv.answers, conv.context)
    if gaps:
        # Only reachable if the form changed under a running conversation: ask what is missing.
        log.warning("conversation %s lacks %s at submit", conv.id, gaps)
        conv.draft = {"editing": gaps[0]}
        advance(turn)
        return
    answers = steps.collect(turn.form, conv.answers, conv.context)
    replies = hooks.submit_handler(turn.form.on_submit)(turn, answers)
    turn.session.delete(conv)
    turn.session.flush()
    turn.ctx.reply(*replies)


# Entry points for handlers


def handle_message(ctx: EventContext, inp: Input) -> bool:
    """Apply a message to the sender's active form; False when no form is active."""
    resident = ctx.resident()
    conv = next((c for c in lock(ctx.session, resident) if c.status == "active"), None)
    if conv is None:
        return False
    turn = open_turn(ctx, conv)
    if turn is None:
        return True
    word = inp.text.strip().casefold() if inp.kind == "text" else ""
    if word in CONTROL_WORDS["back"]:
        go_back(turn)
    elif word in CONTROL_WORDS["skip"]:
        skip(turn)
    else:
        answer(turn, inp)
    return True


def at_summary(turn: Turn) -> bool:
    """Tell whether the summary (not an edit of it) is the message on screen."""
    return current_step(turn).kind == "confirm" and not turn.conv.draft


def only_at_summary(action):
    """Guard Send and Edit: they mean nothing while a question is being asked."""
    def guarded(turn: Turn, value: str | None) -> None:
        if at_summary(turn):
            action(turn, value)
        else:
            stale(turn.ctx)
    return guarded


def pick(turn: Turn, value: str | None) -> None:
    """Edit the chosen answer, if the list of answers is what was shown."""
    if turn.conv.draft.get("choosing"):
        pick_edit(turn, value or "")
    else:
        stale(turn.ctx)


OPS = {
    "back": lambda turn, v: go_back(turn),
    "skip": lambda turn, v: skip(turn),
    "cancel": lambda turn, v: _drop(turn.ctx, turn.conv),
    "send": only_at_summary(lambda turn, v: submit(turn)),
    # "Edit" lists the answers; a summary row's own Change button names the answer to change.
    "edit": only_at_summary(lambda turn, v: pick_edit(turn, v) if v else choose_edit(turn)),
    "pick": pick,
    "toggle": lambda turn, v: toggle(turn, v or ""),
    "done": lambda turn, v: finish_selection(turn),
    "resume": lambda turn, v: advance(turn),
    "discard": lambda turn, v: _drop(turn.ctx, turn.conv),
}


def handle_postback(ctx: EventContext, tap: FormTap, picked: dict[str, str]) -> None:
    """Apply a form postback if it belongs to the last prompt; answer an old one."""
    resident = ctx.resident()
    lock(ctx.session, resident)
    conv = next((c for c in conversations(ctx.session, resident) if c.form_id == tap.form), None)
    if conv is None or conv.nonce != tap.nonce:
        stale(ctx)
        return
    if conv.status != "active":
        interrupt(ctx)  # the tap on a paused form's last prompt resumes that form
    turn = open_turn(ctx, conv)
    if turn is None:
        return
    op, value = tap.op, tap.value
    if op == "answer":
        answer(turn, Input("postback", value=value, params=picked))
    elif op == "page":
        page = int(value) if (value or "").isdigit() else 0
        advance(turn, page)
    elif op in OPS:
        OPS[op](turn, value)
    else:
        stale(ctx)


def stale(ctx: EventContext) -> None:
    """Answer a tap on an old message, and repeat the current question if a form is running."""
    ctx.reply(messages.text(ctx.t("That button belongs to an earlier message, so nothing "
                                  "was changed.")))
    conv = active(ctx.session, ctx.resident())
    if conv is not None:
        turn = open_turn(ctx, conv)
        if turn is not None:
            advance(turn)
