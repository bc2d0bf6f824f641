"""A child's allergy and care notes reach the staff who look after them: a badge with an icon
and a text label (not colour alone) on the roster, its JSON, and the childcare application."""

from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy import select

from models.household import Child
from tests.chat import Resident
from tests.checkin_support import family, open_all_day, scan_text
from tests.flows_helpers import CHILDREN, query, register, submissions
from tests.staff_support import StaffClient, staff_app  # noqa: F401
from tests.test_applications import childcare
from tests.test_applications_staff import city, page, signed_in, text  # noqa: F401

ROSTER = "/staff/checkin/central/"
VOID = {"input", "img", "br", "hr", "meta", "link"}


class Badges(HTMLParser):
    """Collect each care badge's text as a screen reader reads it: aria-hidden parts left out."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.stack: list[tuple[bool, bool]] = []  # (opens a badge, hidden)

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        attrs = dict(attrs)
        badge = "care-note" in (attrs.get("class") or "").split()
        hidden = attrs.get("aria-hidden") == "true" or any(h for _b, h in self.stack)
        if badge:
            self.found.append("")
        self.stack.append((badge, hidden))

    def handle_endtag(self, tag):
        badge, _hidden = self.stack.pop()
        if badge:
            self.found[-1] = " ".join(self.found[-1].split())

    def handle_data(self, data):
        inside = any(b for b, _h in self.stack)
        if inside and not any(h for _b, h in self.stack):
            self.found[-1] += data


def badges(html: str) -> list[str]:
    """Return each care badge's text as a screen reader reads it."""
    parser = Badges()
    parser.feed(html[html.index("<main"):html.index("</main>")])
    return parser.found


def register_with_notes(person: Resident, notes: str) -> None:
    """Register through the chat with one child whose allergy note is `notes`."""
    person.menu("register")
    for answer in ("山田花子", "やまだ はなこ", "090-1234-5678", "505-0041", "美濃加茂市太田町1-2-3"):
        person.say(answer)
    person.tap("太田")
    person.tap("はい")
    child, kana, born = CHILDREN[0]
    person.say(child)
    person.say(kana)
    person.pick_date(born)
    person.tap("スキップ")
    person.say(notes)
    person.tap("いいえ")
    person.tap("送信")


def set_notes(app, name: str, notes: str | None) -> None:
    """Change a child's notes as My data would."""
    def write(session):
        session.scalars(select(Child).where(Child.name == name)).one().notes = notes
    query(app, write)


def test_childcare_application_shows_the_childs_allergy_badge(city, line, app):
    person = Resident(line)
    register_with_notes(person, "卵アレルギー")
    childcare(person, child=None)
    sent = submissions(app, "childcare")[0]
    client = signed_in(app, "kosodate")
    html = page(client, sent["id"]).get_data(as_text=True)
    assert badges(html) == ["アレルギー・配慮事項 山田太郎: 卵アレルギー"]
    assert 'aria-label="アレルギー・配慮事項"' in html
    data = client.get(f"/staff/api/applications/{sent['id']}").get_json()
    assert data["care_notes"] == [{"child": "山田太郎", "notes": "卵アレルギー"}]
    client.post("/staff/language", data={"lang": "en"})
    assert badges(page(client, sent["id"]).get_data(as_text=True)) == [
        "Allergies and care notes 山田太郎: 卵アレルギー"]
    # The note as registered now: one added after sending still reaches the staff.
    set_notes(app, "山田太郎", "  ")
    assert client.get(f"/staff/api/applications/{sent['id']}").get_json()["care_notes"] == []
    set_notes(app, "山田太郎", "そばアレルギー")
    assert "そばアレルギー" in text(page(client, sent["id"]))


def test_no_badge_without_notes(city, line, app):
    person = Resident(line)
    register(person, children=1)
    childcare(person, child=None)
    sent = submissions(app, "childcare")[0]
    html = page(signed_in(app, "kosodate"), sent["id"]).get_data(as_text=True)
    assert badges(html) == [] and "care-notes" not in html


def test_roster_and_its_json_show_the_allergy_badge(staff_app, live_app, line):
    open_all_day(staff_app)
    person = Resident(line)
    family(staff_app, [person.user_id], children=2)
    set_notes(staff_app, "子ども1", "卵アレルギー。エピペンあり")
    person.say(scan_text(staff_app))
    person.tap("子ども全員")
    client = StaffClient(staff_app)
    assert client.login("central").status_code == 302
    html = client.get(ROSTER).get_data(as_text=True)
    assert badges(html) == ["アレルギー・配慮事項: 卵アレルギー。エピペンあり"]
    assert 'data-care-label="アレルギー・配慮事項"' in html
    visit = client.get("/staff/api/checkin/central/roster").get_json()["visits"][0]
    assert [(c["name"], c["care_notes"]) for c in visit["children"]] == [
        ("子ども1", "卵アレルギー。エピペンあり"), ("子ども2", None)]
    client.post("/staff/language", data={"lang": "en"})
    assert badges(client.get(ROSTER).get_data(as_text=True)) == [
        "Allergies and care notes: 卵アレルギー。エピペンあり"]
