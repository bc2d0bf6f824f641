"""The chat page as the LINE app: rich menu and switch tabs, scan menu, scrolling, reloads.

A tiny bot stands in for the app, so these tests pin down the emulator's page alone: what the
bot receives is read from the emulator's webhook log.
"""

from __future__ import annotations

import io
import re
import threading

import pytest
import requests
from flask import Flask, request
from linebot.v3.messaging import (
    ApiClient, Configuration, CreateRichMenuAliasRequest, MessagingApi, MessagingApiBlob,
    RichMenuRequest,
)
from PIL import Image
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.browser import chromium_page, marks, screenshot
from tests.conftest import ACCESS_TOKEN, POLL_SECONDS

pytestmark = marks
TIMEOUT = (2, 5)
WIDTH, HEIGHT = 2500, 1686
MENU_ITEMS = [("register", "登録"), ("checkin", "チェックイン"), ("apply", "申し込み"),
              ("events", "イベント"), ("report", "通報"), ("mydata", "マイデータ")]


class TinyBot:
    """Answers every text and postback by reply, with a quick reply, as a bot would."""

    def __init__(self, emulator_url: str) -> None:
        self.emulator_url = emulator_url
        app = Flask("tiny-bot")
        app.add_url_rule("/callback", "callback", self.callback, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"poll_interval": POLL_SECONDS})

    def callback(self) -> str:
        for event in request.get_json()["events"]:
            answer = self.answer(event)
            if answer and event.get("replyToken"):
                self.reply(event["replyToken"], answer)
        return "OK"

    @staticmethod
    def answer(event: dict) -> str | None:
        if event["type"] == "message" and event["message"]["type"] == "text":
            return f"受け付けました: {event['message']['text']}"
        if event["type"] == "postback":
            return f"postback: {event['postback']['data']}"
        return None

    def reply(self, token: str, text: str) -> None:
        quick = {"items": [{"type": "action", "action": {"type": "message", "label": "はい",
                                                          "text": "はい"}}]}
        requests.post(f"{self.emulator_url}/v2/bot/message/reply", timeout=TIMEOUT,
                      headers={"Authorization": f"Bearer {ACCESS_TOKEN}"},
                      json={"replyToken": token,
                            "messages": [{"type": "text", "text": text, "quickReply": quick}]})


@pytest.fixture
def bot(emulator_server, line):
    tiny = TinyBot(emulator_server.url)
    tiny.thread.start()
    line.set_webhook(tiny.url)
    yield tiny
    tiny.server.shutdown()


@pytest.fixture
def sdk(emulator_server):
    """The Messaging API and blob clients, as `cityhall richmenu` uses them."""
    with ApiClient(Configuration(host=emulator_server.url, access_token=ACCESS_TOKEN)) as client:
        yield MessagingApi(client), MessagingApiBlob(client)


@pytest.fixture
def user(line, bot):
    return line.create_user(display_name="山田花子")["userId"]


@pytest.fixture
def chat(emulator_server, user):
    with chromium_page(emulator_server.url, viewport=(420, 860)) as page:
        yield page


def grid_area(index: int, action: dict) -> dict:
    column, row = index % 3, index // 3
    left, right = WIDTH * column // 3, WIDTH * (column + 1) // 3
    top, bottom = HEIGHT * row // 2, HEIGHT * (row + 1) // 2
    return {"bounds": {"x": left, "y": top, "width": right - left, "height": bottom - top},
            "action": action}


def menu_png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (WIDTH, HEIGHT), colour).save(out, format="PNG")
    return out.getvalue()


def install_menu(sdk, name: str, actions: list[dict], colour: str = "#2E7D6B") -> str:
    """Create a menu of up to six areas with its image, through the SDK."""
    api, blob = sdk
    menu = {"size": {"width": WIDTH, "height": HEIGHT}, "selected": True, "name": name,
            "chatBarText": "メニュー", "areas": [grid_area(i, a) for i, a in enumerate(actions)]}
    menu_id = api.create_rich_menu(RichMenuRequest.from_dict(menu), _request_timeout=TIMEOUT).rich_menu_id
    blob.set_rich_menu_image(menu_id, menu_png(colour), _headers={"Content-Type": "image/png"},
                             _request_timeout=TIMEOUT)
    return menu_id


def main_menu_actions() -> list[dict]:
    actions = [{"type": "postback", "label": ja, "displayText": ja,
                "data": f"action=menu&item={key}"} for key, ja in MENU_ITEMS[:5]]
    # No label: the area is named by the text it sends.
    return actions + [{"type": "message", "text": "マイデータ"}]


def open_chat(page) -> None:
    page.goto("/chat")
    expect(page.locator("#user-select")).to_have_value(re.compile("^U"))


def test_the_rich_menu_shows_under_the_input_and_a_tap_posts_back(chat, sdk, line, user, request):
    page = chat
    menu_id = install_menu(sdk, "main", main_menu_actions())
    sdk[0].set_default_rich_menu(menu_id, _request_timeout=TIMEOUT)
    open_chat(page)
    register = page.get_by_role("button", name="登録", exact=True)
    expect(register).to_be_visible()
    bar = page.get_by_role("button", name="メニュー ▼")
    expect(bar).to_have_attribute("aria-expanded", "true")
    # The area sits on the image where its bounds say: the top-left sixth.
    image = page.locator("#rich-menu-image").bounding_box()
    box = register.bounding_box()
    assert box["x"] == pytest.approx(image["x"], abs=1) and box["y"] == pytest.approx(image["y"], abs=1)
    assert box["width"] == pytest.approx(image["width"] / 3, abs=2)
    assert box["height"] == pytest.approx(image["height"] / 2, abs=2)
    # The menu is under the input.
    assert image["y"] >= page.get_by_role("textbox", name="Message").bounding_box()["y"]
    screenshot(page, "chat-menu-01-open", request)

    register.click()
    page.locator(".row.user .bubble", has_text="登録").wait_for()
    page.locator(".row.bot .bubble", has_text="postback: action=menu&item=register").wait_for()
    posted = [e for e in line.webhook_events(user) if e["type"] == "postback"]
    assert [e["postback"]["data"] for e in posted] == ["action=menu&item=register"]

    # Keyboard only: reach an area, send its text; close and reopen the menu from the bar.
    page.get_by_role("button", name="マイデータ").focus()
    page.keyboard.press("Enter")
    page.locator(".row.bot .bubble", has_text="受け付けました: マイデータ").wait_for()
    bar.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="メニュー ▲")).to_have_attribute("aria-expanded", "false")
    expect(register).to_be_hidden()
    page.keyboard.press("Space")
    expect(register).to_be_visible()
    assert page.console_errors == []


def test_a_switch_area_shows_the_aliased_menu_for_this_user(chat, sdk, line, user, request):
    page = chat
    api = sdk[0]
    tab_a = install_menu(sdk, "tab-a", main_menu_actions()[:5] + [
        {"type": "richmenuswitch", "label": "次のページ", "richMenuAliasId": "tab-b", "data": "tab=b"}])
    tab_b = install_menu(sdk, "tab-b", [
        {"type": "postback", "label": "お知らせ", "data": "action=menu&item=notices"},
        {"type": "richmenuswitch", "label": "前のページ", "richMenuAliasId": "tab-a", "data": "tab=a"}],
        colour="#3A6EA5")
    for alias_id, menu_id in (("tab-a", tab_a), ("tab-b", tab_b)):
        api.create_rich_menu_alias(CreateRichMenuAliasRequest(rich_menu_alias_id=alias_id,
                                                              rich_menu_id=menu_id),
                                   _request_timeout=TIMEOUT)
    api.set_default_rich_menu(tab_a, _request_timeout=TIMEOUT)
    open_chat(page)
    page.get_by_role("button", name="次のページ").click()
    expect(page.get_by_role("button", name="お知らせ")).to_be_visible()
    expect(page.get_by_role("button", name="登録", exact=True)).to_have_count(0)
    switch = [e["postback"] for e in line.webhook_events(user) if e["type"] == "postback"]
    assert switch == [{"data": "tab=b", "params": {"newRichMenuAliasId": "tab-b", "status": "SUCCESS"}}]
    assert page.locator(".row.user").count() == 0  # a switch shows nothing as the user's message
    screenshot(page, "chat-menu-02-switched", request)
    page.reload()
    expect(page.get_by_role("button", name="お知らせ")).to_be_visible()
    page.get_by_role("button", name="前のページ").click()
    expect(page.get_by_role("button", name="登録", exact=True)).to_be_visible()
    assert page.console_errors == []


def test_reload_keeps_the_conversation_of_both_sides(chat, user, request):
    page = chat
    open_chat(page)
    page.get_by_role("textbox", name="Message").fill("こんにちは")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator(".row.bot .bubble", has_text="受け付けました: こんにちは").wait_for()
    page.get_by_role("group", name="Quick replies").get_by_role("button", name="はい").click()
    page.locator(".row.bot .bubble", has_text="受け付けました: はい").wait_for()
    before = page.locator(".row").all_inner_texts()
    page.reload()
    page.locator(".row.bot .bubble", has_text="受け付けました: はい").wait_for()
    rows = page.locator(".row")
    assert [re.sub(r"\n.*", "", t) for t in rows.all_inner_texts()] == [
        "こんにちは", "受け付けました: こんにちは", "はい", "受け付けました: はい"]
    assert len(before) == rows.count()
    assert page.locator(".row.user .bubble").all_inner_texts() == ["こんにちは", "はい"]
    expect(page.get_by_role("group", name="Quick replies").get_by_role("button", name="はい")).to_be_visible()
    screenshot(page, "chat-menu-03-reloaded", request)


def test_scan_menu_sends_the_code_text_as_the_user(chat, line, user, request):
    page = chat
    line.set_scan_targets([
        {"label": "中央センター ポスター",
         "text": "https://line.me/R/oaMessage/%40cityhall/?checkin%3AMINO-1"},
        {"label": "東センター キオスク", "text": "checkin:MINO-2 kiosk"}])
    open_chat(page)
    page.locator("summary", has_text=re.compile("^Scan$")).click()
    targets = page.get_by_role("list", name="Scan a code with one click")
    expect(targets.get_by_role("button")).to_have_count(2)
    screenshot(page, "chat-menu-04-scan-menu", request)
    targets.get_by_role("button", name="中央センター ポスター").click()
    page.locator(".row.user .bubble", has_text="checkin:MINO-1").wait_for()
    page.locator(".row.bot .bubble", has_text="受け付けました: checkin:MINO-1").wait_for()
    texts = [e["message"]["text"] for e in line.webhook_events(user) if e["type"] == "message"]
    assert texts == ["checkin:MINO-1"]
    expect(targets).to_be_hidden()  # the menu closes after a scan
    page.locator("summary", has_text=re.compile("^Scan$")).click()
    page.keyboard.press("Tab")
    expect(targets.get_by_role("button").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(targets).to_be_hidden()
    expect(page.locator("summary", has_text=re.compile("^Scan$"))).to_be_focused()
    assert page.console_errors == []


def test_the_newest_message_and_quick_replies_stay_in_view(chat, sdk, line, user, request):
    page = chat
    api = sdk[0]
    api.set_default_rich_menu(install_menu(sdk, "main", main_menu_actions()), _request_timeout=TIMEOUT)
    for n in range(20):
        requests.post(f"{line.base_url}/v2/bot/message/push", timeout=TIMEOUT,
                      headers={"Authorization": f"Bearer {ACCESS_TOKEN}"},
                      json={"to": user, "messages": [{"type": "text", "text": f"お知らせ {n}\n" * 3}]})
    open_chat(page)
    expect(page.locator(".row.bot .bubble", has_text="お知らせ 19")).to_be_in_viewport()
    for word in ("一", "二", "三"):
        page.get_by_role("textbox", name="Message").fill(word)
        page.keyboard.press("Enter")
        answer = page.locator(".row.bot .bubble", has_text=f"受け付けました: {word}")
        expect(answer).to_be_in_viewport()
    expect(page.get_by_role("group", name="Quick replies").get_by_role("button", name="はい")).to_be_in_viewport()
    expect(page.get_by_role("button", name="登録", exact=True)).to_be_in_viewport()
    at_bottom = page.locator("#transcript").evaluate(
        "t => t.scrollHeight - t.scrollTop - t.clientHeight < 2")
    assert at_bottom
    screenshot(page, "chat-menu-05-scrolled", request)


def test_every_control_has_a_name(chat, sdk, line):
    page = chat
    sdk[0].set_default_rich_menu(install_menu(sdk, "main", main_menu_actions()), _request_timeout=TIMEOUT)
    line.set_scan_targets([{"label": "中央センター ポスター", "text": "checkin:MINO-1"}])
    open_chat(page)
    page.locator("summary", has_text=re.compile("^Scan$")).click()
    page.get_by_role("button", name="中央センター ポスター").wait_for()
    unnamed = page.evaluate("""() => [...document.querySelectorAll('button, input, select, summary')]
        .filter(node => node.offsetParent !== null)
        .filter(node => !(node.getAttribute('aria-label') || node.labels?.length
                          || node.textContent.trim() || node.getAttribute('aria-labelledby')))
        .map(node => node.outerHTML)""")
    assert unnamed == []
    snapshot = page.locator("body").aria_snapshot()
    assert not re.search(r'- button\s*(\[|$)', snapshot, re.M), snapshot
    for name in ("登録", "チェックイン", "申し込み", "イベント", "通報", "マイデータ"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(1)
    expect(page.get_by_role("group", name="メニュー")).to_be_visible()
    expect(page.get_by_role("region", name="Rich menu")).to_be_visible()


def test_each_user_sees_their_linked_menu_else_the_default(chat, sdk, line, user):
    page = chat
    api = sdk[0]
    other = line.create_user(display_name="東さん")["userId"]
    mine = install_menu(sdk, "mine", [{"type": "postback", "label": "専用", "data": "mine=1"}],
                        colour="#C0504D")
    api.link_rich_menu_id_to_user(other, mine, _request_timeout=TIMEOUT)
    open_chat(page)
    region = page.get_by_role("region", name="Rich menu")
    expect(page.locator("#user-select")).to_have_value(user)
    expect(region).to_be_hidden()  # no default, nothing linked to this user
    page.select_option("#user-select", other)
    expect(page.get_by_role("button", name="専用")).to_be_visible()
    page.select_option("#user-select", user)
    expect(region).to_be_hidden()
    api.set_default_rich_menu(install_menu(sdk, "main", main_menu_actions()), _request_timeout=TIMEOUT)
    expect(page.get_by_role("button", name="登録", exact=True)).to_be_visible()  # polled, no reload
    page.select_option("#user-select", other)
    expect(page.get_by_role("button", name="専用")).to_be_visible()  # the link wins
    api.unlink_rich_menu_id_from_user(other, _request_timeout=TIMEOUT)
    expect(page.get_by_role("button", name="登録", exact=True)).to_be_visible()
    assert page.console_errors == []
