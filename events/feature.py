"""The events feature: reservations in two taps, a waitlist that fills itself, reminders,
attendance from check-in, suggestions at check-out, and the evidence to plan the next events."""

from __future__ import annotations

from typing import Any

from flask import Flask, has_app_context

from checkin.signals import checked_in_reply, visit_ended, visit_started
from cityhall.city import City, current_city
from cityhall.features import Feature
from events import chat, charts, demo, jobs, services, staff_views
from events.cli import events_group
from notices import services as notices
from residents.signals import my_data_shown, registration_erasing


def _after_visit(visit: Any, **values: Any) -> None:
    """Suggest an event at check-out (the city's settings from the running app, if any: the
    check-in services also run without one)."""
    services.suggest_after_visit(visit, city=current_city() if has_app_context() else City(),
                                 **values)


def setup(_app: Flask) -> None:
    """Attendance on check-in, the check-in reply's mention, suggestions (and their switch in
    My data), erasure; the notices segment key "event" and closure alerts' reservations."""
    visit_started.connect(services.mark_attendance)
    checked_in_reply.connect(services.attendance_lines)
    visit_ended.connect(_after_visit)
    registration_erasing.connect(services.erase_household)
    my_data_shown.connect(chat.my_data_lines)
    notices.segments.register_criterion("event", services.reservation_holders,
                                        check=services.check_event_id)
    notices.closures.register_closure_source("events", services.holders_on_day)


feature = Feature(
    name="events",
    requires=("staff", "residents", "checkin", "notices"),
    blueprints=lambda: [staff_views.bp],
    router=chat.router,
    jobs=[jobs.event_offers, jobs.event_reminders],
    charts=charts.CHARTS,
    nav=staff_views.NAV,
    cli=[events_group],
    translations=Feature.folder(__file__, "translations"),
    demo_data=demo.demo_data,
    setup=setup,
)
