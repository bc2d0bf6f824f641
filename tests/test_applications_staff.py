"""The staff inbox of applications: scope, the submission page, status changes that reach the
resident exactly once through the outbox and the emulator, errors, audit, photos, JSON."""

from __future__ import annotations

import re
import threading
from html import unescape

import pytest
from sqlalchemy import func, select

from bot.flows.registry import forms
from bot.flows.schema import form_from_data
from cityhall.db import db
from emulator.client import message_text
from models import OutboxMessage
from models.application import StatusChange
from models.staff import StaffRole
from residents.chat import ApplyForm
from tests.chat import Resident
from tests.flows_helpers import query, register, submissions
from tests.staff_support import StaffClient, add_staff, audit_entries, seed_staff
from tests.test_applications import childcare, drain

VERSION = re.compile(r'name="version" type="hidden" value="([^"]*)"')
PHOTO_FORM = {
    "id": "pothole", "title": {"ja": "道路の穴", "en": "Pothole"}, "department": "roads",
    "receipt_prefix": "R", "menu": True,
    "fields": [{"id": "photo", "type": "photo", "label": {"ja": "写真", "en": "Photo"},
                "prompt": {"ja": "写真を送ってください。", "en": "Send a photo."}}],
}
JPEG = b"\xff\xd8\xff\xe0" + b"pothole" * 20


@pytest.fixture
def city(live_app, app):
    """The app over HTTP with the city seeded, the test accounts and childcare staff."""
    seed_staff(app)
    with app.app_context(), db.transaction() as session:
        add_staff(session, "kosodate", StaffRole.DEPARTMENT, departments=("childcare",))
        add_staff(session, "higashi", StaffRole.CENTER, centers=("east",))
    return live_app


def signed_in(app, username: str) -> StaffClient:
    client = StaffClient(app)
    assert client.login(username).status_code == 302
    return client


def sent_childcare(line, app) -> tuple[Resident, dict]:
    """Register a resident, send the childcare request through the bot; return both."""
    person = Resident(line)
    register(person, children=1)
    childcare(person, child=None)
    return person, submissions(app, "childcare")[0]


def page(client: StaffClient, submission_id: int):
    return client.get(f"/staff/applications/{submission_id}")


def version(client: StaffClient, submission_id: int) -> str:
    match = VERSION.search(page(client, submission_id).get_data(as_text=True))
    assert match, "the status form carries no version"
    return match.group(1)


def change(client: StaffClient, submission_id: int, status: str, comment: str = "",
           at: str | None = None):
    """Post the status form as the page does (with the version the page showed)."""
    return client.post(f"/staff/applications/{submission_id}/status", data={
        "status": status, "comment": comment,
        "version": at if at is not None else version(client, submission_id)})


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def count(app, model) -> int:
    return query(app, lambda s: s.scalar(select(func.count()).select_from(model)))


def pushes(line, person: Resident) -> list[str]:
    """Return what the resident's pushes say (a status card's alternative text)."""
    return [message_text(r["message"]) for r in line.received(person.user_id)
            if r["via"] == "push"]


def test_inbox_shows_only_the_departments_submissions(city, line, app):
    _person, sent = sent_childcare(line, app)
    mine = text(signed_in(app, "kosodate").get("/staff/applications/"))
    assert sent["receipt"] in mine and "一時預かりの申し込み" in mine and "受付" in mine
    assert sent["receipt"] in text(signed_in(app, "admin").get("/staff/applications/"))
    roads = signed_in(app, "roads")
    assert sent["receipt"] not in text(roads.get("/staff/applications/"))
    assert page(roads, sent["id"]).status_code == 404
    assert roads.get(f"/staff/api/applications/{sent['id']}").status_code == 404
    assert change(roads, sent["id"], "done", at="received.0").status_code == 404
    east = signed_in(app, "higashi")  # center staff of another center than the one chosen
    assert sent["receipt"] not in text(east.get("/staff/applications/"))
    assert page(east, sent["id"]).status_code == 404
    assert count(app, StatusChange) == 0


def test_inbox_filters_by_status_and_form_and_counts(city, line, app):
    _person, sent = sent_childcare(line, app)
    client = signed_in(app, "kosodate")
    assert change(client, sent["id"], "in_review").status_code == 302
    listed = client.get("/staff/api/applications?status=in_review&form=childcare").get_json()
    assert [r["receipt_no"] for r in listed["rows"]] == [sent["receipt"]]
    assert listed["counts"]["in_review"] == 1 and listed["counts"]["received"] == 0
    assert client.get("/staff/api/applications?status=received").get_json()["rows"] == []
    assert client.get("/staff/api/applications?form=survey").get_json()["rows"] == []
    assert "該当する申請はありません。" in text(client.get("/staff/applications/?status=done"))


def test_status_change_reaches_the_resident_once_through_the_outbox(city, line, app):
    person, sent = sent_childcare(line, app)
    client = signed_in(app, "kosodate")
    seen = version(client, sent["id"])
    first = change(client, sent["id"], "approved", "当日は母子手帳をお持ちください。", at=seen)
    assert first.status_code == 302
    again = change(client, sent["id"], "approved", "当日は母子手帳をお持ちください。", at=seen)
    assert again.status_code == 409 and "他の操作で変更され" in text(again)
    drain(app)
    drain(app)  # a second worker pass sends nothing again
    assert pushes(line, person) == [
        f"「一時預かりの申し込み」（受付番号 {sent['receipt']}）の状況：承認\n"
        "市からのメッセージ：当日は母子手帳をお持ちください。"]
    assert count(app, StatusChange) == 1 and count(app, OutboxMessage) == 1
    entries = audit_entries(app, "application.status_change")
    assert len(entries) == 1 and entries[0].username == "kosodate"
    assert entries[0].target == f"submission:{sent['id']}"
    assert entries[0].detail["from"] == "received" and entries[0].detail["to"] == "approved"


def test_returned_without_a_reason_shows_the_error_and_keeps_what_was_typed(city, line, app):
    _person, sent = sent_childcare(line, app)
    client = signed_in(app, "kosodate")
    refused = change(client, sent["id"], "returned", "   ")
    assert refused.status_code == 400
    assert "状況は変更されていません：差し戻すときは住民への理由の記入が必要です" in text(refused)
    assert '<option selected value="returned">' in text(refused)
    assert count(app, StatusChange) == 0 and count(app, OutboxMessage) == 0
    assert audit_entries(app, "application.status_change") == []


def test_a_move_the_workflow_does_not_allow_is_refused_with_the_reason(city, line, app):
    _person, sent = sent_childcare(line, app)
    client = signed_in(app, "kosodate")
    refused = change(client, sent["id"], "received", "もう一度受付")
    assert refused.status_code == 400 and "cannot change received to received" in text(refused)
    assert "もう一度受付" in text(refused)  # the comment is kept in the form
    unknown = change(client, sent["id"], "lost", "x")
    assert unknown.status_code == 400 and "表示されている状況から選んでください。" in text(unknown)
    assert change(client, sent["id"], "done").status_code == 302
    finished = text(page(client, sent["id"]))
    assert "この申請は完了しているため、状況は変更できません。" in finished
    assert count(app, StatusChange) == 1


def test_only_the_next_statuses_are_offered(city, line, app):
    _person, sent = sent_childcare(line, app)
    client = signed_in(app, "kosodate")
    change(client, sent["id"], "returned", "日付を確認してください。")
    offered = re.findall(r'<option(?: selected)? value="([a-z_]+)"', text(page(client, sent["id"])))
    assert offered == ["in_review", "done"]


def test_submission_page_shows_answers_applicant_history_and_is_audited(city, line, app):
    _person, sent = sent_childcare(line, app)
    client = signed_in(app, "kosodate")
    change(client, sent["id"], "returned", "日付を確認してください。")
    shown = text(page(client, sent["id"]))
    assert "山田花子" in shown and "09012345678" in shown
    assert "お子さん" in shown and "山田太郎" in shown and "理由" in shown and "仕事" in shown
    assert "差し戻し" in shown and "日付を確認してください。" in shown and "kosodate" in shown
    views = audit_entries(app, "application.view")
    assert views and all(e.target == f"submission:{sent['id']}" for e in views)
    one = client.get(f"/staff/api/applications/{sent['id']}").get_json()
    assert one["applicant"]["name"] == "山田花子" and one["status"] == "returned"
    assert one["history"][0]["comment"] == "日付を確認してください。"
    assert ("お子さん", "山田太郎") in [(a["label"], a["value"]) for a in one["answers"]]
    assert one["next_statuses"] == ["in_review", "done"]
    assert audit_entries(app, "application.view")[-1].detail["via"] == "api"


def test_anonymous_survey_answers_are_listed_without_anyone(city, line, app):
    person = Resident(line)
    register(person, children=1)
    person.menu("apply")
    person.tap("満足度アンケート")
    person.tap("満足")
    person.tap("東")
    person.tap("決定")
    person.tap("はい")
    person.say("授乳室がほしい")
    person.tap("送信")
    assert submissions(app, "survey") == []
    client = signed_in(app, "kosodate")
    inbox = text(client.get("/staff/applications/"))
    assert "匿名アンケートの回答" in inbox and "満足度アンケート" not in inbox
    shown = text(client.get("/staff/applications/surveys"))
    assert "授乳室がほしい" in shown and "満足" in shown and "山田花子" not in shown
    listed = client.get("/staff/api/applications/surveys?form=survey").get_json()
    assert listed["counts"] == {"survey": 1} and len(listed["rows"]) == 1
    row = listed["rows"][0]
    assert set(row) == {"form_id", "form_title", "answered_on", "answers"}
    assert ("ご意見", "授乳室がほしい") in [(a["label"], a["value"]) for a in row["answers"]]
    assert audit_entries(app, "application.view") == []
    roads = signed_in(app, "roads")
    assert roads.get("/staff/api/applications/surveys").get_json()["rows"] == []
    assert signed_in(app, "central").get("/staff/applications/surveys").status_code == 403


def test_english_staff_page(city, line, app):
    _person, sent = sent_childcare(line, app)
    client = signed_in(app, "kosodate")
    client.post("/staff/language", data={"lang": "en"})
    shown = text(page(client, sent["id"]))
    assert "Temporary childcare" in shown and "Change the status" in shown
    assert "Child" in shown


@pytest.fixture
def photo_form():
    form = forms().add(form_from_data(PHOTO_FORM, "test"))
    yield form
    forms().remove(form.id)


def test_photo_is_shown_through_a_scoped_route(city, line, app, photo_form):
    person = Resident(line)
    person.postback(ApplyForm("pothole").pack())
    person.send_image(JPEG)
    person.tap("送信")
    sent = submissions(app, "pothole")[0]
    upload_id = sent["answers"]["photo"]["upload_id"]
    url = f"/staff/applications/{sent['id']}/photos/{upload_id}"
    roads = signed_in(app, "roads")
    assert f'src="{url}"' in text(page(roads, sent["id"]))
    photo = roads.get(url)
    assert photo.status_code == 200 and photo.data == JPEG
    assert photo.mimetype == "image/jpeg" and photo.headers["Cache-Control"] == "no-store"
    assert roads.get(f"/staff/applications/{sent['id']}/photos/{upload_id + 1}").status_code == 404
    assert signed_in(app, "kosodate").get(url).status_code == 404
    assert signed_in(app, "central").get(url).status_code == 404  # not routed to a center


def test_two_simultaneous_posts_of_the_same_change_apply_once(city, line, app):
    person, sent = sent_childcare(line, app)
    clients = [signed_in(app, "kosodate"), signed_in(app, "admin")]
    seen = version(clients[0], sent["id"])
    statuses: list[int] = []

    def post(client: StaffClient) -> None:
        statuses.append(change(client, sent["id"], "in_review", at=seen).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [302, 409]
    drain(app)
    assert len(pushes(line, person)) == 1 and count(app, StatusChange) == 1


def set_language(app, person: Resident, language: str) -> None:
    from models import Resident as ResidentRow

    with app.app_context(), db.transaction() as session:
        session.execute(ResidentRow.__table__.update()
                        .where(ResidentRow.line_user_id == person.user_id)
                        .values(language=language))


def test_status_message_per_language_a_vi_resident_reads_vi_a_tl_one_japanese_marked(
        city, line, app):
    person, sent = sent_childcare(line, app)
    client = signed_in(app, "kosodate")
    set_language(app, person, "vi")
    shown = text(page(client, sent["id"]))
    # A field per resident language, the resident's own first and open, with the mark.
    assert 'name="comment_vi"' in shown and 'name="comment_tl"' in shown
    assert "メッセージ（Tiếng Việt、任意）" in shown and "住民の言語" in shown
    assert '<details class="language-text" id="comment-language-vi" open>' in shown
    assert shown.index('id="comment-language-vi"') < shown.index('id="comment-language-ja-easy"')
    assert 'id="comment-fallback-mark"' in shown
    # Applied in Japanese, reads Vietnamese now: staff see both; the message goes in the latter.
    assert '現在の言語： <span lang="vi" id="reader-language">Tiếng Việt</span>' in shown
    approved = client.post(f"/staff/applications/{sent['id']}/status", data={
        "status": "approved", "comment": "当日は母子手帳をお持ちください。",
        "comment_vi": "Vui lòng mang sổ tay mẹ con vào ngày đó.",
        "version": version(client, sent["id"])}, follow_redirects=True)
    assert "のメッセージがないため" not in text(approved)  # no mark: vi was written
    drain(app)
    [vi_card] = pushes(line, person)
    assert "Vui lòng mang sổ tay mẹ con vào ngày đó." in vi_card and "母子手帳" not in vi_card

    set_language(app, person, "tl")
    shown = text(page(client, sent["id"]))
    assert '<details class="language-text" id="comment-language-tl" open>' in shown
    assert "空欄のままだと、住民には日本語のメッセージが届きます。" in shown  # before sending
    assert "Tiếng Việt:</span> <span lang=\"vi\">Vui lòng" in shown  # the history keeps it
    done = client.post(f"/staff/applications/{sent['id']}/status", data={
        "status": "done", "comment": "ご利用ありがとうございました。",
        "version": version(client, sent["id"])}, follow_redirects=True)
    assert "⚠ Tagalogのメッセージがないため、住民には日本語のメッセージが届きます。" in text(done)
    drain(app)
    tl_card = pushes(line, person)[-1]
    assert "ご利用ありがとうございました。" in tl_card
    entries = audit_entries(app, "application.status_change")
    assert [e.detail["comment_languages"] for e in entries] == [["vi"], []]


def test_a_translated_message_needs_the_japanese_one(city, line, app):
    _person, sent = sent_childcare(line, app)
    client = signed_in(app, "kosodate")
    refused = client.post(f"/staff/applications/{sent['id']}/status", data={
        "status": "approved", "comment": "", "comment_vi": "Xin chào",
        "version": version(client, sent["id"])})
    assert refused.status_code == 400
    assert "日本語のメッセージも書いてください" in text(refused) and "Xin chào" in text(refused)
    assert count(app, StatusChange) == 0 and count(app, OutboxMessage) == 0
