"""The emulator checks Flex messages against LINE's limits, and answers 400 as LINE does."""

from __future__ import annotations

import copy

import pytest
import requests

from bot import flex
from bot.flows.taps import FormTap
from emulator.validation import (MAX_BUBBLE_BYTES, MAX_CAROUSEL_BYTES, check_messages,
                                 json_size)


def card(**changes) -> dict:
    """A valid card built by the bot's own builders."""
    message = flex.message("チェックインしました", flex.bubble(
        "チェックイン", [flex.row("センター", "中央"), flex.separator(), flex.note("ありがとう"),
                    flex.edit_row("お名前", "山田花子", "変更する", FormTap("f", 1, "edit", "name"))],
        footer=[flex.button("送信", FormTap("f", 1, "send"), style="primary")]))
    message.update(changes)
    return message


def problems(message: dict) -> list[tuple[str, str]]:
    return [(d["property"], d["message"]) for d in check_messages([message])]


def test_the_bots_cards_are_valid():
    assert problems(card()) == []
    carousel = {"type": "carousel", "contents": [card()["contents"]] * 12}
    assert problems(card(contents=carousel)) == []


def body_with(*components) -> dict:
    message = card()
    message["contents"]["body"]["contents"] = list(components)
    return message


@pytest.mark.parametrize("message, prop, reason", [
    (card(altText=None), "messages[0].altText", "Must not be empty"),
    (card(altText=""), "messages[0].altText", "Length must be between 1 and 400"),
    (card(altText="あ" * 401), "messages[0].altText", "Length must be between 1 and 400"),
    (card(contents={"type": "box"}), "messages[0].contents.type", "Must be bubble or carousel"),
    (card(contents={"type": "carousel", "contents": []}), "messages[0].contents.contents",
     "Size must be between 1 and 12"),
    (card(contents={"type": "carousel", "contents": [card()["contents"]] * 13}),
     "messages[0].contents.contents", "Size must be between 1 and 12"),
    (card(contents={"type": "carousel", "contents": [{"type": "text", "text": "x"}]}),
     "messages[0].contents.contents[0].type", "Must be bubble"),
    (body_with({"type": "text", "text": ""}), "messages[0].contents.body.contents[0].text",
     "Length must be between 1 and 5000"),
    (body_with({"type": "text"}), "messages[0].contents.body.contents[0].text",
     "Must not be empty"),
    (body_with({"type": "marquee", "text": "x"}), "messages[0].contents.body.contents[0].type",
     "Invalid component type"),
    (body_with({"type": "span", "text": "x"}), "messages[0].contents.body.contents[0].type",
     "Invalid component type"),
    (body_with({"type": "icon", "url": "https://example.com/i.png"}),
     "messages[0].contents.body.contents[0].type", "An icon can only be in a baseline box"),
    (body_with({"type": "box", "layout": "diagonal", "contents": []}),
     "messages[0].contents.body.contents[0].layout",
     "Must be one of horizontal, vertical, baseline"),
    (body_with({"type": "button", "action": {"type": "postback", "label": "あ" * 21,
                                             "data": "x"}}),
     "messages[0].contents.body.contents[0].action.label", "Length must be between 1 and 20"),
    (body_with({"type": "button", "action": {"type": "postback", "data": "x"}}),
     "messages[0].contents.body.contents[0].action.label", "Must not be empty"),
    (body_with({"type": "button", "action": {"type": "postback", "label": "OK",
                                             "data": "x" * 301}}),
     "messages[0].contents.body.contents[0].action.data", "Length must be between 1 and 300"),
    (body_with({"type": "button"}), "messages[0].contents.body.contents[0].action",
     "Must not be empty"),
    (body_with({"type": "text", "text": "x", "action": {"type": "teleport"}}),
     "messages[0].contents.body.contents[0].action.type", "Invalid action type"),
    (body_with({"type": "image"}), "messages[0].contents.body.contents[0].url",
     "Must not be empty"),
    (body_with({"type": "text", "contents": [{"type": "text", "text": "x"}]}),
     "messages[0].contents.body.contents[0].contents[0].type", "Must be span"),
    (card(contents={"type": "bubble", "header": {"type": "text", "text": "x"}}),
     "messages[0].contents.header.type", "Must be one of box"),
])
def test_invalid_flex_is_refused_with_the_property_and_reason(message, prop, reason):
    assert (prop, reason) in problems(message)


def test_a_text_of_spans_needs_no_text_of_its_own():
    spans = {"type": "text", "contents": [{"type": "span", "text": "赤", "color": "#ff0000"}]}
    assert problems(body_with(spans)) == []
    assert problems(body_with({"type": "box", "layout": "baseline", "contents": [
        {"type": "icon", "url": "https://example.com/i.png"}, {"type": "text", "text": "x"}]})) == []


def test_a_bubble_over_30_kb_and_a_carousel_over_50_kb_are_refused():
    rows = [flex.row("項目", "x" * 100)] * 400
    big = body_with(*rows)
    assert json_size(big["contents"]) > MAX_BUBBLE_BYTES
    assert ("messages[0].contents", f"The bubble is larger than {MAX_BUBBLE_BYTES} bytes") \
        in problems(big)
    # Twelve bubbles of 5 KB each: every bubble fits, the carousel does not.
    bubble = copy.deepcopy(body_with(*[flex.row("項目", "x" * 100)] * 30)["contents"])
    assert 4 * 1024 < json_size(bubble) < MAX_BUBBLE_BYTES
    carousel = card(contents={"type": "carousel", "contents": [bubble] * 12})
    assert problems(carousel) == [
        ("messages[0].contents", f"The carousel is larger than {MAX_CAROUSEL_BYTES} bytes")]


def test_the_emulator_answers_an_invalid_flex_reply_with_400(emulator_server):
    response = requests.post(f"{emulator_server.url}/v2/bot/message/push", json={
        "to": "U" + "0" * 32, "messages": [card(altText="")]},
        headers={"Authorization": "Bearer test-access-token"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"message": "Length must be between 1 and 400", "property": "messages[0].altText"}]


def test_the_builders_keep_cards_inside_the_limits_and_the_sdk_carries_them_unchanged():
    from bot.gateway import to_sdk_messages

    long = flex.message("あ" * 500, flex.bubble("題", [flex.row("項目", "")], footer=[
        flex.button("とても長いボタンのラベルはLINEでは二十文字まで", FormTap("f", 1, "send"))]))
    assert len(long["altText"]) == flex.ALT_TEXT_LIMIT and long["altText"].endswith("…")
    [action] = flex.actions(long)
    assert len(action["label"]) == flex.LABEL_LIMIT
    assert flex.texts(long) == ["題", "項目", flex.EMPTY]  # an empty value shows a dash
    assert problems(long) == []
    assert to_sdk_messages([long])[0].to_dict() == long
    huge = flex.bubble("題", [flex.row("項目", "x" * 100)] * 400)
    assert flex.fits(card()["contents"]) and not flex.fits(huge)
