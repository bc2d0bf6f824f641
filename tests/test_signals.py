"""Signals between features: a listener hears what happened without the sender knowing it."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from checkin.signals import visit_ended, visit_started
from residents.signals import profile_changed, registration_erasing, resident_registered
from tests.chat import Resident
from tests.checkin_support import family, open_all_day, scan_text
from tests.flows_helpers import register, seed_city


@contextmanager
def listening(*signals):
    """Record (signal name, sender, kwargs) for each signal sent inside the block."""
    heard: list[tuple[str, object, dict]] = []
    receivers = []
    for signal in signals:
        def receiver(sender, _name=signal.name, **kwargs):
            heard.append((_name, sender, kwargs))
        receivers.append(receiver)
        signal.connect(receiver)
    try:
        yield heard
    finally:
        for signal, receiver in zip(signals, receivers, strict=True):
            signal.disconnect(receiver)


@pytest.fixture
def city(app, live_app):
    seed_city(app)
    open_all_day(app, "central")
    return live_app


def test_a_scan_in_and_out_sends_visit_started_and_visit_ended(city, app, line):
    person = Resident(line)
    family(app, [person.user_id], children=1)
    with listening(visit_started, visit_ended) as heard:
        person.say(scan_text(app))
        person.menu("checkin")
        person.tap("チェックアウト")
    assert [(name, kwargs.get("method")) for name, _s, kwargs in heard] == [
        ("visit-started", None), ("visit-ended", "scan")]
    assert heard[0][1].id == heard[1][1].id  # the same visit, as sender


def test_registration_and_a_change_of_phone_are_heard(city, app, line):
    person = Resident(line)
    with listening(resident_registered, profile_changed) as heard:
        register(person, children=1)
        person.menu("mydata")
        person.tap("変更する")
        person.tap("電話番号")
        person.say("090-9999-0000")
        person.tap("送信")
    names = [name for name, _s, _k in heard]
    assert names == ["resident-registered", "profile-changed"]
    assert heard[0][1].line_user_id == person.user_id
    assert heard[1][2]["changed"] == ["guardian.phone"]
    assert heard[1][2]["guardian"].phone == "09099990000"


def test_erasure_is_announced_before_the_data_goes(city, app, line):
    person = Resident(line)
    register(person, children=1)
    with listening(registration_erasing) as heard:
        person.menu("mydata")
        person.tap("削除する")
        person.tap("削除する")
    [(name, resident, kwargs)] = heard
    assert resident.line_user_id == person.user_id
    assert kwargs["household"] is not None  # the last guardian: the household goes too
