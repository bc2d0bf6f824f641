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
