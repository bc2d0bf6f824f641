"""The emulator behaves like LINE: real HTTP, the real line-bot-sdk v3 on both sides."""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import threading
import time
import uuid

import pytest
import qrcode
import requests
from flask import Flask, request
from PIL import Image
from linebot.v3 import WebhookParser
from linebot.v3.messaging import (
    ApiClient, ApiException, Configuration, CreateRichMenuAliasRequest, MessagingApi,
    MessagingApiBlob, MulticastRequest, PushMessageRequest, ReplyMessageRequest,
    RichMenuBulkLinkRequest, RichMenuBulkUnlinkRequest, RichMenuRequest, TextMessage,
    UpdateRichMenuAliasRequest,
)
from linebot.v3.webhooks import (
    Event, FollowEvent, ImageMessageContent, LocationMessageContent, MessageEvent, PostbackEvent,
    TextMessageContent, UnfollowEvent,
)
from werkzeug.serving import make_server

from emulator import EmulatorClient, EmulatorError, EmulatorServer
from tests.conftest import POLL_SECONDS

SECRET = "test-channel-secret"
TOKEN = "test-access-token"
TIMEOUT = (2, 5)


class WebhookReceiver:
    """A tiny bot: verifies the signature, parses with the SDK, records what came."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.events: list = []
        self.parser = WebhookParser(SECRET)
        app = Flask("receiver")
        app.add_url_rule("/callback", "callback", self.callback, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"poll_interval": POLL_SECONDS})

    def callback(self) -> tuple[str, int]:
        raw = request.get_data()
        expected = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, request.headers.get("X-Line-Signature", "").encode()):
            return "bad signature", 400
        body = request.get_json()
        self.bodies.append(body)
        # Parse twice: the whole payload like a bot does, and each event on its own.
        self.events += self.parser.parse(raw.decode("utf-8"), request.headers["X-Line-Signature"])
        if any(type(Event.from_dict(e)) is Event for e in body["events"]):
            return "unparsed event", 500
        return "OK", 200


@pytest.fixture(scope="module")
def receiver():
    bot = WebhookReceiver()
    bot.thread.start()
    yield bot
    bot.server.shutdown()
    bot.server.server_close()


@pytest.fixture(scope="module")
def server(receiver):
    with EmulatorServer(SECRET, TOKEN, webhook_url=receiver.url) as emulator_server:
        yield emulator_server


@pytest.fixture
def emu(server, receiver):
    client = EmulatorClient(server.url)
    client.reset()
    receiver.bodies.clear()
    receiver.events.clear()
    yield client
    client.close()


@pytest.fixture
def api_client(server):
    with ApiClient(Configuration(host=server.url, access_token=TOKEN)) as client:
        yield client


@pytest.fixture
def line(api_client):
    return MessagingApi(api_client)


@pytest.fixture
def blob(api_client):
    return MessagingApiBlob(api_client)


def raw_post(server, path, body, token=TOKEN, headers=None):
    """Post JSON to the API without the SDK, which would refuse some bad bodies itself."""
    return requests.post(server.url + path, json=body, timeout=TIMEOUT,
                         headers={"Authorization": f"Bearer {token}", **(headers or {})})


def text(value="hi"):
    return {"type": "text", "text": value}


# Webhook events


def test_every_event_kind_parses_as_its_sdk_class(emu, receiver):
    user = emu.create_user(display_name="山田 花子")["userId"]
    results = [
        emu.send_text(user, "こんにちは"),
        emu.send_postback(user, "action=pick", {"date": "2025-04-01"}),
        emu.follow(user, unblocked=True),
        emu.unfollow(user),
        emu.send_location(user, 35.44, 137.01, address="美濃加茂市", title="Park"),
        emu.send_image(user, b"\xff\xd8fake-jpeg"),
    ]
    assert [r["status"] for r in results] == [200] * 6
    kinds = [(type(e), type(getattr(e, "message", None))) for e in receiver.events]
    assert kinds == [
        (MessageEvent, TextMessageContent), (PostbackEvent, type(None)),
        (FollowEvent, type(None)), (UnfollowEvent, type(None)),
        (MessageEvent, LocationMessageContent), (MessageEvent, ImageMessageContent),
    ]
    text_event, postback, follow = receiver.events[:3]
    assert text_event.message.text == "こんにちは" and text_event.message.quote_token
    assert postback.postback.params == {"date": "2025-04-01"}
    assert follow.follow.is_unblocked is True
    assert "replyToken" not in receiver.bodies[3]["events"][0]
    assert all(b["destination"].startswith("U") and len(b["destination"]) == 33 for b in receiver.bodies)


def test_send_result_reports_status_ids_and_tokens(emu, receiver):
    user = emu.create_user()["userId"]
    result = emu.send_text(user, "hello")
    event = receiver.bodies[0]["events"][0]
    assert result["status"] == 200 and result["body"] == "OK" and result["elapsedMs"] > 0
    assert result["webhookEventIds"] == [event["webhookEventId"]]
    assert len(event["webhookEventId"]) == 26
    assert result["replyTokens"] == [event["replyToken"]]
    assert event["deliveryContext"] == {"isRedelivery": False} and event["mode"] == "active"


def test_redelivery_keeps_id_and_reply_token(emu, receiver):
    user = emu.create_user()["userId"]
    first = emu.send_text(user, "once")
    again = emu.redeliver(first["webhookEventIds"][0])
    original, redelivered = (b["events"][0] for b in receiver.bodies)
    assert again["webhookEventIds"] == first["webhookEventIds"]
    assert redelivered["replyToken"] == original["replyToken"]
    assert redelivered["deliveryContext"] == {"isRedelivery": True}
    assert redelivered["message"] == original["message"]


def test_raw_events_are_sent_as_given(emu, receiver):
    assert emu.send_raw([])["status"] == 200
    assert receiver.bodies[-1]["events"] == []


def test_follow_and_unfollow_mark_the_user(emu):
    user = emu.create_user()["userId"]
    emu.unfollow(user)
    assert [u["blocked"] for u in emu.users()] == [True]
    emu.follow(user, unblocked=True)
    assert [u["blocked"] for u in emu.users()] == [False]


# Sending with the SDK


def test_push_and_reply_are_recorded(emu, line):
    user = emu.create_user()["userId"]
    pushed = line.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="お知らせ")]),
                               x_line_retry_key=str(uuid.uuid4()), _request_timeout=TIMEOUT)
    assert pushed.sent_messages[0].id and pushed.sent_messages[0].quote_token
    token = emu.send_text(user, "hi")["replyTokens"][0]
    line.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="はい")]),
                       _request_timeout=TIMEOUT)
    entries = emu.received(user)
    assert [(e["via"], e["message"]["text"]) for e in entries] == [("push", "お知らせ"), ("reply", "はい")]
    assert emu.received(user, since=1) == entries[1:]
    assert emu.texts(user) == ["お知らせ", "はい"]


def test_reply_token_works_once(emu, line):
    token = emu.send_text(emu.create_user()["userId"], "hi")["replyTokens"][0]
    request_body = ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="one")])
    line.reply_message(request_body, _request_timeout=TIMEOUT)
    with pytest.raises(ApiException) as caught:
        line.reply_message(request_body, _request_timeout=TIMEOUT)
    assert caught.value.status == 400 and "Invalid reply token" in caught.value.body


def test_reply_token_expires(receiver):
    with EmulatorServer(SECRET, TOKEN, receiver.url, reply_token_ttl=0.2) as short:
        client = EmulatorClient(short.url)
        token = client.send_text(client.create_user()["userId"], "hi")["replyTokens"][0]
        time.sleep(0.3)
        answer = raw_post(short, "/v2/bot/message/reply", {"replyToken": token, "messages": [text()]})
        client.close()
    assert answer.status_code == 400 and answer.json()["message"] == "Invalid reply token"


def test_multicast_records_each_recipient_and_counts_usage(emu, line):
    users = [emu.create_user()["userId"] for _ in range(3)]
    line.multicast(MulticastRequest(to=users, messages=[TextMessage(text="a"), TextMessage(text="b")]),
                   x_line_retry_key=str(uuid.uuid4()), _request_timeout=TIMEOUT)
    assert all(emu.texts(u) == ["a", "b"] for u in users)
    assert line.get_message_quota_consumption(_request_timeout=TIMEOUT).total_usage == 6
    assert line.get_message_quota(_request_timeout=TIMEOUT).value > 0


def test_broadcast_and_narrowcast_skip_users_who_blocked(emu, server):
    stays, leaves = emu.create_user()["userId"], emu.create_user()["userId"]
    emu.unfollow(leaves)
    assert raw_post(server, "/v2/bot/message/broadcast", {"messages": [text("all")]}).status_code == 200
    assert raw_post(server, "/v2/bot/message/narrowcast", {"messages": [text("some")]}).status_code == 202
    assert emu.texts(stays) == ["all", "some"] and emu.texts(leaves) == []


def test_bad_token_gets_401(server):
    with ApiClient(Configuration(host=server.url, access_token="wrong")) as client:
        with pytest.raises(ApiException) as caught:
            MessagingApi(client).get_message_quota(_request_timeout=TIMEOUT)
    assert caught.value.status == 401 and "message" in caught.value.body


# Limits


def quick_reply(n):
    item = {"type": "action", "action": {"type": "message", "label": "x", "text": "x"}}
    return {"items": [item] * n}


def postback_button(data):
    return {"type": "template", "altText": "alt", "template": {
        "type": "buttons", "text": "pick",
        "actions": [{"type": "postback", "label": "ok", "data": data}]}}


@pytest.mark.parametrize("path, body, prop", [
    ("push", {"messages": [text()] * 6}, "messages"),
    ("push", {"messages": []}, "messages"),
    ("push", {"messages": [dict(text(), quickReply=quick_reply(14))]}, "messages[0].quickReply.items"),
    ("push", {"messages": [postback_button("d" * 301)]}, "messages[0].template.actions[0].data"),
    ("push", {"messages": [text("あ" * 5001)]}, "messages[0].text"),
    ("push", {"messages": [text("")]}, "messages[0].text"),
    ("push", {"messages": [{"type": "hologram"}]}, "messages[0].type"),
    ("multicast", {"messages": [text()], "toMany": 501}, "to"),
])
def test_limits_give_400_with_details(emu, server, path, body, prop):
    user = emu.create_user()["userId"]
    body = dict(body)
    body["to"] = ["U" + uuid.uuid4().hex for _ in range(body.pop("toMany"))] if "toMany" in body else (
        [user] if path == "multicast" else user)
    answer = raw_post(server, f"/v2/bot/message/{path}", body)
    assert answer.status_code == 400
    assert prop in [d["property"] for d in answer.json()["details"]]
    assert emu.received(user) == []


def test_within_limits_is_accepted(emu, server):
    user = emu.create_user()["userId"]
    body = {"to": user, "messages": [dict(text("あ" * 5000), quickReply=quick_reply(13)),
                                     postback_button("d" * 300)] + [text()] * 3}
    assert raw_post(server, "/v2/bot/message/push", body).status_code == 200
    assert len(emu.received(user)) == 5


# Retry keys and faults


def test_retry_key_repeat_gets_409(emu, line):
    user = emu.create_user()["userId"]
    key = str(uuid.uuid4())
    body = PushMessageRequest(to=user, messages=[TextMessage(text="once")])
    first = line.push_message_with_http_info(body, x_line_retry_key=key, _request_timeout=TIMEOUT)
    with pytest.raises(ApiException) as caught:
        line.push_message(body, x_line_retry_key=key, _request_timeout=TIMEOUT)
    assert first.status_code == 200 and caught.value.status == 409
    assert caught.value.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert emu.texts(user) == ["once"]


# Fixed ids: pytest-xdist workers must collect the same names, and a fresh UUID differs in each.
@pytest.mark.parametrize("path, key", [("push", "not-a-uuid"), ("reply", str(uuid.uuid4()))],
                         ids=["push-not-a-uuid", "reply-a-uuid"])
def test_bad_or_misplaced_retry_key_gets_400(emu, server, path, key):
    user = emu.create_user()["userId"]
    body = {"to": user, "replyToken": emu.send_text(user, "x")["replyTokens"][0], "messages": [text()]}
    answer = raw_post(server, f"/v2/bot/message/{path}", body, headers={"X-Line-Retry-Key": key})
    assert answer.status_code == 400 and emu.received(user) == []


@pytest.mark.parametrize("status", [429, 500])
def test_fault_fails_then_recovers(emu, server, status):
    user = emu.create_user()["userId"]
    emu.add_fault("/v2/bot/message/push", status=status, count=1)
    key, body = str(uuid.uuid4()), {"to": user, "messages": [text("x")]}
    failed = raw_post(server, "/v2/bot/message/push", body, headers={"X-Line-Retry-Key": key})
    retried = raw_post(server, "/v2/bot/message/push", body, headers={"X-Line-Retry-Key": key})
    assert (failed.status_code, retried.status_code) == (status, 200)
    assert "Retry-After" not in failed.headers
    if status == 429:
        assert failed.json()["message"] == "The API rate limit has been exceeded. Try again later."
    assert emu.texts(user) == ["x"]
    assert [r["status"] for r in emu.requests("/v2/bot/message/push")] == [status, 200]


def test_fault_delay_only_slows(emu, line):
    user = emu.create_user()["userId"]
    emu.add_fault("/v2/bot/message/push", delay=0.3)
    started = time.perf_counter()
    line.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="slow")]),
                      _request_timeout=TIMEOUT)
    assert time.perf_counter() - started >= 0.3 and emu.texts(user) == ["slow"]


def test_fault_after_accept_delivers_and_retry_gets_409(emu, server):
    user = emu.create_user()["userId"]
    emu.add_fault("/v2/bot/message/multicast", status=500, after_accept=True)
    key, body = str(uuid.uuid4()), {"to": [user], "messages": [text("lost answer")]}
    first = raw_post(server, "/v2/bot/message/multicast", body, headers={"X-Line-Retry-Key": key})
    second = raw_post(server, "/v2/bot/message/multicast", body, headers={"X-Line-Retry-Key": key})
    assert (first.status_code, second.status_code) == (500, 409)
    assert emu.texts(user) == ["lost answer"]


def test_reset_clears_faults(emu, server):
    emu.add_fault("/v2/bot/message/push", status=500, count=5)
    emu.clear_faults()
    user = emu.create_user()["userId"]
    assert raw_post(server, "/v2/bot/message/push", {"to": user, "messages": [text()]}).status_code == 200


# Profile, content, rich menus


def test_profile(emu, line):
    user = emu.create_user(display_name="Ana", language="en")["userId"]
    profile = line.get_profile(user, _request_timeout=TIMEOUT)
    assert (profile.user_id, profile.display_name, profile.language) == (user, "Ana", "en")
    with pytest.raises(ApiException) as caught:
        line.get_profile("U" + "0" * 32, _request_timeout=TIMEOUT)
    assert caught.value.status == 404


def test_image_content_round_trip(emu, receiver, blob):
    png = qr_png("photo")
    emu.send_image(emu.create_user()["userId"], png, "image/png")
    message_id = receiver.events[0].message.id
    assert bytes(blob.get_message_content(message_id, _request_timeout=TIMEOUT)) == png
    with pytest.raises(ApiException):
        blob.get_message_content("1", _request_timeout=TIMEOUT)


RICH_MENU = {
    "size": {"width": 2500, "height": 843}, "selected": True, "name": "main",
    "chatBarText": "メニュー",
    "areas": [{"bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
               "action": {"type": "postback", "data": "menu=register"}}],
}


def menu_png(width=2500, height=843, fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "#2E7D6B").save(out, format=fmt)
    return out.getvalue()


def make_menu(line, blob, menu=RICH_MENU, image=True) -> str:
    """Create a rich menu through the SDK, with its image unless told not to."""
    menu_id = line.create_rich_menu(RichMenuRequest.from_dict(menu), _request_timeout=TIMEOUT).rich_menu_id
    if image:
        blob.set_rich_menu_image(menu_id, menu_png(menu["size"]["width"], menu["size"]["height"]),
                                 _headers={"Content-Type": "image/png"}, _request_timeout=TIMEOUT)
    return menu_id


def test_rich_menu_lifecycle(emu, line, blob):
    menu_id = make_menu(line, blob, image=False)
    with pytest.raises(ApiException):  # LINE refuses a default menu without an image
        line.set_default_rich_menu(menu_id, _request_timeout=TIMEOUT)
    blob.set_rich_menu_image(menu_id, menu_png(), _headers={"Content-Type": "image/png"},
                             _request_timeout=TIMEOUT)
    line.set_default_rich_menu(menu_id, _request_timeout=TIMEOUT)
    assert line.get_default_rich_menu_id(_request_timeout=TIMEOUT).rich_menu_id == menu_id
    listed = line.get_rich_menu_list(_request_timeout=TIMEOUT).richmenus
    assert [m.chat_bar_text for m in listed] == ["メニュー"]
    assert bytes(blob.get_rich_menu_image(menu_id, _request_timeout=TIMEOUT)) == menu_png()
    line.delete_rich_menu(menu_id, _request_timeout=TIMEOUT)
    assert line.get_rich_menu_list(_request_timeout=TIMEOUT).richmenus == []


def area(x=0, y=0, width=1250, height=843, action=None):
    return {"bounds": {"x": x, "y": y, "width": width, "height": height},
            "action": action or {"type": "postback", "data": "menu=register"}}


@pytest.mark.parametrize("change, prop", [
    ({"size": {"width": 2500, "height": 2000}}, "size"),  # narrower than 1.45:1
    ({"size": {"width": 700, "height": 250}}, "size.width"),
    ({"size": {"width": 2500, "height": 200}}, "size.height"),
    ({"chatBarText": "x" * 15}, "chatBarText"),
    ({"name": ""}, "name"),
    ({"areas": [area()] * 21}, "areas"),
    ({"areas": [area(x=1300)]}, "areas[0].bounds.width"),
    ({"areas": [area(y=1, height=843)]}, "areas[0].bounds.height"),
    ({"areas": [area(width=0)]}, "areas[0].bounds.width"),
    ({"areas": [area(x=-1)]}, "areas[0].bounds.x"),
    ({"areas": [area(action={"type": "camera", "label": "Camera"})]}, "areas[0].action.type"),
    ({"areas": [area(action={"type": "richmenuswitch", "richMenuAliasId": "Tab A",
                             "data": "tab=a"})]}, "areas[0].action.richMenuAliasId"),
    ({"areas": [area(action={"type": "postback", "data": "x" * 301})]}, "areas[0].action.data"),
])
def test_rich_menu_shape_is_checked(server, change, prop):
    answer = raw_post(server, "/v2/bot/richmenu", dict(RICH_MENU, **change))
    assert answer.status_code == 400
    assert prop in [d["property"] for d in answer.json()["details"]]
    assert raw_post(server, "/v2/bot/richmenu/validate", dict(RICH_MENU, **change)).status_code == 400


@pytest.mark.parametrize("width, height", [(2500, 1686), (2500, 843), (1200, 810), (800, 250)])
def test_rich_menu_sizes_line_accepts(server, width, height):
    menu = dict(RICH_MENU, size={"width": width, "height": height},
                areas=[area(width=width, height=height)])
    assert raw_post(server, "/v2/bot/richmenu/validate", menu).status_code == 200


def test_richmenuswitch_is_refused_outside_rich_menus(emu, server):
    user = emu.create_user()["userId"]
    switch = {"type": "richmenuswitch", "label": "Tab", "richMenuAliasId": "tab-b", "data": "t"}
    message = dict(text("hi"), quickReply={"items": [{"type": "action", "action": switch}]})
    answer = raw_post(server, "/v2/bot/message/push", {"to": user, "messages": [message]})
    assert answer.status_code == 400
    assert answer.json()["details"][0]["property"] == "messages[0].quickReply.items[0].action.type"


def upload(server, menu_id, image, content_type="image/png"):
    return requests.post(f"{server.url}/v2/bot/richmenu/{menu_id}/content", data=image,
                         timeout=TIMEOUT, headers={"Authorization": f"Bearer {TOKEN}",
                                                   "Content-Type": content_type})


@pytest.mark.parametrize("image, content_type, says", [
    (menu_png(2500, 1686), "image/png", "2500x1686"),
    (b"not an image", "image/png", "cannot be read"),
    (menu_png(fmt="JPEG"), "image/png", "JPEG"),
    (menu_png(), "image/gif", "Unsupported"),
])
def test_rich_menu_image_must_fit_the_menu(emu, line, blob, server, image, content_type, says):
    menu_id = make_menu(line, blob, image=False)
    answer = upload(server, menu_id, image, content_type)
    assert answer.status_code in (400, 415) and says in answer.json()["message"]
    assert upload(server, menu_id, menu_png(fmt="JPEG"), "image/jpeg").status_code == 200
    assert upload(server, menu_id, menu_png()).status_code == 400  # once only, as LINE


def test_a_linked_menu_wins_over_the_default_until_unlinked(emu, line, blob):
    user = emu.create_user()["userId"]
    default = make_menu(line, blob)
    mine = make_menu(line, blob, dict(RICH_MENU, name="mine", chatBarText="私の"))
    line.set_default_rich_menu(default, _request_timeout=TIMEOUT)
    with pytest.raises(ApiException) as caught:  # the default is not a link
        line.get_rich_menu_id_of_user(user, _request_timeout=TIMEOUT)
    assert caught.value.status == 404
    assert emu.shown_rich_menu(user)["richMenuId"] == default
    line.link_rich_menu_id_to_user(user, mine, _request_timeout=TIMEOUT)
    assert line.get_rich_menu_id_of_user(user, _request_timeout=TIMEOUT).rich_menu_id == mine
    shown = emu.shown_rich_menu(user)
    assert (shown["richMenuId"], shown["chatBarText"]) == (mine, "私の")
    line.unlink_rich_menu_id_from_user(user, _request_timeout=TIMEOUT)
    assert emu.shown_rich_menu(user)["richMenuId"] == default
    line.cancel_default_rich_menu(_request_timeout=TIMEOUT)
    assert emu.shown_rich_menu(user) is None


def test_linking_checks_the_user_and_the_menu(emu, line, blob, server):
    user = emu.create_user()["userId"]
    no_image = make_menu(line, blob, image=False)
    cases = [(f"/v2/bot/user/{user}/richmenu/richmenu-{'0' * 32}", 404),
             (f"/v2/bot/user/{user}/richmenu/{no_image}", 400),
             (f"/v2/bot/user/not-a-user/richmenu/{make_menu(line, blob)}", 400)]
    for path, status in cases:
        assert raw_post(server, path, None).status_code == status, path


def test_bulk_link_and_unlink(emu, line, blob):
    users = [emu.create_user()["userId"] for _ in range(3)]
    menu_id = make_menu(line, blob)
    line.link_rich_menu_id_to_users(RichMenuBulkLinkRequest(rich_menu_id=menu_id, user_ids=users),
                                    _request_timeout=TIMEOUT)
    assert {emu.shown_rich_menu(u)["richMenuId"] for u in users} == {menu_id}
    line.unlink_rich_menu_id_from_users(RichMenuBulkUnlinkRequest(user_ids=users[:2]),
                                        _request_timeout=TIMEOUT)
    assert [emu.shown_rich_menu(u) is None for u in users] == [True, True, False]


def test_rich_menu_alias_lifecycle(emu, line, blob):
    tab_a, tab_b = make_menu(line, blob), make_menu(line, blob, dict(RICH_MENU, name="b"))
    line.create_rich_menu_alias(CreateRichMenuAliasRequest(rich_menu_alias_id="tab-a",
                                                           rich_menu_id=tab_a), _request_timeout=TIMEOUT)
    alias = line.get_rich_menu_alias("tab-a", _request_timeout=TIMEOUT)
    assert (alias.rich_menu_alias_id, alias.rich_menu_id) == ("tab-a", tab_a)
    line.update_rich_menu_alias("tab-a", UpdateRichMenuAliasRequest(rich_menu_id=tab_b),
                                _request_timeout=TIMEOUT)
    listed = line.get_rich_menu_alias_list(_request_timeout=TIMEOUT).aliases
    assert [(a.rich_menu_alias_id, a.rich_menu_id) for a in listed] == [("tab-a", tab_b)]
    line.delete_rich_menu_alias("tab-a", _request_timeout=TIMEOUT)
    with pytest.raises(ApiException) as caught:
        line.get_rich_menu_alias("tab-a", _request_timeout=TIMEOUT)
    assert caught.value.status == 404


def test_rich_menu_alias_errors(emu, line, blob, server):
    menu_id, no_image = make_menu(line, blob), make_menu(line, blob, image=False)
    assert raw_post(server, "/v2/bot/richmenu/alias",
                    {"richMenuAliasId": "tab-a", "richMenuId": menu_id}).status_code == 200
    cases = [({"richMenuAliasId": "Tab A", "richMenuId": menu_id}, "richMenuAliasId"),
             ({"richMenuAliasId": "x" * 33, "richMenuId": menu_id}, "richMenuAliasId"),
             ({"richMenuAliasId": "tab-a", "richMenuId": menu_id}, "conflict"),
             ({"richMenuAliasId": "tab-b", "richMenuId": "richmenu-" + "0" * 32}, "not found"),
             ({"richMenuAliasId": "tab-b", "richMenuId": no_image}, "image")]
    for body, says in cases:
        answer = raw_post(server, "/v2/bot/richmenu/alias", body)
        assert answer.status_code == 400 and says in answer.text, body
    assert raw_post(server, "/v2/bot/richmenu/alias/nope", {"richMenuId": menu_id}).status_code == 404
    assert raw_post(server, "/v2/bot/richmenu/alias/tab-a", {"richMenuId": no_image}).status_code == 400
    gone = requests.delete(server.url + "/v2/bot/richmenu/alias/nope", timeout=TIMEOUT,
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert gone.status_code == 404


def switch_area(alias_id, data):
    return area(x=1250, action={"type": "richmenuswitch", "richMenuAliasId": alias_id, "data": data})


def test_a_switch_tap_shows_the_aliased_menu_and_posts_back(emu, line, blob, receiver):
    user = emu.create_user()["userId"]
    tab_a = make_menu(line, blob, dict(RICH_MENU, areas=[switch_area("tab-b", "tab=b")]))
    tab_b = make_menu(line, blob, dict(RICH_MENU, name="b", areas=[switch_area("tab-a", "tab=a")]))
    for alias_id, menu_id in (("tab-a", tab_a), ("tab-b", tab_b)):
        line.create_rich_menu_alias(CreateRichMenuAliasRequest(rich_menu_alias_id=alias_id,
                                                               rich_menu_id=menu_id),
                                    _request_timeout=TIMEOUT)
    line.set_default_rich_menu(tab_a, _request_timeout=TIMEOUT)
    emu.tap_rich_menu_switch(user, "tab-b", "tab=b")
    assert emu.shown_rich_menu(user)["richMenuId"] == tab_b
    event = receiver.events[-1]
    assert isinstance(event, PostbackEvent) and event.postback.data == "tab=b"
    assert event.postback.params == {"newRichMenuAliasId": "tab-b", "status": "SUCCESS"}
    assert emu.shown_rich_menu(emu.create_user()["userId"])["richMenuId"] == tab_a  # only this user
    emu.tap_rich_menu_switch(user, "no-such-tab", "tab=x")
    assert receiver.events[-1].postback.params["status"] == "RICHMENU_ALIAS_ID_NOTFOUND"
    line.delete_rich_menu(tab_a, _request_timeout=TIMEOUT)
    emu.tap_rich_menu_switch(user, "tab-a", "tab=a")
    assert receiver.events[-1].postback.params["status"] == "RICHMENU_NOTFOUND"
    assert emu.shown_rich_menu(user)["richMenuId"] == tab_b


def test_linking_after_a_switch_shows_the_linked_menu(emu, line, blob):
    user = emu.create_user()["userId"]
    tab_a, tab_b = make_menu(line, blob), make_menu(line, blob, dict(RICH_MENU, name="b"))
    line.create_rich_menu_alias(CreateRichMenuAliasRequest(rich_menu_alias_id="tab-b",
                                                           rich_menu_id=tab_b), _request_timeout=TIMEOUT)
    line.set_default_rich_menu(tab_a, _request_timeout=TIMEOUT)
    emu.tap_rich_menu_switch(user, "tab-b", "tab=b")
    line.link_rich_menu_id_to_user(user, tab_a, _request_timeout=TIMEOUT)
    assert emu.shown_rich_menu(user)["richMenuId"] == tab_a


def test_chat_page_gets_the_shown_menu_image_without_a_token(emu, line, blob, server):
    user = emu.create_user()["userId"]
    line.set_default_rich_menu(make_menu(line, blob), _request_timeout=TIMEOUT)
    image = requests.get(server.url + emu.shown_rich_menu(user)["imageUrl"], timeout=TIMEOUT)
    assert image.status_code == 200 and image.content == menu_png()


# The conversation the chat page shows, and the scan menu


def test_conversation_keeps_both_sides_in_order(emu, line, receiver):
    user = emu.create_user()["userId"]
    emu.send_text(user, "こんにちは")
    line.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="ようこそ")]),
                      _request_timeout=TIMEOUT)
    emu.send_postback(user, "action=menu&item=register", display_text="登録")
    emu.send_postback(user, "silent=1")  # no displayText: nothing shows on the user's side
    emu.send_location(user, 35.44, 137.01, address="美濃加茂市")
    emu.send_image(user, qr_png("photo"), "image/png")
    entries = emu.conversation(user)
    shown = [(e["side"], e["message"]["type"], e["message"].get("text")) for e in entries]
    assert shown == [("user", "text", "こんにちは"), ("bot", "text", "ようこそ"),
                     ("user", "text", "登録"), ("user", "location", None), ("user", "image", None)]
    assert emu.conversation(user, since=4) == entries[4:]
    assert requests.get(emu.base_url + entries[-1]["message"]["contentUrl"],
                        timeout=TIMEOUT).content == qr_png("photo")


def test_webhook_log_lists_what_was_posted(emu, receiver):
    first, second = emu.create_user()["userId"], emu.create_user()["userId"]
    emu.send_text(first, "a")
    emu.send_postback(second, "b=1")
    assert [e["type"] for e in emu.webhook_events()] == ["message", "postback"]
    assert [e["postback"]["data"] for e in emu.webhook_events(second)] == ["b=1"]


def test_scan_targets_are_stored_and_checked(emu):
    targets = [{"label": "中央センター ポスター", "text": "https://line.me/R/oaMessage/@cityhall/?x"},
               {"label": "Kiosk", "text": "checkin:MINO-1"}]
    assert emu.set_scan_targets(targets) == targets
    assert emu.scan_targets() == targets
    for bad in ([{"label": "", "text": "x"}], [{"label": "x"}], {"targets": "x"}, ["x"]):
        with pytest.raises(EmulatorError) as caught:
            emu.set_scan_targets(bad)
        assert caught.value.status == 400
    assert emu.scan_targets() == targets


@pytest.mark.parametrize("content, sent_text", [
    ("https://line.me/R/oaMessage/%40cityhall/?checkin%3AMINO-1", "checkin:MINO-1"),
    ("checkin:MINO-1 受付", "checkin:MINO-1 受付"),
    ("https://example.org/poster", None),
])
def test_scanning_by_content_sends_its_text(emu, receiver, content, sent_text):
    user = emu.create_user()["userId"]
    result = emu.scan_text(user, content)
    assert result["sent"] is (sent_text is not None) and result["decoded"] == content
    assert [e.message.text for e in receiver.events] == ([sent_text] if sent_text else [])
    if sent_text:
        assert emu.conversation(user)[0]["message"] == {"type": "text", "text": sent_text}


# Control API odds and ends


def test_texts_show_alt_text_of_templates_and_flex(emu, server):
    user = emu.create_user()["userId"]
    flex = {"type": "flex", "altText": "flex alt", "contents": {"type": "bubble", "body": {
        "type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "hi"}]}}}
    raw_post(server, "/v2/bot/message/push", {"to": user, "messages": [postback_button("d"), flex]})
    assert emu.texts(user) == ["alt", "flex alt"]


def test_control_api_refuses_bad_input(emu):
    with pytest.raises(EmulatorError) as caught:
        emu.create_user(user_id="not-a-line-id")
    assert caught.value.status == 400


def qr_png(content: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(content).save(out, format="PNG")
    return out.getvalue()


def test_scanning_an_oa_message_qr_sends_its_text(emu, receiver):
    user = emu.create_user()["userId"]
    url = "https://line.me/R/oaMessage/%40cityhall/?" + requests.utils.quote("checkin:MINO-1 受付")
    result = emu.scan(user, qr_png(url))
    assert result["sent"] and result["text"] == "checkin:MINO-1 受付" and result["basicId"] == "@cityhall"
    assert receiver.events[0].message.text == "checkin:MINO-1 受付"


def test_scanning_another_qr_only_shows_it(emu, receiver):
    result = emu.scan(emu.create_user()["userId"], qr_png("https://example.org/"))
    assert result == {"decoded": "https://example.org/", "sent": False} and receiver.events == []


def test_chat_page_and_its_script_are_served(server):
    page = requests.get(server.url + "/chat", timeout=TIMEOUT)
    script = requests.get(server.url + "/_emulator/static/chat.js", timeout=TIMEOUT)
    assert page.status_code == 200 and "chat.js" in page.text and "<script>" not in page.text
    assert script.status_code == 200
