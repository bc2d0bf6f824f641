"""Notices in the chat: the last ten received ("Notices"), and stop/resume per topic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import messages
from bot.context import EventContext
from bot.postback import PostbackData
from bot.richmenu import MenuTap
from bot.router import Router
from notices import services
from notices.messages import language_for, title_for


def N_(message: str) -> str:
    """Mark a message for the catalogue; it is translated where it is shown."""
    return message


router = Router("notices")
LIST_LIMIT = 10
EXCERPT = 80
# Short: a topic's name goes into the stop/resume quick-reply labels (LINE: 20 characters).
TOPIC_LABELS = {"events": N_("Events"), "closures": N_("Closures"),
                "reminders": N_("Reminders"), "news": N_("City news")}


@dataclass(frozen=True)
class NoticeSettingsTap(PostbackData, prefix="nt.settings"):
    """Show the resident's notice topics, each with stop or resume."""


@dataclass(frozen=True)
class TopicSwitch(PostbackData, prefix="nt.topic"):
    """Stop (or resume) one topic of notices."""

    topic: str
    stop: bool


@router.menu("notices")
@router.command("notices", "お知らせ")
def notices_list(ctx: EventContext, _text: str = "") -> None:
    """List the last ten notices the resident received, in their language."""
    found = services.received(ctx.session, ctx.resident(), LIST_LIMIT)
    settings = messages.postback_item(ctx.t("Notice settings"), NoticeSettingsTap())
    if not found:
        ctx.reply(messages.text(ctx.t("You have not received any notices yet."),
                                quick_replies=[settings]))
        return
    lines = [ctx.t("[Notices] the last %(count)s", count=len(found))]
    for notice, sent_at in found:
        language = language_for(ctx.language, notice.bodies)
        body = notice.bodies[language]
        excerpt = body if len(body) <= EXCERPT else body[:EXCERPT] + "…"
        when = ctx.city.local(sent_at).strftime("%m/%d") if sent_at else ""
        lines.append(f"\n{when} {title_for(notice.title, notice.titles, language)}\n{excerpt}")
    ctx.reply(messages.text("\n".join(lines), quick_replies=[settings]))


@router.command("stop notices", "resume notices", "notice settings", "お知らせ停止",
                "お知らせ再開", "お知らせ設定")
def settings_command(ctx: EventContext, _text: str = "") -> None:
    """Show each topic with a button to stop or resume it."""
    show_settings(ctx)


@router.action(NoticeSettingsTap)
def settings_tap(ctx: EventContext, _data: NoticeSettingsTap) -> None:
    show_settings(ctx)


def show_settings(ctx: EventContext) -> None:
    """Say which topics the resident receives, with a stop or resume button for each."""
    stopped = services.opted_out(ctx.session, ctx.resident())
    lines = [ctx.t("[Notice settings]")]
    buttons: list[dict[str, Any]] = []
    for topic in services.TOPICS:
        label = ctx.t(TOPIC_LABELS[topic])
        if topic in stopped:
            lines.append(ctx.t("%(topic)s: stopped", topic=label))
            buttons.append(messages.postback_item(ctx.t("Resume %(topic)s", topic=label),
                                                  TopicSwitch(topic, False)))
        else:
            lines.append(ctx.t("%(topic)s: receiving", topic=label))
            buttons.append(messages.postback_item(ctx.t("Stop %(topic)s", topic=label),
                                                  TopicSwitch(topic, True)))
    lines.append(ctx.t("Closure notices for a center you are in reach you even when stopped."))
    ctx.reply(messages.text("\n".join(lines), quick_replies=buttons))


@router.action(TopicSwitch)
def topic_switch(ctx: EventContext, data: TopicSwitch) -> None:
    """Stop or resume a topic, then show the settings again."""
    if data.topic not in services.TOPICS:
        ctx.reply(messages.text(ctx.t("That button is no longer valid.")))
        return
    services.set_opt_out(ctx.session, ctx.resident(), data.topic, data.stop)
    label = ctx.t(TOPIC_LABELS[data.topic])
    done = (ctx.t("You will no longer receive %(topic)s notices.", topic=label) if data.stop
            else ctx.t("You will receive %(topic)s notices again.", topic=label))
    ctx.reply(messages.text(done))
    show_settings(ctx)


def my_data_buttons(_resident, *, ctx: EventContext, **_: object):
    """On residents' my_data_shown: a button to the notices list and its per-topic switches."""
    return [], [(ctx.t("Notices"), MenuTap("notices"))]
