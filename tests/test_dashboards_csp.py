"""What the staff CSP grants plotly.js matches the installed bundle, and nothing more."""

from __future__ import annotations

from dashboards import plotly_css
from staff.security import CONTENT_SECURITY_POLICY, PLOTLY_STYLE_ATTRIBUTES


def directives() -> dict[str, list[str]]:
    parts = (d.split() for d in CONTENT_SECURITY_POLICY.split(";"))
    return {name: values for name, *values in parts}


def test_the_style_attribute_hashes_are_those_plotly_sets():
    expected = {plotly_css.csp_hash(text) for text in plotly_css.attribute_styles()}
    assert set(PLOTLY_STYLE_ATTRIBUTES) == expected
    assert directives()["style-src-attr"] == ["'unsafe-hashes'", *PLOTLY_STYLE_ATTRIBUTES]


def test_scripts_and_style_elements_stay_self_only():
    policy = directives()
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


def test_the_stylesheets_replacing_plotlys_injected_styles_match_the_bundle():
    for name, css in (("plotly.css", plotly_css.plotly_css()),
                      ("maplibre.css", plotly_css.maplibre_css())):
        assert (plotly_css.STATIC / name).read_text(encoding="utf-8") == css, (
            f"run python -m dashboards.plotly_css to regenerate {name}")
    ids = plotly_css.injected_style_ids()
    assert ids["plotly.css"] == "plotly.js-style-global" and len(ids["maplibre.css"]) == 64
