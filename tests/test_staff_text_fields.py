"""Every text field staff can save refuses control characters at the field, keeping the input.

The walk takes the forms from the code (every FlaskForm subclass the app defines) and the POST
routes from the app's URL map, so a new form or route is checked without editing this file,
or fails here until it says which of its fields staff type into. Each typed field gets a bidi
override and a terminal escape in an otherwise valid post: the page answers with the field's
reason, shows what was typed, and nothing reaches the database; the same post without them
is then saved, so the refusal is the characters' doing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from flask_wtf import FlaskForm
from markupsafe import escape
from sqlalchemy import select
from wtforms import HiddenField, PasswordField, StringField

from checkin.staff_views import PhoneForm, WalkInForm
from events.staff_views import AddForm, EventForm
from notices.staff_views import ClosureForm, NoticeForm, ReminderForm
from cityhall.db import db
from models import Base, Resident, utcnow
from models.application import Submission, SubmissionStatus
from models.center import Center
from models.report import Report
from models.staff import RecoveryCode, StaffUser
from reports.staff_views import MergeForm, PassForm
from reports.staff_views import StatusForm as ReportStatusForm
from residents import services as resident_services
from residents.staff_views import StatusForm, version_of
from staff.admin.forms import (CenterForm, DepartmentForm, DistrictForm, UserCreateForm,
                               UserEditForm)
from staff.baseform import StaffForm
from staff.forms import CodeForm, LoginForm
from staff.second_factor import recovery_hash
from tests.staff_support import PASSWORD, StaffClient, staff_app  # noqa: F401
from tests.test_staff_access import staff_routes

# Inserted after the first character of a valid value, so the reason names character 2.
TRICKS = {"bidi": "\u202e", "escape": "\x1b[2J"}
REASONS = {"bidi": "文字の向きを変える制御文字 U+202E（2 文字目）を取り除いてください。",
           "escape": "見えない制御文字 U+001B（2 文字目）を取り除いてください。"}
# Tables a refused post may touch without storing anything typed: the signed-in session's
# last-seen time, and the audit of the personal data the page shows again.
VOLATILE = {"staff_sessions", "audit_log"}
NEW_PASSWORD = "Kumo-hashi 7 ringo tsuki!"
# POST routes without a field staff type text into, and why.
NO_TYPED_TEXT = {
    "staff.logout": "a button",
    "staff.language": "a hidden language code checked against the list",
    "staff.own_password": "passwords only",
    "staff_admin.user_password": "passwords only",
    "checkin_staff.checkout": "a button",
    "checkin_staff.reissue": "a button",
    "staff_admin.user_two_factor_reset": "a button",
    # The same CodeForm as staff.two_factor_off, whose case checks its field; a valid post
    # here needs a code of the current 30 seconds, which a static case cannot hold.
    "staff.login_code": "CodeForm, checked at staff.two_factor_off",
    "staff.two_factor": "CodeForm, checked at staff.two_factor_off",
    "staff.two_factor_recovery_codes": "CodeForm, checked at staff.two_factor_off",
    "reports_staff.publish": "a checkbox",
    "reports_staff.disaster": "a checkbox",
    "reports_staff.edit_category": "a department choice and a number of days",
    "events_staff.cancel": "a button",
    "events_staff.attended": "a button",
    "notices_staff.send": "a button",
    "notices_staff.request_approval": "a button",
    "notices_staff.approve": "a button",
    "notices_staff.reject": "a button",
    "notices_staff.cancel": "a button",
    "notices_staff.reopen": "a button",
    "notices_staff.reminder_toggle": "a button",
}
RECOVERY_CODE = "abcd-efgh-jkmn-pqrs-tuvw-xyz2"


def user_id(app, username: str) -> int:
    with app.app_context(), db.session() as session:
        return session.scalar(select(StaffUser.id).where(StaffUser.username == username))


def registered_family(app) -> dict[str, str]:
    """Register a family that a phone check-in can find."""
    with app.app_context(), db.transaction() as session:
        resident = Resident(line_user_id="Utyped", language="ja", language_chosen=True)
        session.add(resident)
        session.flush()
        resident_services.register(session, resident, {
            "name": "入力花子", "kana": "ニュウリョク ハナコ", "phone": "09011112222",
            "postal_code": "505-0041", "address": "太田町1", "district": "ota",
            "children": [{"name": "入力太郎", "kana": "ニュウリョク タロウ",
                          "birth_date": "2022-05-03"}]}, utcnow())
    return {}


def submission_version(app) -> dict[str, str]:
    """Store a received application; return the version its status form carries."""
    with app.app_context(), db.transaction() as session:
        submission = Submission(receipt_no="T-2026-000001", form_id="sample",
                                department_code="roads", answers={},
                                status=SubmissionStatus.RECEIVED)
        session.add(submission)
        session.flush()
        return {"version": version_of(submission)}


def optional_second_factor_with_a_known_recovery_code(app) -> dict[str, str]:
    """Let the admin turn the factor off, with a recovery code standing in for the code."""
    app.config["STAFF_SECOND_FACTOR_ROLES"] = frozenset()
    with app.app_context(), db.transaction() as session:
        admin = session.scalars(select(StaffUser).where(StaffUser.username == "admin")).one()
        session.add(RecoveryCode(staff_user_id=admin.id, code_hash=recovery_hash(RECOVERY_CODE)))
    return {}


def event_path(suffix: str):
    """Return a path function that creates an event at central and names its page."""
    def path(app) -> str:
        with app.app_context(), db.transaction() as session:
            from events.staff_views import _sample_event
            return f"/staff/events/{_sample_event(session)}/{suffix}"
    return path


def submission_path(app) -> str:
    with app.app_context(), db.session() as session:
        found = session.scalar(select(Submission.id)
                               .where(Submission.receipt_no == "T-2026-000001"))
    return f"/staff/applications/{found}/status"


def two_reports(app) -> dict[str, str]:
    """File two road reports (R-2026-000001 and R-2026-000002) for the reports' forms."""
    from tests.reports_support import INSIDE_HACHIYA, file_direct

    file_direct(app, "road")
    file_direct(app, "road", point=INSIDE_HACHIYA)
    return {}


def report_path(action: str) -> Callable:
    def path(app) -> str:
        with app.app_context(), db.session() as session:
            found = session.scalar(select(Report.id).where(Report.receipt_no == "R-2026-000001"))
        return f"/staff/reports/{found}/{action}"
    return path


HOURS = {f"{day}_{end}": time for day in ("mon", "tue", "wed", "thu", "fri")
         for end, time in (("opens", "09:30"), ("closes", "17:00"))}


@dataclass
class Case:
    """One form posted to one route: its typed fields with valid values, and the rest."""

    endpoint: str
    form: type[FlaskForm]
    typed: dict[str, str]
    other: dict[str, object] = field(default_factory=dict)
    path: str | Callable = ""
    prefix: str = ""
    signed_in: bool = True
    arrange: Callable[[object], dict[str, str]] | None = None  # returns more post data

    @property
    def id(self) -> str:
        return f"{self.endpoint}-{self.form.__name__}"

    def url(self, app) -> str:
        return self.path(app) if callable(self.path) else self.path

    def data(self, values: dict[str, str], extra: dict[str, str]) -> dict[str, object]:
        named = {**values, **self.other}
        return {f"{self.prefix}-{k}" if self.prefix else k: v for k, v in named.items()} | extra


CENTER = {"name_ja": "北子育て支援センター", "name_en": "North Center", "short_name_en": "North",
          "address": "古井町7-8", "closed_days": "2026-12-29\r\n2026-12-30"}
CENTER_OTHER = {"district": "furui", "checkin_mode": "poster", "active": "y", **HOURS}
NAMES = {"name_ja": "福祉課", "name_en": "Welfare"}
EVENT_TEXT = {"title_ja": "親子リトミック", "title_en": "Rhythm", "place_name": "中央公園",
              "place_address": "太田町3-4", "description_ja": "音楽に合わせて\r\n体を動かします。",
              "description_en": "Move to music."}
EVENT_OTHER = {"center": "central", "day": "2027-02-10", "start": "10:00", "end": "11:00",
               "capacity": "5", "unit": "children", "weeks": "1"}
CASES = [
    Case("staff.login", LoginForm, {"username": "admin"}, {"password": PASSWORD},
         "/staff/login", signed_in=False),
    Case("staff_admin.user_new", UserCreateForm,
         {"username": "tanaka", "display_name": "田中 一郎"},
         {"role": "center", "centers": ["central"], "new_password": NEW_PASSWORD,
          "confirm": NEW_PASSWORD}, "/staff/admin/users/new"),
    Case("staff_admin.user_edit", UserEditForm, {"display_name": "中央 花子"},
         {"role": "center", "centers": ["central"]},
         lambda app: f"/staff/admin/users/{user_id(app, 'central')}"),
    Case("staff_admin.center_new", CenterForm, {"code": "north", **CENTER}, CENTER_OTHER,
         "/staff/admin/centers/new"),
    Case("staff_admin.center_edit", CenterForm, CENTER, CENTER_OTHER,
         "/staff/admin/centers/central"),
    Case("staff_admin.department_new", DepartmentForm, {"code": "welfare", **NAMES},
         {"active": "y"}, "/staff/admin/departments/new"),
    Case("staff_admin.department_edit", DepartmentForm, NAMES, {"active": "y"},
         "/staff/admin/departments/roads"),
    Case("staff_admin.district_new", DistrictForm,
         {"code": "newtown", "name_ja": "新町", "name_en": "Newtown"}, {},
         "/staff/admin/districts/new"),
    Case("staff_admin.district_edit", DistrictForm, {"name_ja": "太田町", "name_en": "Ota"}, {},
         "/staff/admin/districts/ota"),
    Case("checkin_staff.manual_checkin", PhoneForm,
         {"phone": "090-1111-2222", "kana": "ニュウリョク ハナコ"}, {"submit": "y"},
         "/staff/checkin/central/checkin", prefix="phone", arrange=registered_family),
    Case("checkin_staff.manual_checkin", WalkInForm, {"name": "歩来 花子"},
         {"district": "ota", "birth1": "2023-01-01", "submit": "y"},
         "/staff/checkin/central/checkin", prefix="walkin"),
    Case("applications_staff.change_status", StatusForm,
         {"comment": "受け付けました。\r\n確認します。"}, {"status": "in_review"},
         submission_path, arrange=submission_version),
    Case("reports_staff.change_status", ReportStatusForm,
         {"public_comment": "対応します。\r\n来週補修します。", "internal_note": "業者手配済み",
          "passed_to": "岐阜県"}, {"status": "in_progress"}, report_path("status"), prefix="st",
         arrange=two_reports),
    Case("reports_staff.pass_report", PassForm, {"note": "公園の遊具のため"},
         {"department": "citizens"}, report_path("pass"), prefix="pa", arrange=two_reports),
    Case("reports_staff.merge", MergeForm, {"keep": "R-2026-000002"}, {}, report_path("merge"),
         prefix="me", arrange=two_reports),
    Case("events_staff.new", EventForm, EVENT_TEXT, EVENT_OTHER, "/staff/events/new"),
    Case("events_staff.edit", EventForm, EVENT_TEXT, EVENT_OTHER, event_path("edit")),
    Case("events_staff.add", AddForm, {"name": "電話 花子", "phone": "090-1111-2222",
                                       "kana": "ニュウリョク ハナコ"}, {"places": "1"},
         event_path("reservations"), arrange=registered_family),
    Case("notices_staff.compose", NoticeForm,
         {"title": "お知らせ", "body_ja": "本文です。\r\n二行目", "body_en": "Text",
          "link_url": "https://example.jp/a", "link_label": "詳しく"},
         {"topic": "news", "audience": "registered"}, "/staff/notices/new"),
    Case("notices_staff.closures", ClosureForm, {"reason": "停電のため"},
         {"center": "central", "day": "2030-01-15"}, "/staff/notices/closures"),
    Case("notices_staff.reminder_new", ReminderForm,
         {"title": "4か月児健診", "body_ja": "本文です。", "body_en": "Text",
          "link_url": "https://example.jp/b"}, {"age_months": "3"},
         "/staff/notices/reminders/new"),
    Case("staff.two_factor_off", CodeForm, {"code": RECOVERY_CODE}, {},
         "/staff/account/two-factor/off", prefix="off",
         arrange=optional_second_factor_with_a_known_recovery_code),
]


def project_forms() -> list[type[FlaskForm]]:
    """Return every FlaskForm subclass the app's own code defines."""
    found, todo = [], [FlaskForm]
    while todo:
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.split(".")[0] not in {"flask_wtf", "wtforms", "tests"}:
                found.append(cls)
    return found


def typed_fields(app, form_class: type[FlaskForm]) -> set[str]:
    """Name the fields of a form that staff type text into."""
    with app.test_request_context():
        form = form_class(meta={"csrf": False})
        return {f.short_name for f in form if isinstance(f, StringField)
                and not isinstance(f, HiddenField | PasswordField)}


def stored(app) -> dict[str, list[str]]:
    """Return every row of every table (but the volatile ones), to compare before and after."""
    with app.app_context(), db.session() as session:
        return {table.name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
                for table in Base.metadata.sorted_tables if table.name not in VOLATILE}


def holds(value: object, text: str) -> bool:
    if isinstance(value, str):
        return text in value
    if isinstance(value, dict):
        return any(holds(v, text) for v in value.values())
    if isinstance(value, list | tuple):
        return any(holds(v, text) for v in value)
    return False


def database_holds(app, text: str) -> list[str]:
    """Name the tables (volatile ones included) with a value containing `text`."""
    with app.app_context(), db.session() as session:
        return [table.name for table in Base.metadata.sorted_tables
                if any(holds(tuple(row), text) for row in session.execute(select(table)))]


def test_every_staff_form_derives_from_the_base_that_checks_text(staff_app):
    assert [cls.__qualname__ for cls in project_forms() if not issubclass(cls, StaffForm)] == []


def test_the_walk_covers_every_typed_field_and_every_post_route(staff_app):
    covered = {(case.form, name) for case in CASES for name in case.typed}
    missing = [f"{cls.__module__}.{cls.__qualname__}.{name}" for cls in project_forms()
               for name in sorted(typed_fields(staff_app, cls)) if (cls, name) not in covered]
    assert missing == [], "add a Case posting these fields"
    posted = {endpoint for endpoint, method, _ in staff_routes(staff_app) if method == "POST"}
    assert posted - {case.endpoint for case in CASES} - set(NO_TYPED_TEXT) == set(), \
        "add a Case for the route's typed fields, or say in NO_TYPED_TEXT why it has none"
    assert set(NO_TYPED_TEXT) <= posted


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_control_characters_are_refused_at_every_staff_text_field(staff_app, case):
    client = StaffClient(staff_app)
    if case.signed_in:
        assert client.login("admin").status_code == 302
    extra = case.arrange(staff_app) if case.arrange else {}
    path = case.url(staff_app)
    before = stored(staff_app)
    for name, value in case.typed.items():
        for trick, chars in TRICKS.items():
            typed = value[:1] + chars + value[1:]
            response = client.post(path, data=case.data({**case.typed, name: typed}, extra))
            html = response.get_data(as_text=True)
            where = f"{case.id} {name} {trick}"
            assert response.status_code in (200, 400), where
            assert REASONS[trick] in html, where
            assert str(escape(typed)) in html, f"{where}: the input is not kept"
            assert stored(staff_app) == before, f"{where}: something was stored"
    for chars in TRICKS.values():
        assert database_holds(staff_app, chars) == []
    # The same post without the characters is saved: the refusals were theirs.
    response = client.post(path, data=case.data(case.typed, extra))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stored(staff_app) != before


def test_the_reason_is_in_english_for_english_staff(staff_app):
    client = StaffClient(staff_app)
    assert client.login("admin").status_code == 302
    client.post("/staff/language", data={"lang": "en"})
    response = client.post("/staff/admin/districts/new", data={
        "code": "newtown", "name_ja": "新町", "name_en": "New\u202etown"})
    assert ("Please remove the text-direction control character U+202E (character 4): it "
            "changes the order the text is shown in.") in response.get_data(as_text=True)


@pytest.mark.parametrize("address, reason", [
    ("\x1f", "見えない制御文字 U+001F（1 文字目）"),  # "\x1f".strip() == "", yet refused
    ("古井町\t7", "見えない制御文字 U+0009（4 文字目）"),
    ("古井町\r7", "見えない制御文字 U+000D（4 文字目）"),
    ("古井町\n7", "1行で入力してください。"),
    ("古井町\x857", "見えない制御文字 U+0085（4 文字目）"),
    ("古井町\u20667\u2069", "文字の向きを変える制御文字 U+2066（4 文字目）"),
], ids=["unit-separator", "tab", "carriage-return", "line-feed", "next-line", "isolate"])
def test_one_line_fields_refuse_every_control_the_chat_refuses(staff_app, address, reason):
    client = StaffClient(staff_app)
    assert client.login("admin").status_code == 302
    before = stored(staff_app)
    response = client.post("/staff/admin/centers/new",
                           data={"code": "north", **CENTER, **CENTER_OTHER, "address": address})
    assert response.status_code == 200 and reason in response.get_data(as_text=True)
    assert stored(staff_app) == before


def test_a_multi_line_field_keeps_its_lines(staff_app):
    client = StaffClient(staff_app)
    assert client.login("admin").status_code == 302
    response = client.post("/staff/admin/centers/new", data={
        "code": "north", **CENTER, **CENTER_OTHER,
        "closed_days": "2026-12-29\r\n2026-12-30\r2026-12-31\n"})
    assert response.status_code == 302
    with staff_app.app_context(), db.session() as session:
        center = session.scalars(select(Center).where(Center.code == "north")).one()
        assert center.closed_days == ["2026-12-29", "2026-12-30", "2026-12-31"]
