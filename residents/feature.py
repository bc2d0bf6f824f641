"""The residents feature: registration, My data, invite codes, Apply and the inbox of applications."""

from __future__ import annotations

from cityhall.features import Feature
from residents import chat, demo, flows, jobs, staff_views

feature = Feature(
    name="residents",
    requires=("staff",),
    blueprints=lambda: [staff_views.bp, staff_views.api],
    router=chat.router,
    forms=Feature.folder(__file__, "forms"),
    nav=staff_views.NAV,
    jobs=[jobs.mix_survey_answers],
    translations=Feature.folder(__file__, "translations"),
    form_hooks=flows.HOOKS,
    demo_data=demo.demo_data,
)
