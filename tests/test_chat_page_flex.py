"""The chat page draws the bot's Flex cards: a check-in scanned from the scan menu, and My data
whose buttons work from the keyboard. A screenshot goes to the artifacts; with
CITYHALL_DOCS_IMAGES=1 a small copy is written to docs/img/ for the README."""

from __future__ import annotations

from cityhall.cli import main
from tests.browser import chromium_page, docs_image, marks, screenshot
from tests.chat import Resident
from tests.checkin_support import family, open_all_day
from tests.flows_helpers import seed_city

pytestmark = marks


def test_the_chat_page_shows_a_check_in_card_and_my_data_by_keyboard(live_app, app, line,
                                                                      emulator_server, request):
    seed_city(app)
    open_all_day(app)
    person = Resident(line, name="デモ 保護者")
    family(app, [person.user_id], children=2)
    posted = app.test_cli_runner().invoke(main, ["scan-targets", "--post", emulator_server.url])
    assert posted.exit_code == 0, posted.output
    with chromium_page(emulator_server.url, viewport=(420, 760)) as page:
        page.goto("/chat")
        page.locator("#scan-menu summary").click()
        page.get_by_role("button", name="中央子育て支援センター（ポスター）").click()
        page.get_by_role("button", name="子ども全員").click()
        # The card's accessible name is its alternative text.
        card = page.get_by_role("article", name="中央子育て支援センターにチェックインしました")
        card.wait_for(timeout=10_000)
        shown = card.inner_text()
        for part in ("チェックインしました", "センター", "中央子育て支援センター", "子ども1、子ども2",
                     "お帰りの際は、同じQRコードをもう一度読み取ってください。"):
            assert part in shown
        screenshot(page, "chat-checkin-flex", request)
        docs_image(page.locator("#transcript"), "chat-checkin-flex")

        # My data: a card whose footer buttons are reached and pressed with the keyboard.
        page.get_by_label("Message").fill("マイデータ")
        page.get_by_label("Message").press("Enter")
        my_data = page.get_by_role("article", name="【マイデータ】")
        my_data.wait_for(timeout=10_000)
        assert "保護者1" in my_data.inner_text() and "子ども2" in my_data.inner_text()
        change = my_data.get_by_role("button", name="変更する")
        change.focus()
        page.keyboard.press("Enter")
        page.locator(".row.bot .bubble", has_text="どの項目を変更しますか？").wait_for(timeout=10_000)
        screenshot(page, "chat-mydata-flex", request)
        assert page.console_errors == []
