"""The five-minute demo, walked in a browser as a newcomer would, from `cityhall demo` itself.

`cityhall demo` is started as a subprocess on free ports with its own instance folder, so
the test sees exactly what a newcomer sees: the banner, the chat page with the rich menu,
the scan menu, the staff web and the dashboards filled by the demo data. The demo's centers
are open around the clock, so the walk works whatever the hour (the real-hours refusal has its
own tests in test_checkin.py; a Sunday-night check-in in test_demo_setup.py).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pyotp
import pytest
import requests
from playwright.sync_api import expect

from cityhall.demo import DEMO_CENTER_STAFF
from tests.browser import chromium_page, docs_image, marks, screenshot

pytestmark = marks
ROOT = Path(__file__).resolve().parent.parent
BANNER_END = "Press Ctrl-C to stop everything."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Demo:
    """`cityhall demo` in a subprocess; its output is kept and its banner parsed."""

    def __init__(self, instance: Path) -> None:
        self.port, self.emulator_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LINE_", "DATABASE_URL", "SECRET_KEY", "CHECKIN_TOKEN_KEY"))}
        env.update(CITYHALL_INSTANCE_DIR=str(instance), PYTHONPATH=str(ROOT))
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cityhall", "demo", "--port", str(self.port),
             "--emulator-port", str(self.emulator_port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_banner(self, timeout: float = 240.0) -> str:
        deadline = time.monotonic() + timeout
        while BANNER_END not in self.lines:
            assert self.process.poll() is None, "\n".join(self.lines[-40:])
            assert time.monotonic() < deadline, "no banner:\n" + "\n".join(self.lines[-40:])
            time.sleep(0.2)
        return "\n".join(self.lines)

    def stop(self) -> None:
        """Stop the demo as Ctrl-C would (the whole process group), then close its output."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.reader.join(timeout=10)
        self.process.stdout.close()

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def emulator(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    running = Demo(tmp_path_factory.mktemp("demo-instance"))
    try:
        running.banner = running.wait_for_banner()
        yield running
    finally:
        running.stop()


def first_of_month_back(day: date, months: int) -> date:
    """Return the first day of the month `months` before the month of `day`."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def quick(page, label: str) -> None:
    page.get_by_role("group", name="Quick replies").get_by_role(
        "button", name=label, exact=True).click()


def answered(page, text: str):
    """Wait for the bot's newest bubble to contain the text; return the bubble."""
    bubble = page.locator(".row.bot", has_text=text).last
    expect(bubble).to_be_visible(timeout=15_000)
    return bubble


def say(page, text: str, then: str) -> None:
    page.get_by_role("textbox", name="Message").fill(text)
    page.keyboard.press("Enter")
    answered(page, then)


def tap(page, label: str, then: str) -> None:
    quick(page, label)
    answered(page, then)


def pick_date(page, day: date, then: str) -> None:
    quick(page, "日付を選ぶ")
    page.locator("#picker-input").fill(day.isoformat())
    page.locator("#picker-ok").click()
    answered(page, then)


def register_family(page, request) -> None:
    """Register a guardian and two children, the first with an egg allergy."""
    page.get_by_role("region", name="Rich menu").get_by_role("button", name="Register").click()
    answered(page, "保護者（あなた）のお名前")
    say(page, "美濃 花子", "ふりがな")
    say(page, "みの はなこ", "電話番号")
    say(page, "090-1234-5678", "郵便番号")
    say(page, "505-0041", "住所")
    say(page, "太田町1-2-3", "地区")
    tap(page, "太田", "同意しますか")
    tap(page, "はい", "お子さん 1: お子さんのお名前")
    for number, (name, kana, born, care) in enumerate(
            [("美濃 太郎", "みの たろう", date(2022, 5, 3), "卵アレルギー"),
             ("美濃 次郎", "みの じろう", date(2024, 1, 20), None)], start=1):
        if number > 1:
            tap(page, "はい", f"お子さん {number}: お子さんのお名前")
        say(page, name, f"お子さん {number}: お子さんのお名前のふりがな")
        say(page, kana, f"お子さん {number}: 生年月日")
        pick_date(page, born, f"お子さん {number}: 性別")
        tap(page, "スキップ", f"お子さん {number}: アレルギー")
        if care:
            say(page, care, "ほかにもお子さん")
        else:
            tap(page, "スキップ", "ほかにもお子さん")
    tap(page, "いいえ", "利用者登録")
    # The summary is a Flex card: each answer has its change button, 送信 is at its foot.
    summary = page.locator(".row.bot").last
    expect(summary.get_by_role("button", name="変更する").first).to_be_visible()
    screenshot(page, "demo-walk-01-summary", request)
    docs_image(summary, "chat-registration-summary")
    summary.get_by_role("button", name="送信", exact=True).click()
    answered(page, "登録が完了しました")


def test_a_newcomer_walks_the_demo_from_follow_to_the_dashboard(demo, request):
    banner = demo.banner
    admin_password = re.search(r"user admin, password (\S+)\)", banner).group(1)
    center_password = re.search(rf"user {DEMO_CENTER_STAFF}, password (\S+)", banner).group(1)
    secret = re.search(r"2FA secret:\s+([A-Z2-7]+)", banner).group(1)

    with chromium_page(demo.emulator, viewport=(420, 860)) as page:
        page.goto("/chat")
        page.locator("summary", has_text="New user").click()
        page.get_by_label("Display name").fill("美濃 花子")
        page.get_by_role("button", name="Create").click()  # follows at once
        answered(page, "ご希望の言語を選んでください")
        tap(page, "日本語", "これから日本語でお話しします")
        expect(page.get_by_role("region", name="Rich menu")).to_be_visible()
        register_family(page, request)
        screenshot(page, "demo-walk-02-registered", request)

        page.locator("summary", has_text=re.compile("^Scan$")).click()
        targets = page.get_by_role("list", name="Scan a code with one click").get_by_role("button")
        expect(targets.first).to_be_visible()
        targets.first.click()
        answered(page, "一緒に来たのはどなたですか")
        quick(page, "子ども全員")
        card = page.get_by_role("article").last  # the check-in confirmation, a Flex card
        expect(card).to_contain_text("チェックイン", timeout=15_000)
        expect(card).to_contain_text("中央子育て支援センター")
        expect(card).to_contain_text("美濃 太郎")
        expect(card).to_contain_text("美濃 次郎")
        screenshot(page, "demo-walk-03-checked-in", request)
        docs_image(page, "chat-checkin-and-menu")
        assert page.console_errors == []

    with chromium_page(demo.web) as staff:
        staff.goto("/staff/login")
        staff.locator("input[name=username]").fill(DEMO_CENTER_STAFF)
        staff.locator("input[name=password]").fill(center_password)
        staff.locator("#sign-in").click()
        staff.goto("/staff/checkin/central/")
        family = staff.locator("tr", has_text="美濃 花子")
        expect(family).to_be_visible()
        badge = family.locator(".care-note")
        expect(badge).to_have_count(1)
        expect(badge).to_contain_text("卵アレルギー")
        screenshot(staff, "demo-walk-04-roster", request)
        docs_image(staff.locator("main"), "staff-roster")

        today = date.today()
        start = first_of_month_back(today, 17)
        query = f"start={start.isoformat()}&end={today.isoformat()}&grain=month"
        usage = staff.request.get(f"/staff/api/dashboards/usage?{query}").json()
        visits = {row[0][:7]: row[1] for row in usage["rows"]}
        months = [first_of_month_back(today, back).isoformat()[:7] for back in range(17, -1, -1)]
        assert [month for month in months if not visits.get(month)] == [], usage["rows"]
        staff.goto(f"/staff/dashboards/usage?{query}")
        expect(staff.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
        screenshot(staff, "demo-walk-05-usage", request)
        docs_image(staff.locator(".js-plotly-plot").first, "dashboard-usage")
        assert staff.console_errors == [] and staff.csp_violations == []

    with chromium_page(demo.web) as admin:
        admin.goto("/staff/login")
        admin.locator("input[name=username]").fill("admin")
        admin.locator("input[name=password]").fill(admin_password)
        admin.locator("#sign-in").click()
        admin.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
        admin.locator("input[name=code]").press("Enter")
        expect(admin.locator("input[name=code]")).to_have_count(0)
        admin.goto(f"/staff/dashboards/heatmap?{query}")
        expect(admin.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
        screenshot(admin, "demo-walk-06-heatmap", request)
        docs_image(admin.locator(".js-plotly-plot").first, "dashboard-heatmap")
