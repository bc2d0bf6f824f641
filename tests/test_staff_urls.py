"""Wild staff URLs answer 400 or 404 with the staff error page (JSON under /staff/api), never a
500 or Werkzeug's bare page: every /staff route from the URL map, as an admin, with ids above
2^63, huge pages, dates at the ends of the calendar and malformed values."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint, abort

from staff.access import require_role
from tests.staff_support import IN_SCOPE, StaffClient, as_admin, staff_app  # noqa: F401
from tests.test_staff_access import fill, staff_routes

PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
BAD_INTS = ["2147483648", str(2**63), str(2**64 + 1), "9" * 40, "-1", "abc", "1e3", "%C2%B2"]
BAD_STRINGS = ["%00", "x%00y", "%1B%5B2J", "x" * 300, "no-such-thing"]
BAD_QUERIES = {
    "page": ["0", "-1", str(2**63), "9" * 40, "abc", "%C2%B2", "1.5"],
    "start": ["0001-01-01", "9999-12-31", "2026-13-45", "yesterday"],
    "end": ["0001-01-01", "9999-12-31", "2026-02-30"],
    "since": ["0001-01-01", "9999-12-31", "x"],
    "until": ["0001-01-01", "9999-12-31", "x"],
    "user": [str(2**63), "%C2%B2", "-5"],
    "center": ["%00", "x" * 300, "no-such-center"],
    "status": ["%00", "x" * 300],
    "form": ["%00", "x" * 300],
    "action": ["%00", "=cmd|' /C calc'!A0"],
    "band": ["%00", "99"],
    "grain": ["%00", "century"],
}
# Query arguments each route family reads, and must refuse with 400 when malformed.
MUST_REFUSE = {
    "/staff/admin/audit": {"page", "since", "until"},
    "/staff/admin/audit.csv": {"since", "until"},
    "/staff/admin/failed-events": {"page"},
    "/staff/applications/": {"page"},
    "/staff/api/applications": {"page"},
    "/staff/dashboards/usage": {"start", "end"},
    "/staff/api/dashboards/usage": {"start", "end"},
    "/staff/dashboards/usage.csv": {"start", "end"},
}


def path_with(app, rule, endpoint: str, target: str | None = None, bad: str = "") -> str:
    """Write the rule's path with sample values, and `bad` (raw, undecoded) in `target`."""
    values = fill(app, rule, endpoint, IN_SCOPE)
    return PARAMETER.sub(lambda m: bad if m.group(2) == target else str(values[m.group(2)]),
                         rule.rule)


def call(client: StaffClient, method: str, path: str):
    if method == "GET":
        return client.get(path)
    return client.client.open(path, method=method, data={"csrf_token": client.csrf_token()})


def problem(path: str, response, allowed: set[int]) -> str | None:
    """Say what is wrong with an error answer, or None when it is the staff's own."""
    status = response.status_code
    if status not in allowed:
        return f"{path}: {status}"
    if status < 400:
        return None
    if path.startswith("/staff/api/"):
        ok = response.is_json and response.get_json()["error"] == status
    else:
        body = response.get_data(as_text=True)
        ok = response.mimetype == "text/html" and 'name="csrf-token"' in body and (
            'class="card narrow"' in body or status == 400)
    return None if ok else f"{path}: {status} is not the staff error page"


def converter_of(rule, argument: str) -> str:
    return type(rule._converters[argument]).__name__


def test_every_staff_route_answers_wild_path_values_with_404(as_admin, staff_app):
    wrong = []
    for endpoint, method, rule in staff_routes(staff_app):
        for argument in rule.arguments:
            ints = "Int" in converter_of(rule, argument)
            for bad in BAD_INTS if ints else BAD_STRINGS:
                path = path_with(staff_app, rule, endpoint, argument, bad)
                response = call(as_admin, method, path)
                wrong.append(problem(path, response, {400, 404}))
    assert [w for w in wrong if w] == []


# One test per query argument (each covers every route): the sweep is the suite's longest,
# and split this way pytest-xdist shares it between workers.
@pytest.mark.parametrize("name", list(BAD_QUERIES))
def test_every_staff_get_route_answers_wild_query_values_without_a_500(as_admin, staff_app,
                                                                        name):
    wrong = []
    for endpoint, method, rule in staff_routes(staff_app):
        # The sign-in pages send a signed-in user home, whatever the query.
        if method != "GET" or endpoint in {"staff.login", "staff.login_code"}:
            continue
        base = path_with(staff_app, rule, endpoint)
        for bad in BAD_QUERIES[name]:
            path = f"{base}?{name}={bad}"
            response = call(as_admin, method, path)
            refused = name in MUST_REFUSE.get(base, ()) or (
                name in {"start", "end"} and "/dashboards/" in base and base.rstrip("/")
                not in {"/staff/dashboards", "/staff/dashboards/vendor"})
            allowed = {400} if refused else {200, 400, 404}
            wrong.append(problem(path, response, allowed))
    assert [w for w in wrong if w] == []


@pytest.mark.parametrize("path", ["/staff/admin/audit?page=" + "9" * 40,
                                  "/staff/api/applications?page=" + str(2**63),
                                  "/staff/api/dashboards/districts?start=0001-01-01",
                                  "/staff/api/dashboards/usage?end=9999-12-31"])
def test_a_bad_argument_is_named_in_the_staff_language(as_admin, path):
    response = as_admin.get(path)
    assert response.status_code == 400
    name = path.split("?")[1].split("=")[0]
    text = response.get_json()["message"] if response.is_json else response.get_data(as_text=True)
    assert f"「{name}」の値が正しくありません" in text


@pytest.fixture
def broken_app(app):
    """The app with staff routes that fail the way a bug would, and exceptions not propagated."""
    pages, api = Blueprint("boom", __name__, url_prefix="/staff/boom"), Blueprint(
        "boom_api", __name__, url_prefix="/staff/api/boom")

    @pages.get("/")
    @api.get("/")
    @require_role()
    def explode():
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    @pages.post("/upload")
    @require_role()
    def too_large():
        abort(413)

    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_a_failing_view_gets_the_staff_error_page_or_json(broken_app):
    from tests.staff_support import seed_staff

    seed_staff(broken_app)
    client = StaffClient(broken_app)
    client.login("admin")
    page = client.get("/staff/boom/")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "問題が発生しました" in page.get_data(as_text=True)
    assert "OverflowError" not in page.get_data(as_text=True)
    data = client.get("/staff/api/boom/")
    assert data.status_code == 500 and data.get_json()["error"] == 500
    large = client.post("/staff/boom/upload")
    assert large.status_code == 413 and "大きすぎ" in large.get_data(as_text=True)


def test_every_staff_post_route_refuses_a_nul_in_a_form_field(as_admin, staff_app):
    wrong = []
    for endpoint, method, rule in staff_routes(staff_app):
        if method != "POST":
            continue
        path = path_with(staff_app, rule, endpoint)
        response = as_admin.client.post(path, data={
            "csrf_token": as_admin.csrf_token(), "name_ja": "中央\x00", "comment": "x\x00",
            "username": "a\x00", "password": "\x00"})
        wrong.append(problem(path, response, {400}))
    assert [w for w in wrong if w] == []
