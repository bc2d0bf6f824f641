"""The chat page in Nepali and traditional Chinese: a follower whose LINE profile speaks one
is greeted in it, sees the choice in every script, and the rich menu drawn in its script."""

from __future__ import annotations

import pytest

from bot import richmenu
from bot.flows.registry import forms
from cityhall.i18n import translate
from tests.browser import chromium_page, marks, screenshot

pytestmark = marks


@pytest.fixture
def chat(live_app, app, emulator_server):
    with app.app_context():
        from bot.gateway import gateway
        richmenu.install(gateway())
    with chromium_page(emulator_server.url, viewport=(420, 860)) as page:
        page.goto("/chat")
        yield page


@pytest.mark.parametrize("code", ["ne", "zh-Hant"])
def test_chat_page_in_the_profile_language(chat, line, request, code):
    page = chat
    page.locator("summary", has_text="New user").click()
    page.fill("input[name=displayName]", "Mina")
    page.select_option("select[name=language]", code)
    page.locator("#new-user-form button[type=submit]").click()
    greeting = translate(code, "Welcome to Smartphone City Hall, %(name)s!", name="Mina")
    page.locator(".bubble", has_text=greeting).wait_for()
    page.locator("#quick-replies button", has_text="नेपाली").wait_for()
    for name in ("日本語", "繁體中文", "Tiếng Việt", "Português"):
        assert page.locator("#quick-replies button", has_text=name).count() == 1
    # The menu is this language's: its areas are named in the language.
    register = translate(code, "Register")
    page.locator(f"[aria-label='{register}']").first.wait_for(state="attached")
    screenshot(page, f"chat-{code}-greeting", request)
    page.fill("#text", "भाषा" if code == "ne" else "語言")
    page.locator("#composer button[type=submit]").click()
    page.locator(".bubble", has_text=translate(code, "Please choose your language.")).last.wait_for()
    page.locator(f"[aria-label='{register}']").first.click()
    # Registration starts in the language, from the form's own text.
    prompt = forms().get("registration").field("name").prompt[code]
    page.locator(".bubble", has_text=prompt).wait_for()
    screenshot(page, f"chat-{code}-registration", request)
    assert page.console_errors == [] and page.csp_violations == []
