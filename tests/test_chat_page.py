"""The emulator's chat page in a real browser, talking to the app through the emulator."""

from __future__ import annotations

import io

import pytest
import qrcode

from tests.browser import chromium_page, marks, screenshot

pytestmark = marks


@pytest.fixture
def chat(live_app, emulator_server):
    with chromium_page(emulator_server.url, viewport=(420, 860)) as page:
        page.goto("/chat")
        yield page


def test_resident_follows_and_switches_language_in_the_chat_page(chat, line, request):
    page = chat
    page.locator("summary", has_text="New user").click()
    page.fill("input[name=displayName]", "山田花子")
    page.locator("#new-user-form button[type=submit]").click()
    page.locator(".bubble", has_text="山田花子さん、スマホ市役所へようこそ！").wait_for()
    screenshot(page, "chat-01-greeting", request)
    page.locator("#quick-replies button", has_text="English").click()
    page.locator(".bubble", has_text="I will talk to you in English from now on.").wait_for()
    page.fill("#text", "言語")
    page.locator("#composer button[type=submit]").click()
    page.locator("#quick-replies button", has_text="日本語").wait_for()
    screenshot(page, "chat-02-english", request)
    assert page.console_errors == []


def test_scanning_a_qr_image_sends_its_text_as_the_user(chat, line, tmp_path, request):
    page = chat
    page.locator("summary", has_text="New user").click()
    page.fill("input[name=displayName]", "Scanner")
    page.uncheck("input[name=follow]")
    page.locator("#new-user-form button[type=submit]").click()
    page.locator("#user-select option", has_text="Scanner").wait_for(state="attached")
    image = qrcode.make("https://line.me/R/oaMessage/@cityhall/?%E8%A8%80%E8%AA%9E")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path = tmp_path / "qr.png"
    path.write_bytes(buffer.getvalue())
    page.locator("summary", has_text="Scan QR").click()
    page.set_input_files("#scan-file", str(path))
    page.locator("#scan-form button[type=submit]").click()
    # The decoded text "言語" went to the bot as the user's message; the bot answers it.
    page.locator(".row.user .bubble", has_text="言語").wait_for()
    page.locator(".bubble", has_text="ご希望の言語を選んでください").wait_for()
    page.locator("#quick-replies button", has_text="English").wait_for()
    screenshot(page, "chat-03-scan", request)
    assert page.console_errors == []


def test_the_installed_rich_menu_shows_and_a_tapped_area_answers(app, chat, line, request):
    from playwright.sync_api import expect

    from cityhall.cli import main

    installed = app.test_cli_runner().invoke(main, ["richmenu"])
    assert installed.exit_code == 0, installed.output
    page = chat
    page.locator("summary", has_text="New user").click()
    page.fill("input[name=displayName]", "山田花子")
    page.locator("#new-user-form button[type=submit]").click()
    page.locator(".row.bot").first.wait_for()
    user = page.locator("#user-select").input_value()
    menu = line.shown_rich_menu(user)
    areas = page.locator("#rich-menu-panel .area")
    expect(areas).to_have_count(len(menu["areas"]))
    expect(page.locator("#rich-menu-bar")).to_have_text(menu["chatBarText"] + " ▼")
    first = menu["areas"][0]["action"]
    answers = page.locator(".row.bot").count()
    page.get_by_role("button", name=first.get("label") or first["displayText"], exact=True).click()
    expect(page.locator(".row.bot")).not_to_have_count(answers)
    postbacks = [e["postback"]["data"] for e in line.webhook_events(user) if e["type"] == "postback"]
    assert postbacks == [first["data"]]
    screenshot(page, "chat-04-rich-menu", request)
    assert page.console_errors == []
