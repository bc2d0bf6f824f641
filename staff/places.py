"""Centers, departments and districts as data admins manage: create and update with a change list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.center import Center, CheckinMode, Department, District
from staff.audit import changes
from staff.errors import N_, StaffError

# The fields an admin may change, per model (the code is fixed: QR posters carry it).
FIELDS = {
    Center: ("name_ja", "name_en", "short_name_en", "address", "district_id", "opening_hours",
             "closed_days", "checkin_mode", "active"),
    Department: ("name_ja", "name_en", "active"),
    District: ("name_ja", "name_en"),
}


def snapshot(row: Any) -> dict[str, Any]:
    """Return the editable fields of a row as plain JSON values."""
    values = {name: getattr(row, name) for name in FIELDS[type(row)]}
    if isinstance(values.get("checkin_mode"), CheckinMode):
        values["checkin_mode"] = values["checkin_mode"].value
    return values


def create(session: Session, model: type, code: str, values: dict[str, Any]) -> Any:
    """Add a center, department or district; refuse a code already in use."""
    if session.scalars(select(model).where(model.code == code)).first() is not None:
        raise StaffError(N_("The code %(code)s is already in use."), code=code)
    row = model(code=code)
    apply(row, values)
    session.add(row)
    session.flush()
    return row


def update(row: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Change a row's editable fields; return {field: [old, new]} for the audit log."""
    diff = changes(snapshot(row), {k: v for k, v in values.items() if k in FIELDS[type(row)]})
    apply(row, values)
    return diff


def apply(row: Any, values: dict[str, Any]) -> None:
    """Set the editable fields given in `values` on the row."""
    for name in FIELDS[type(row)]:
        if name in values:
            value = values[name]
            setattr(row, name, CheckinMode(value) if name == "checkin_mode" else value)
