"""The notices feature: segments, compose/approve/send, closure alerts, age reminders, opt-outs."""

from __future__ import annotations

from flask import Flask

from cityhall.features import Feature
from notices import chat, demo, jobs, services, settings, staff_views
from notices.cli import notices_group
from residents.signals import my_data_shown, registration_erasing, resident_registered


def setup(app: Flask) -> None:
    """Read the settings; forget erased registrations; welcome back those who register again;
    add the notices button to My data."""
    settings.init_app(app.config)
    registration_erasing.connect(services.forget_erased)
    resident_registered.connect(services.registered_again)
    my_data_shown.connect(chat.my_data_buttons)


feature = Feature(
    name="notices",
    requires=("staff", "residents", "checkin"),
    blueprints=lambda: [staff_views.bp, staff_views.api, staff_views.images],
    router=chat.router,
    jobs=[jobs.send_due_notices, jobs.age_reminders],
    nav=staff_views.NAV,
    cli=[notices_group],
    translations=Feature.folder(__file__, "translations"),
    setup=setup,
    demo_data=demo.demo_data,
)
