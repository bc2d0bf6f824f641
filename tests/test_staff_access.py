"""Every /staff route, every role: sign-in first, 403 for the wrong role, 404 outside the scope.

The routes come from the app's URL map, so a new staff page is checked without editing this
file; a route with a parameter that is not a center or department code must declare sample
values with @staff.access.samples, or the first test fails.
"""

from __future__ import annotations

import pytest

from cityhall.db import db
from staff.access import ACCESS_ATTR, PUBLIC, SAMPLES_ATTR
from tests.staff_support import ACCOUNTS, IN_SCOPE, OUT_OF_SCOPE, StaffClient, staff_app  # noqa: F401

SCOPED_ARGS = {"center_code", "department_code"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def staff_routes(app) -> list[tuple[str, str, object]]:
    """Return (endpoint, method, rule) for every staff route but static files."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff") and not rule.endpoint.endswith(".static"):
            routes += [(rule.endpoint, m, rule) for m in sorted(rule.methods) if m in METHODS]
    # Sign-out ends the session the walk uses, so it goes last.
    return sorted(routes, key=lambda r: (r[0] == "staff.logout", r[0], r[1]))


def view_of(app, endpoint: str):
    return app.view_functions[endpoint]


def fill(app, rule, endpoint: str, scoped_values: dict[str, str]) -> dict[str, object]:
    """Return URL values: scope codes from `scoped_values`, the rest from the view's samples."""
    samples = getattr(view_of(app, endpoint), SAMPLES_ATTR, {})
    values = {}
    # A transaction, so a sample callable may also create the row it names.
    with app.app_context(), db.transaction() as session:
        for arg in rule.arguments:
            value = scoped_values[arg] if arg in SCOPED_ARGS else samples[arg]
            values[arg] = value(session) if callable(value) else value
    return values


def url(app, rule, values) -> str:
    with app.test_request_context():
        return rule.build(values, append_unknown=False)[1]


def call(client: StaffClient, method: str, path: str):
    if method == "GET":
        return client.get(path)
    return client.client.open(path, method=method, data={"csrf_token": client.csrf_token()})


def test_every_staff_route_declares_access_and_samples(staff_app):
    problems = []
    for endpoint, _method, rule in staff_routes(staff_app):
        view = view_of(staff_app, endpoint)
        if getattr(view, ACCESS_ATTR, None) is None:
            problems.append(f"{endpoint}: no @require_role(...) or @public")
        missing = set(rule.arguments) - SCOPED_ARGS - set(getattr(view, SAMPLES_ATTR, {}))
        if missing:
            problems.append(f"{endpoint}: no @samples(...) for {sorted(missing)}")
    assert problems == []


def test_anonymous_is_sent_to_sign_in_or_gets_401_json(staff_app):
    client = StaffClient(staff_app)
    wrong = []
    for endpoint, method, rule in staff_routes(staff_app):
        if getattr(view_of(staff_app, endpoint), ACCESS_ATTR) == PUBLIC:
            continue
        path = url(staff_app, rule, fill(staff_app, rule, endpoint, IN_SCOPE))
        response = call(client, method, path)
        if rule.rule.startswith("/staff/api/"):
            ok = response.status_code == 401 and response.is_json
        else:
            ok = (response.status_code == 302
                  and response.headers["Location"].startswith("/staff/login"))
        if not ok:
            wrong.append(f"{method} {path}: {response.status_code}")
    assert wrong == []


@pytest.mark.parametrize("username", sorted(ACCOUNTS))
def test_each_role_gets_its_pages_403_elsewhere_and_404_outside_its_scope(staff_app, username):
    role = ACCOUNTS[username][0]
    client = StaffClient(staff_app)
    assert client.login(username).status_code == 302
    wrong = []
    for endpoint, method, rule in staff_routes(staff_app):
        allowed = getattr(view_of(staff_app, endpoint), ACCESS_ATTR)
        if allowed == PUBLIC:
            continue
        for expected, values in expectations(role, allowed, rule):
            path = url(staff_app, rule, fill(staff_app, rule, endpoint, values))
            status = call(client, method, path).status_code
            if not matches(expected, method, status):
                wrong.append(f"{method} {path}: expected {expected}, got {status}")
    assert wrong == []


def expectations(role, allowed, rule) -> list[tuple[str, dict[str, str]]]:
    """Return what should happen in scope and, for scoped routes, out of scope."""
    if role not in allowed:
        return [("403", IN_SCOPE)]
    cases = [("ok", IN_SCOPE)]
    scoped = SCOPED_ARGS & set(rule.arguments)
    if scoped and role != "admin":
        cases.append(("404", OUT_OF_SCOPE))
    return cases


def matches(expected: str, method: str, status: int) -> bool:
    if expected != "ok":
        return status == int(expected)
    if method == "GET":
        return status == 200
    # A state-changing request with an empty form answers with its own validation.
    return status < 500 and status not in (401, 403, 404, 405)


def test_unknown_center_is_404_for_admin_too(staff_app):
    client = StaffClient(staff_app)
    client.login("admin")
    assert client.get("/staff/centers/nowhere").status_code == 404
    response = client.get("/staff/api/centers/nowhere")
    assert response.status_code == 404 and response.is_json


def test_center_staff_list_and_json_show_only_their_centers(staff_app):
    client = StaffClient(staff_app)
    client.login("central")
    codes = [c["code"] for c in client.get("/staff/api/centers").get_json()["centers"]]
    assert codes == ["central"]
    page = client.get("/staff/centers").get_data(as_text=True)
    assert "中央子育て支援センター" in page and "東子育て支援センター" not in page
