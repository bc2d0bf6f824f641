"""The check-in feature: the scan in the chat, the roster, QR posters and kiosk, auto check-out."""

from __future__ import annotations

from flask import Flask

from checkin import chat, demo, jobs, services, staff_views
from checkin.cli import qr_command, scan_targets_command
from cityhall.features import Feature
from residents.signals import registration_erasing, resident_registered


def setup(_app: Flask) -> None:
    """Finish a scan that waited for the registration; close the visits of an erased household."""
    resident_registered.connect(chat.after_registration)
    registration_erasing.connect(services.erase_household)


feature = Feature(
    name="checkin",
    requires=("staff", "residents"),
    blueprints=lambda: [staff_views.bp, staff_views.api],
    router=chat.router,
    jobs=[jobs.auto_checkout],
    nav=staff_views.NAV,
    cli=[qr_command, scan_targets_command],
    translations=Feature.folder(__file__, "translations"),
    setup=setup,
    demo_data=demo.demo_data,
)
